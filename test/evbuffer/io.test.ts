import { afterEach, describe, expect, it } from 'vitest';
import * as L from '../../src/index.ts';
import { closeLeftovers, forgetSockets, tcpPair, waitFor } from '../support/net.ts';

/** buffer.h beyond the chapter: socket I/O now, expand, contiguous space, buffer references, flags. */
afterEach(() => closeLeftovers());

const text = (b: L.Evbuffer) => {
  const out = new Uint8Array(L.evbuffer_get_length(b));
  L.evbuffer_copyout(b, out, out.length);
  return Buffer.from(out).toString();
};

describe('evbuffer_read / evbuffer_write', () => {
  it('evbuffer_read reads what the socket has, -1 with EAGAIN when nothing is there, 0 at end of file', async () => {
    const { client, server } = await tcpPair();
    const b = L.evbuffer_new();
    expect(L.evbuffer_read(b, client, -1)).toBe(-1);
    expect(L.EVUTIL_SOCKET_ERROR()).toBe(11); // EAGAIN: a Node socket never blocks
    server.write('hello, reader');
    let n = -1;
    await waitFor(() => (n = L.evbuffer_read(b, client, 5)) > 0);
    expect(n).toBe(5);
    expect(text(b)).toBe('hello');
    await waitFor(() => L.evbuffer_read(b, client, -1) > 0);
    expect(text(b)).toBe('hello, reader');
    server.end();
    await waitFor(() => L.evbuffer_read(b, client, -1) === 0);
    L.evbuffer_free(b);
    client.destroy();
    forgetSockets();
  });

  it('one read takes at most EVBUFFER_MAX_READ (libevent 2.1\'s 4096), whatever howmuch asks', async () => {
    const { client, server } = await tcpPair();
    const b = L.evbuffer_new();
    server.write(Buffer.alloc(10_000, 1));
    let n = -1;
    await waitFor(() => (n = L.evbuffer_read(b, client, 1_000_000)) > 0);
    expect(n).toBeLessThanOrEqual(L.EVBUFFER_MAX_READ);
    L.evbuffer_free(b);
    client.destroy();
    forgetSockets();
  });

  it('evbuffer_write_atmost writes from the front and drains what was written; evbuffer_write writes it all', async () => {
    const { client, server } = await tcpPair();
    const chunks: Buffer[] = [];
    server.on('data', (d: Buffer) => chunks.push(d));
    server.resume();
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'first ');
    L.evbuffer_add(b, 'second ');
    L.evbuffer_add(b, 'third');
    expect(L.evbuffer_write_atmost(b, client, 9)).toBe(9);
    expect(text(b)).toBe('ond third');
    expect(L.evbuffer_write(b, client)).toBe(9);
    expect(L.evbuffer_get_length(b)).toBe(0);
    expect(L.evbuffer_write(b, client)).toBe(0);
    await waitFor(() => Buffer.concat(chunks).length === 18);
    expect(Buffer.concat(chunks).toString()).toBe('first second third');
    // a frozen front cannot be written from: -1, nothing drained
    L.evbuffer_add(b, 'kept');
    L.evbuffer_freeze(b, 1);
    expect(L.evbuffer_write(b, client)).toBe(-1);
    L.evbuffer_unfreeze(b, 1);
    expect(text(b)).toBe('kept');
    L.evbuffer_free(b);
    client.destroy();
    forgetSockets();
  });

  it('a write to a closed descriptor fails with -1 and the errno', () => {
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'x');
    expect(L.evbuffer_write(b, 1_000_000)).toBe(-1);
    expect(L.EVUTIL_SOCKET_ERROR()).toBe(9); // EBADF
    expect(L.evbuffer_get_length(b)).toBe(1);
    expect(() => L.evbuffer_write(b, 'fd' as never)).toThrow(TypeError);
    L.evbuffer_free(b);
  });
});

describe('evbuffer_expand, evbuffer_get_contiguous_space, evbuffer_add_buffer_reference, flags', () => {
  it('expand makes room at the end in one piece without changing the contents', () => {
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'abc');
    expect(L.evbuffer_expand(b, 100_000)).toBe(0);
    expect(text(b)).toBe('abc');
    // the room is there: a reservation of that size gets one vector
    const vec: { iov_base?: Uint8Array; iov_len?: number }[] = [{}];
    expect(L.evbuffer_reserve_space(b, 100_000, vec, 1)).toBe(1);
    expect(vec[0]!.iov_len).toBeGreaterThanOrEqual(100_000);
    L.evbuffer_free(b);
  });

  it('contiguous space is the first chain\'s bytes', () => {
    const b = L.evbuffer_new();
    expect(L.evbuffer_get_contiguous_space(b)).toBe(0);
    L.evbuffer_add(b, 'x'.repeat(10));
    expect(L.evbuffer_get_contiguous_space(b)).toBe(10);
    const other = L.evbuffer_new();
    L.evbuffer_add(other, 'y'.repeat(5000));
    L.evbuffer_add_buffer(b, other); // its chain is linked after ours
    expect(L.evbuffer_get_contiguous_space(b)).toBeLessThan(L.evbuffer_get_length(b));
    L.evbuffer_pullup(b, -1);
    expect(L.evbuffer_get_contiguous_space(b)).toBe(L.evbuffer_get_length(b));
    L.evbuffer_free(b);
    L.evbuffer_free(other);
  });

  it('add_buffer_reference appends the bytes and leaves the source as it was; later changes to either are their own', () => {
    const out = L.evbuffer_new();
    const inb = L.evbuffer_new();
    L.evbuffer_add(out, 'out:');
    L.evbuffer_add(inb, 'shared bytes');
    const seen: number[] = [];
    L.evbuffer_add_cb(out, (_b, info) => seen.push(info.n_added), null);
    expect(L.evbuffer_add_buffer_reference(out, inb)).toBe(0);
    expect(text(out)).toBe('out:shared bytes');
    expect(text(inb)).toBe('shared bytes');
    expect(seen).toEqual([12]);
    L.evbuffer_drain(inb, 7);
    expect(text(out)).toBe('out:shared bytes');
    expect(L.evbuffer_add_buffer_reference(out, out)).toBe(-1);
    L.evbuffer_freeze(out, 0);
    expect(L.evbuffer_add_buffer_reference(out, inb)).toBe(-1);
    L.evbuffer_free(out);
    L.evbuffer_free(inb);
  });

  it('set_flags / clear_flags take EVBUFFER_FLAG_DRAINS_TO_FD and return 0', () => {
    const b = L.evbuffer_new();
    expect(L.evbuffer_set_flags(b, L.EVBUFFER_FLAG_DRAINS_TO_FD)).toBe(0);
    expect(L.evbuffer_clear_flags(b, L.EVBUFFER_FLAG_DRAINS_TO_FD)).toBe(0);
    expect(() => L.evbuffer_set_flags(b, 'x' as never)).toThrow(TypeError);
    L.evbuffer_free(b);
    expect(() => L.evbuffer_set_flags(b, 1)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
  });
});
