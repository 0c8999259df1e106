import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

/**
 * A SharedArrayBuffer that every thread of the process sees: made by the first thread that asks, handed to the
 * workers it starts afterwards through worker_threads environment data (a worker inherits its parent's), so each
 * thread that loads the package finds the same memory under `key`.
 */
export function processWideSab(key: string, bytes: number): SharedArrayBuffer {
  const known = getEnvironmentData(key);
  if (known instanceof SharedArrayBuffer) return known;
  const sab = new SharedArrayBuffer(bytes);
  setEnvironmentData(key, sab);
  return sab;
}
