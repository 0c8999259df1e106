import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as L from '../src/index.ts';
import { rlockHasWaiters } from '../src/shm/rlock.ts';

/** Lock guards for `using`, and lockAsync with an AbortSignal. */
const lockWord = (b: L.Bufferevent) => b as unknown as { a: { i32: Int32Array }; lockOff: number };

describe('lock guards', () => {
  it('using bev.lock() holds the lock for the scope and releases it on a throw', () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const bev = pair[0]!;
    const { a, lockOff } = lockWord(bev);
    const owner = () => Atomics.load(a.i32, (lockOff >>> 2) + 1);
    expect(() => {
      using g = bev.lock();
      expect(g.ownerDied).toBe(false);
      expect(owner()).not.toBe(0);
      L.bufferevent_write(bev, 'a');
      throw new Error('midway');
    }).toThrow('midway');
    expect(owner()).toBe(0); // released by the dispose
    {
      using _outer = bev.lock();
      {
        using _inner = bev.lock(); // recursive, as bufferevent_lock
      }
      expect(owner()).not.toBe(0);
    }
    expect(owner()).toBe(0);
    const g = bev.lock();
    g.unlock();
    expect(() => g.unlock()).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    g[Symbol.dispose](); // after unlock: nothing
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('using buf.lock() on a locked evbuffer; bev.unlock() balances a bare lock()', () => {
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    {
      using _ = buf.lock();
      L.evbuffer_add(buf, 'x');
    }
    buf.lock();
    buf.unlock();
    expect(() => buf.unlock()).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.evbuffer_free(buf);
  });

  it('lockAsync waits for another thread without blocking the loop, and an abort rejects it without the lock', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const bev = pair[0]!;
    const { a, lockOff } = lockWord(bev);
    const w = new Worker(new URL('./fixtures/lock-holder.ts', import.meta.url));
    try {
      // the worker takes the lock and keeps it until told
      const gate = new Int32Array(new SharedArrayBuffer(8));
      w.postMessage({ op: 'hold', sab: a.i32.buffer, off: lockOff, gate: gate.buffer });
      while (Atomics.load(gate, 0) === 0) await new Promise((r) => setImmediate(r));
      const ac = new AbortController();
      const p = bev.lockAsync({ signal: ac.signal });
      // this thread's loop keeps turning (these setImmediate turns run) while the lock is awaited
      while (!rlockHasWaiters(a.i32, lockOff)) await new Promise((r) => setImmediate(r));
      ac.abort();
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      // released by the worker: the next lockAsync resolves holding it
      const q = bev.lockAsync();
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      const g = await q;
      expect(Atomics.load(a.i32, (lockOff >>> 2) + 1)).not.toBe(0);
      g[Symbol.dispose]();
      expect(Atomics.load(a.i32, (lockOff >>> 2) + 1)).toBe(0);
      const done = new AbortController();
      done.abort();
      await expect(bev.lockAsync({ signal: done.signal })).rejects.toMatchObject({ name: 'AbortError' });
      await expect(bev.lockAsync({ signal: 'x' as never })).rejects.toThrow(TypeError);
    } finally {
      await w.terminate();
      L.bufferevent_free(pair[0]!);
      L.bufferevent_free(pair[1]!);
      L.event_base_free(base);
    }
  });
});
