import { describe, it, expect } from 'vitest';
import { localArena } from '../../src/shm/arena.ts';
import * as S from '../../src/evbuffer/storage.ts';

const first = (h: number): number => localArena().i32[(h + S.H_FIRST) >>> 2]! >>> 0;

/** Unpin, then give both buffers and their chains back. */
function release(src: number, dst: number, pinned: number): void {
  const a = localArena();
  S.unpinChain(a, pinned);
  for (const h of [src, dst]) {
    S.freeAll(a, h);
    a.free(h);
  }
}

function buffer(): number {
  const a = localArena();
  const h = a.alloc(S.HDR_BYTES);
  S.hdrInit(a, h, 0, 1);
  return h;
}

describe('moving chains out of a reading socket’s input', () => {
  it('the chains before an empty pinned read region move without a copy; the region stays as the source’s only chain', () => {
    const a = localArena();
    const src = buffer();
    const dst = buffer();
    S.addBytes(a, src, new Uint8Array(3000).fill(1), 3000);
    const dataChain = first(src);
    const region = S.reserveTail(a, src, 8000); // a new chain: the tail of the first one is too small
    expect(region).not.toBe(dataChain);
    S.pinChain(a, region);
    expect(S.moveAll(a, dst, a, src, false)).toBe(3000);
    expect(first(dst)).toBe(dataChain); // the same chain: moved, not copied
    expect(first(src)).toBe(region);
    expect(S.length(a, src)).toBe(0);
    expect(S.length(a, dst)).toBe(3000);
    S.validate(a, src);
    S.validate(a, dst);
    release(src, dst, region);
  });

  it('a pinned chain that holds bytes is copied from, and stays where it is', () => {
    const a = localArena();
    const src = buffer();
    const dst = buffer();
    S.addBytes(a, src, new Uint8Array(100).fill(2), 100);
    const c = first(src);
    S.pinChain(a, c); // e.g. a write in flight from it
    expect(S.moveAll(a, dst, a, src, false)).toBe(100);
    expect(first(dst)).not.toBe(c);
    expect(S.length(a, dst)).toBe(100);
    S.validate(a, src);
    S.validate(a, dst);
    release(src, dst, c);
  });
});
