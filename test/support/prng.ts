/** The seeded PRNG of the stress engine (src/stress/prng.ts), for reproducible randomized and stress tests. */
export { prng, randInt } from '../../src/stress/prng.ts';

export function randBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}
