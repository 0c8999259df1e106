import { codedError } from './errors.ts';

/**
 * The oldest Node this library runs on (package.json "engines" says the same; a test keeps them equal): sockets are
 * handed to worker threads with postMessage(msg, [socket]) from 24.20 on. `requireNode` runs first when src/index.ts
 * is imported (src/require-node.ts), so an older Node fails at import with one clear error instead of later in less obvious ways; the
 * command checks it before anything else too.
 */
export const MIN_NODE = '24.20.0';

/** True when `version` (x.y.z) is at least `min`. */
export function atLeast(version: string, min: string): boolean {
  const v = version.split('.').map(Number);
  const m = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (m[i] ?? 0)) return (v[i] ?? 0) > (m[i] ?? 0);
  return true;
}

/** Throw ERR_BEV_NODE_VERSION on a Node older than MIN_NODE. */
export function requireNode(version = process.versions.node): void {
  if (!atLeast(version, MIN_NODE)) {
    throw codedError('ERR_BEV_NODE_VERSION', `bufferevent needs Node >= ${MIN_NODE}; this is Node ${version}`);
  }
}
