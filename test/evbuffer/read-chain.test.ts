import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { localArena } from '../../src/shm/arena.ts';
import * as S from '../../src/evbuffer/storage.ts';
import { runUntil, tcpPair } from '../support/net.ts';

const first = (h: number): number => localArena().i32[(h + S.H_FIRST) >>> 2]! >>> 0;

function buffer(): number {
  const a = localArena();
  const h = a.alloc(S.HDR_BYTES);
  S.hdrInit(a, h, 0, 1);
  return h;
}

function dispose(h: number): void {
  const a = localArena();
  S.freeAll(a, h);
  a.free(h);
}

/** Arena bytes of every chain block of a buffer. */
function chainBytes(h: number): number {
  const a = localArena();
  let n = 0;
  for (let c = first(h); c !== 0; c = S.chainNext(a, c)) n += a.blockSize(c);
  return n;
}

describe('a read copied in from the read slab takes a chain of its own size', () => {
  it('into an empty buffer: a 1-byte read takes a block far below the 1 KiB an evbuffer_add chain starts at', () => {
    const a = localArena();
    const read = buffer();
    const added = buffer();
    S.addRead(a, read, new Uint8Array([7]), 1);
    S.addBytes(a, added, new Uint8Array([7]), 1);
    expect(chainBytes(read)).toBeLessThanOrEqual(64);
    expect(chainBytes(added)).toBeGreaterThanOrEqual(1000);
    S.validate(a, read);
    dispose(read);
    dispose(added);
  });

  it('an empty chain too small for the next read is replaced by one of that read’s size; a buffer holding bytes appends as addBytes does', () => {
    const a = localArena();
    const h = buffer();
    S.addRead(a, h, new Uint8Array(10).fill(1), 10);
    S.drain(a, h, 10); // the empty chain is kept for the next message
    const small = first(h);
    expect(small).not.toBe(0);
    S.addRead(a, h, new Uint8Array(3000).fill(2), 3000);
    expect(first(h)).not.toBe(small);
    expect(S.chainNext(a, first(h))).toBe(0); // one chain holds the whole read
    expect(chainBytes(h)).toBeLessThanOrEqual(4096);
    S.addRead(a, h, new Uint8Array(5).fill(3), 5); // not empty: appended behind
    expect(S.length(a, h)).toBe(3005);
    const out = new Uint8Array(3005);
    S.copyOut(a, h, 0, out, 0, 3005);
    expect(out[0]).toBe(2);
    expect(out[2999]).toBe(2);
    expect(out[3000]).toBe(3);
    S.validate(a, h);
    dispose(h);
  });

  it('a socket bufferevent that echoed one byte and went quiet holds one small block, not a 1 KiB chain', async () => {
    const { client, server } = await tcpPair();
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, server, L.BEV_OPT_CLOSE_ON_FREE)!;
    L.bufferevent_setcb(bev, (b) => L.evbuffer_add_buffer(L.bufferevent_get_output(b), L.bufferevent_get_input(b)), null, null, null);
    L.bufferevent_enable(bev, L.EV_READ);
    let echoed = 0;
    client.on('data', (d: Buffer) => (echoed += d.length)).resume();
    client.write('x');
    await runUntil(base, () => echoed === 1 && L.evbuffer_get_length(L.bufferevent_get_output(bev)) === 0);
    const input = L.bufferevent_get_input(bev) as unknown as { h: number };
    const output = L.bufferevent_get_output(bev) as unknown as { h: number };
    expect(chainBytes(input.h) + chainBytes(output.h)).toBeLessThanOrEqual(64);
    L.bufferevent_free(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
    client.destroy();
  });
});
