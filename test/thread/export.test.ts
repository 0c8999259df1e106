import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { Helper } from '../support/worker.ts';
import { runUntil } from '../support/net.ts';

describe('bufferevents shared across threads', () => {
  it('bufferevent_export refuses a bufferevent without BEV_OPT_THREADSAFE', () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    expect(() => L.bufferevent_export(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_NOT_THREADSAFE' }));
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it("a worker's bufferevent_write on an imported pair end reaches the partner's read callback on the owner", async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    let got = '';
    L.bufferevent_setcb(pair[1]!, (bev: L.Bufferevent) => {
      const out = new Uint8Array(256);
      const n = L.bufferevent_read(bev, out);
      got += Buffer.from(out.subarray(0, n)).toString();
    }, null, null, null);
    L.bufferevent_enable(pair[1]!, L.EV_READ);
    const h = new Helper('bev-worker.ts');
    const shared = L.bufferevent_export(pair[0]!);
    expect(await h.call({ op: 'write', shared, data: 'hello from a worker' })).toEqual({ ok: true, result: 0 });
    // the bytes count in the output (or the partner's input) at once: backpressure sees them when they are made
    expect(L.evbuffer_get_length(L.bufferevent_get_output(pair[0]!)) + L.evbuffer_get_length(L.bufferevent_get_input(pair[1]!))).toBe(19);
    await runUntil(base, () => got.length >= 19);
    expect(got).toBe('hello from a worker');
    await h.close();
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('enable, disable and get_enabled from another thread act on the owner', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    let reads = 0;
    L.bufferevent_setcb(pair[1]!, () => reads++, null, null, null);
    L.bufferevent_write(pair[0]!, 'queued');
    const h = new Helper('bev-worker.ts');
    const shared1 = L.bufferevent_export(pair[1]!);
    expect((await h.call({ op: 'get_enabled', shared: shared1 })).result).toBe(L.EV_WRITE);
    expect((await h.call({ op: 'enable', shared: shared1, ev: L.EV_READ })).result).toBe(0);
    expect(L.bufferevent_get_enabled(pair[1]!)).toBe(L.EV_READ | L.EV_WRITE);
    await runUntil(base, () => reads === 1); // the owner applied the enable: the pair transferred, the callback ran
    expect(L.evbuffer_get_length(L.bufferevent_get_input(pair[1]!))).toBe(6);
    expect((await h.call({ op: 'read', shared: shared1, n: 100 })).result).toBe('queued');
    await h.close();
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('bufferevent_setcb from a thread that does not own the bufferevent throws ERR_BEV_WRONG_THREAD', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const h = new Helper('bev-worker.ts');
    expect(await h.call({ op: 'setcb', shared: L.bufferevent_export(pair[0]!) })).toEqual({ ok: false, code: 'ERR_BEV_WRONG_THREAD' });
    await h.close();
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('bufferevent_free from another thread frees it for every handle; later calls throw ERR_BEV_FREED', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    let calls = 0;
    L.bufferevent_setcb(pair[0]!, () => calls++, () => calls++, () => calls++, null);
    const shared = L.bufferevent_export(pair[0]!);
    const h = new Helper('bev-worker.ts');
    expect(await h.call({ op: 'free', shared })).toEqual({ ok: true, result: null });
    expect(() => L.bufferevent_get_enabled(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(await h.call({ op: 'use', shared })).toEqual({ ok: false, code: 'ERR_BEV_FREED' });
    await runUntil(base, () => L.bufferevent_pair_get_partner(pair[1]!) === null); // the owner finalized it
    expect(calls).toBe(0);
    await h.close();
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('an evbuffer shared with evbuffer_export takes writes from another thread', async () => {
    const buf = L.evbuffer_new();
    expect(() => L.evbuffer_export(buf)).toThrow(expect.objectContaining({ code: 'ERR_BEV_NOT_THREADSAFE' }));
    L.evbuffer_enable_locking(buf, null);
    const h = new Helper('bev-worker.ts');
    expect(await h.call({ op: 'evbuffer-add', sharedBuf: L.evbuffer_export(buf), data: 'abc' })).toEqual({ ok: true, result: 0 });
    expect(L.evbuffer_get_length(buf)).toBe(3);
    await h.close();
    L.evbuffer_free(buf);
  });

  it("a buffer another thread changed and then freed: the owner's loop drops the change notice and runs on", async () => {
    const base = L.event_base_new();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    let called = 0;
    L.evbuffer_add_cb(buf, () => called++, null);
    const h = new Helper('bev-worker.ts');
    // the add and the free both happen before this thread's loop runs: the notice of the add is served after the free
    expect(await h.call({ op: 'evbuffer-add', sharedBuf: L.evbuffer_export(buf), data: 'abc', thenFree: true })).toEqual({ ok: true, result: 0 });
    const loop = L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY).then((r) => r, (e: unknown) => e);
    let ticks = 0;
    const t = L.event_new(base, -1, L.EV_PERSIST, () => ticks++ === 3 && L.event_base_loopexit(base, null), null);
    L.event_add(t, { tv_sec: 0, tv_usec: 1000 });
    expect(await loop).toBe(0);
    expect(called).toBe(0); // no callback for a buffer that is gone
    L.event_free(t);
    await h.close();
    L.event_base_free(base);
  });
});

describe('owner-only calls on an imported handle', () => {
  it('bufferevent_socket_connect on an imported socket says ERR_BEV_WRONG_THREAD; on an imported pair it is -1', async () => {
    const base = L.event_base_new();
    const s = L.bufferevent_socket_new(base, -1, L.BEV_OPT_THREADSAFE)!;
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const h = new Helper('bev-worker.ts');
    expect(await h.call({ op: 'socket-connect', shared: L.bufferevent_export(s), port: 9 })).toEqual({ ok: false, code: 'ERR_BEV_WRONG_THREAD' });
    expect(await h.call({ op: 'socket-connect', shared: L.bufferevent_export(pair[0]!), port: 9 })).toEqual({ ok: true, result: -1 });
    await h.close();
    for (const x of [s, ...pair]) L.bufferevent_free(x);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});

describe('the owning loop and contended locks', () => {
  it('does not block on a bufferevent locked by another thread: other callbacks run, the locked one runs after unlock', async () => {
    const base = L.event_base_new();
    const a: L.Bufferevent[] = [];
    const b: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, a);
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, b);
    const order: string[] = [];
    L.bufferevent_setcb(a[1]!, () => order.push('a'), null, null, null);
    L.bufferevent_setcb(b[1]!, () => order.push('b'), null, null, null);
    L.bufferevent_enable(a[1]!, L.EV_READ);
    L.bufferevent_enable(b[1]!, L.EV_READ);
    // both reads are pending (deferred) before the other thread takes a's lock; a[0] shares that lock, so writing to
    // it afterwards would block this thread (as in libevent)
    L.bufferevent_write(a[0]!, 'x');
    L.bufferevent_write(b[0]!, 'y');
    const gate = new SharedArrayBuffer(4);
    const h = new Helper('bev-worker.ts');
    const held = h.call({ op: 'lock-hold', shared: L.bufferevent_export(a[1]!), gate });
    expect((await held).result).toBe('locked');
    await runUntil(base, () => order.includes('b'));
    expect(order).toEqual(['b']); // a's callback waits for its lock; the loop went on
    const released = new Promise((r) => h.w.once('message', r));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    await released;
    await runUntil(base, () => order.includes('a'));
    expect(order).toEqual(['b', 'a']);
    await h.close();
    for (const x of [...a, ...b]) L.bufferevent_free(x);
    L.event_base_free(base);
  });
  it('a callback that throws after waiting for its lock ends the loop with its error (no unhandled rejection)', async () => {
    const base = L.event_base_new();
    const a: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, a);
    const boom = new Error('thrown by the read callback');
    L.bufferevent_setcb(a[1]!, () => {
      throw boom;
    }, null, null, null);
    L.bufferevent_enable(a[1]!, L.EV_READ);
    L.bufferevent_write(a[0]!, 'x'); // the read callback is pending (deferred) before the other thread takes the lock
    const gate = new SharedArrayBuffer(4);
    const h = new Helper('bev-worker.ts');
    expect((await h.call({ op: 'lock-hold', shared: L.bufferevent_export(a[1]!), gate })).result).toBe('locked');
    const loop = L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY).then(() => null, (e: unknown) => e); // handled at once
    const released = new Promise((r) => h.w.once('message', r));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    await released;
    expect(await loop).toBe(boom);
    await h.close();
    for (const x of a) L.bufferevent_free(x);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});

describe('socket I/O while another thread holds the bufferevent lock', () => {
  it('the owner keeps its loop running; the bytes read meanwhile are delivered once the lock is released', async () => {
    const net = await import('node:net');
    const base = L.event_base_new();
    let server: L.Bufferevent | null = null;
    let got = '';
    const lev = L.evconnlistener_new_bind(base, (_l, s) => {
      server = L.bufferevent_socket_new(base, s, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_THREADSAFE)!;
      L.bufferevent_setcb(server, (b) => {
        const input = L.bufferevent_get_input(b);
        const out = new Uint8Array(L.evbuffer_get_length(input));
        L.evbuffer_remove(input, out);
        got += Buffer.from(out).toString();
      }, null, null, null);
      L.bufferevent_enable(server, L.EV_READ);
    }, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
    const client = net.connect(L.evconnlistener_get_port(lev), '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    await runUntil(base, () => server !== null);
    const gate = new SharedArrayBuffer(4);
    const h = new Helper('bev-worker.ts');
    expect((await h.call({ op: 'lock-hold', shared: L.bufferevent_export(server!), gate })).result).toBe('locked');
    client.write('while locked');
    let ticks = 0;
    const t = L.event_new(base, -1, L.EV_PERSIST, () => ticks++, null);
    L.event_add(t, { tv_sec: 0, tv_usec: 5000 });
    await runUntil(base, () => ticks >= 5); // the loop runs: timers fire while the socket's lock is held elsewhere
    expect(got).toBe('');
    const released = new Promise((r) => h.w.once('message', r));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    await released;
    await runUntil(base, () => got === 'while locked');
    L.event_free(t);
    await h.close();
    client.destroy();
    L.bufferevent_free(server!);
    L.evconnlistener_free(lev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});

describe('a thread waiting for a lock while the holder grows the arena', () => {
  it('sees the new memory once it gets the lock (views are remapped after acquiring)', async () => {
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    L.evbuffer_add(buf, new Uint8Array(100).fill(0x42));
    const h = new Helper('bev-worker.ts');
    const shared = L.evbuffer_export(buf);
    await h.call({ op: 'evbuffer-add', sharedBuf: shared, data: '' }); // the worker has attached the arena (old size)
    L.evbuffer_lock(buf);
    const total = 100 + 3 * 1024 * 1024;
    const reply = h.call({ op: 'evbuffer-remove-count', sharedBuf: shared, n: total, byte: 0x42 });
    // handshake: wait until the worker is blocked on the lock (state word 2 = held with waiters)
    const i32 = (buf as unknown as { a: { i32: Int32Array } }).a.i32;
    const w = (buf as unknown as { lockOff: number }).lockOff >>> 2;
    while (Atomics.load(i32, w) !== 2) {
      const r = Atomics.waitAsync(i32, w, Atomics.load(i32, w), 1000);
      if (r.async) await r.value;
    }
    L.evbuffer_add(buf, new Uint8Array(3 * 1024 * 1024).fill(0x42)); // grows the arena past the worker's views
    L.evbuffer_unlock(buf);
    const r = await reply;
    expect(r).toEqual({ ok: true, result: { n: total, same: total } });
    expect(L.evbuffer_get_length(buf)).toBe(0);
    await h.close();
    L.evbuffer_free(buf);
  });
});
