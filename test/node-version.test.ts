import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MIN_NODE, atLeast } from '../src/node-version.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { engines: { node: string } };

describe('the supported Node version', () => {
  it('is one number: package.json engines says the same as the import check', () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
  });

  it('compares versions field by field', () => {
    expect(atLeast('24.20.0', '24.20.0')).toBe(true);
    expect(atLeast('24.21.3', '24.20.0')).toBe(true);
    expect(atLeast('25.0.0', '24.20.0')).toBe(true);
    expect(atLeast('24.9.9', '24.20.0')).toBe(false);
    expect(atLeast('20.20.2', '24.20.0')).toBe(false);
  });

  // the machine's own Node (outside node_modules/.bin), when it is older, shows what a user on it gets
  const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
  const systemVersion = system ? spawnSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
  it.runIf(system !== undefined && systemVersion !== '' && !atLeast(systemVersion, MIN_NODE))(
    'importing the package on an older Node throws one error naming both versions',
    () => {
      const r = spawnSync(system!, ['--input-type=module', '-e', `await import(${JSON.stringify(`${root}dist/index.js`)})`], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`bufferevent needs Node >= ${MIN_NODE}; this is Node ${systemVersion}`);
      const cli = spawnSync(system!, [`${root}dist/cli.js`, '--version'], { encoding: 'utf8' });
      expect(cli.status).toBe(1);
      expect(cli.stderr.trim()).toBe(`bufferevent: needs Node >= ${MIN_NODE}; this is Node ${systemVersion}`);
    },
  );
});
