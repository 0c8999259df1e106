import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as L from '../../src/index.ts';
import * as S from '../../src/evbuffer/storage.ts';
import { closeLeftovers, forgetSockets, runUntil, tcpPair } from '../support/net.ts';

/** evbuffer_add_file and file segments: a file's bytes are read when they are needed, not when they are added. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bev-file-'));
afterEach(() => closeLeftovers());

function makeFile(name: string, n: number): { file: string; bytes: Buffer } {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + (i >>> 9)) & 0xff;
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

/** Bytes of the buffer already in memory, and bytes still standing in file chains. */
function residency(b: L.Evbuffer): { memory: number; file: number } {
  const x = b as unknown as { a: Parameters<typeof S.chainLen>[0]; h: number };
  let memory = 0;
  let file = 0;
  for (let c = x.a.i32[(x.h + S.H_FIRST) >>> 2]! >>> 0; c !== 0; c = S.chainNext(x.a, c)) {
    if (S.isFileChain(x.a, c)) file += S.chainLen(x.a, c);
    else memory += S.chainLen(x.a, c);
  }
  return { memory, file };
}
const isOpen = (fd: number) => {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('evbuffer_add_file', () => {
  it('counts the whole range at once, reads only what removal needs, and closes the fd when drained', () => {
    const { file, bytes } = makeFile('a.bin', 3 << 20);
    const fd = fs.openSync(file, 'r');
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'head:');
    expect(L.evbuffer_add_file(b, fd, 100, -1)).toBe(0);
    expect(L.evbuffer_get_length(b)).toBe(5 + bytes.length - 100);
    expect(residency(b)).toEqual({ memory: 5, file: bytes.length - 100 });
    const out = Buffer.alloc(1005);
    expect(L.evbuffer_remove(b, out, 1005)).toBe(1005);
    expect(out.subarray(0, 5).toString()).toBe('head:');
    expect(out.subarray(5).equals(bytes.subarray(100, 1100))).toBe(true);
    expect(residency(b).memory).toBe(0); // exactly what was taken was read
    // a drain skips bytes without reading them
    L.evbuffer_drain(b, 1 << 20);
    expect(residency(b)).toEqual({ memory: 0, file: bytes.length - 100 - 1000 - (1 << 20) });
    const rest = Buffer.alloc(L.evbuffer_get_length(b));
    expect(L.evbuffer_remove(b, rest, rest.length)).toBe(rest.length);
    expect(rest.equals(bytes.subarray(1100 + (1 << 20)))).toBe(true);
    expect(isOpen(fd)).toBe(false); // the buffer was done with it
    b.validate();
    L.evbuffer_free(b);
  });

  it('search, readln, pullup, peek and copyout see the file\'s bytes; appending after it and prepending before it keep order', () => {
    const file = path.join(dir, 'lines.txt');
    fs.writeFileSync(file, 'first line\nsecond line\nthird');
    const fd = fs.openSync(file, 'r');
    const b = L.evbuffer_new();
    L.evbuffer_add_file(b, fd, 0, -1);
    L.evbuffer_add(b, ' line\n');
    L.evbuffer_prepend(b, '>');
    expect(L.evbuffer_search(b, 'second', 6, null).pos).toBe(12);
    expect(L.evbuffer_readln(b, null, L.EVBUFFER_EOL_LF)).toBe('>first line');
    const peekOut = [{}] as { iov_base?: Uint8Array; iov_len?: number }[];
    expect(L.evbuffer_peek(b, 6, null, peekOut, 1)).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(peekOut[0]!.iov_base!.subarray(0, 6)).toString()).toBe('second');
    expect(Buffer.from(L.evbuffer_pullup(b, -1)!).toString()).toBe('second line\nthird line\n');
    L.evbuffer_free(b); // freeing a buffer that still holds file chains closes the fd too
    expect(isOpen(fd)).toBe(false);
  });

  it('a socket bufferevent sends a file a write at a time; the peer receives every byte', async () => {
    const { file, bytes } = makeFile('big.bin', 2 << 20);
    const fd = fs.openSync(file, 'r');
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const got: Buffer[] = [];
    server.on('data', (d: Buffer) => got.push(d));
    server.resume();
    let peak = 0;
    const output = L.bufferevent_get_output(bev);
    L.evbuffer_add_cb(output, () => (peak = Math.max(peak, residency(output).memory)), null);
    expect(L.evbuffer_add_file(output, fd, 0, -1)).toBe(0);
    await runUntil(base, () => got.reduce((n, d) => n + d.length, 0) === bytes.length);
    expect(Buffer.concat(got).equals(bytes)).toBe(true);
    // never more of the file in memory than one write takes (max_single_write, 16 KiB by default)
    expect(peak).toBeLessThanOrEqual(L.bufferevent_get_max_single_write(bev));
    expect(isOpen(fd)).toBe(false);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });

  it('returns -1 for a closed fd, a range outside the file, or a frozen end', () => {
    const { file } = makeFile('small.bin', 100);
    const b = L.evbuffer_new();
    expect(L.evbuffer_add_file(b, 1_000_000, 0, -1)).toBe(-1);
    const fd = fs.openSync(file, 'r');
    expect(L.evbuffer_add_file(b, fd, 101, -1)).toBe(-1);
    expect(isOpen(fd)).toBe(true); // a failed add leaves the fd open, as libevent
    L.evbuffer_freeze(b, 0);
    expect(L.evbuffer_add_file(b, fd, 0, 10)).toBe(-1);
    expect(L.evbuffer_get_length(b)).toBe(0);
    fs.closeSync(fd);
    L.evbuffer_free(b);
  });
});

describe('file segments', () => {
  it('one segment in two buffers; without CLOSE_ON_FREE the fd stays open, with it it closes when the last holder is done', () => {
    const { file, bytes } = makeFile('seg.bin', 10_000);
    for (const flags of [0, L.EVBUF_FS_CLOSE_ON_FREE]) {
      const fd = fs.openSync(file, 'r');
      const seg = L.evbuffer_file_segment_new(fd, 1000, 5000, flags)!;
      expect(seg).not.toBeNull();
      const x = L.evbuffer_new();
      const y = L.evbuffer_new();
      expect(L.evbuffer_add_file_segment(x, seg, 0, 2000)).toBe(0);
      expect(L.evbuffer_add_file_segment(y, seg, 2000, -1)).toBe(0);
      expect(L.evbuffer_add_file_segment(y, seg, 4000, 2000)).toBe(-1); // past the segment's end
      if (flags === 0) L.evbuffer_file_segment_free(seg);
      else seg.free(); // the method form
      expect(() => L.evbuffer_add_file_segment(x, seg, 0, 1)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
      const ox = Buffer.alloc(2000);
      L.evbuffer_remove(x, ox, 2000);
      expect(ox.equals(bytes.subarray(1000, 3000))).toBe(true);
      expect(isOpen(fd)).toBe(true); // y still holds part of it
      const oy = Buffer.alloc(3000);
      L.evbuffer_remove(y, oy, 3000);
      expect(oy.equals(bytes.subarray(3000, 6000))).toBe(true);
      expect(isOpen(fd)).toBe(flags === 0);
      if (flags === 0) fs.closeSync(fd);
      L.evbuffer_free(x);
      L.evbuffer_free(y);
    }
  });

  it('rejects bad arguments; an fd that is not open gives null', () => {
    expect(L.evbuffer_file_segment_new(1_000_000, 0, -1, 0)).toBeNull();
    expect(() => L.evbuffer_file_segment_new('3' as never, 0, -1, 0)).toThrow(TypeError);
    expect(() => L.evbuffer_file_segment_new(0, -1, -1, 0)).toThrow(RangeError);
    const b = L.evbuffer_new();
    expect(() => L.evbuffer_add_file_segment(b, {} as never, 0, -1)).toThrow(TypeError);
    L.evbuffer_free(b);
  });
});
