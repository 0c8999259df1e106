import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import * as L from '../src/index.ts';
import { rlockHasWaiters } from '../src/shm/rlock.ts';

/** bev.stats() and base.stats(): counters of what a scripted exchange did. */
describe('bev.stats', () => {
  it('counts the bytes a pair moved and the callbacks it ran, exactly', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const [a, b] = pair as [L.Bufferevent, L.Bufferevent];
    let reads = 0;
    let events = 0;
    L.bufferevent_setcb(b, (x) => {
      reads++;
      L.evbuffer_drain(L.bufferevent_get_input(x), 5);
    }, null, () => events++, null);
    L.bufferevent_enable(b, L.EV_READ);
    L.bufferevent_write(a, 'hello');
    L.bufferevent_write(a, ' world'); // both move before the deferred read callback runs: one callback
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.bufferevent_trigger_event(b, L.BEV_EVENT_EOF, 0);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(reads).toBe(1);
    expect(events).toBe(1);
    expect(b.stats()).toMatchObject({ bytesRead: 11, bytesWritten: 0, readCallbacks: 1, writeCallbacks: 0, eventCallbacks: 1, inputLength: 6, outputLength: 0 });
    expect(a.stats()).toMatchObject({ bytesRead: 0, bytesWritten: 11, readCallbacks: 0, inputLength: 0, outputLength: 0 });
    L.bufferevent_free(a);
    L.bufferevent_free(b);
    L.event_base_free(base);
  });

  it('counts lock acquisitions from another thread, and the one that had to wait, with its wait time', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const bev = pair[0]!;
    const before = bev.stats();
    const w = new Worker(new URL('./fixtures/lifetime-worker.ts', import.meta.url));
    try {
      L.bufferevent_lock(bev);
      const gate = new Int32Array(new SharedArrayBuffer(8));
      w.postMessage({ op: 'block', call: 'bufferevent_write', shared: L.bufferevent_export(bev), gate: gate.buffer });
      const held = bev as unknown as { a: { i32: Int32Array }; lockOff: number };
      while (!rlockHasWaiters(held.a.i32, held.lockOff)) await new Promise((r) => setImmediate(r));
      L.bufferevent_unlock(bev);
      const [reply] = (await once(w, 'message')) as [{ ok: boolean }];
      expect(reply.ok).toBe(true);
      const after = bev.stats(); // read here, from the owner: the counters live in shared memory
      expect(after.lockWaits - before.lockWaits).toBe(1);
      expect(after.lockWaitMs).toBeGreaterThan(before.lockWaitMs);
      expect(after.lockAcquisitions - before.lockAcquisitions).toBeGreaterThanOrEqual(2); // ours and the worker's
      expect(after.outputLength).toBe(4); // 'late'
    } finally {
      await w.terminate();
      L.bufferevent_free(pair[0]!);
      L.bufferevent_free(pair[1]!);
      await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      L.event_base_free(base);
    }
  });
});

describe('base.stats', () => {
  it('counts loop iterations, callbacks run and deferred callbacks queued', async () => {
    const base = L.event_base_new();
    const s0 = base.stats();
    let ran = 0;
    const ev = L.event_new(base, -1, 0, () => ran++, null);
    L.event_active(ev, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_ONCE);
    const s1 = base.stats();
    expect(ran).toBe(1);
    expect(s1.iterations - s0.iterations).toBe(1);
    expect(s1.callbacksRun - s0.callbacksRun).toBe(1);
    expect(s1.active).toBe(0);
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair); // pairs defer their callbacks
    L.bufferevent_setcb(pair[1]!, () => {}, null, null, null);
    L.bufferevent_enable(pair[1]!, L.EV_READ);
    L.bufferevent_write(pair[0]!, 'x');
    expect(base.stats().deferred - s1.deferred).toBe(1);
    expect(typeof s1.lockWaitHistogram.count).toBe('number');
    L.event_free(ev);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });

  it('records callback durations only while asked, once per outermost callback, in nanoseconds', async () => {
    const base = L.event_base_new();
    const spin = (ms: number): void => {
      const t = performance.now();
      while (performance.now() - t < ms);
    };
    const bev = L.bufferevent_socket_new(base, -1, 0)!; // no DEFER_CALLBACKS: a trigger runs the read callback at once
    let reads = 0;
    L.bufferevent_setcb(bev, () => {
      reads++;
      spin(1);
    }, null, null, null);
    const ev = L.event_new(base, -1, 0, () => {
      spin(3);
      L.bufferevent_trigger(bev, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS); // nested: counts in the event's time
    }, null);
    L.event_active(ev, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_ONCE);
    expect(base.stats().callbackHistogram.count).toBe(0); // off by default
    base.recordCallbackDurations();
    L.event_active(ev, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_ONCE);
    const h = base.stats().callbackHistogram;
    expect(h.count).toBe(1);
    expect(h.min).toBeGreaterThanOrEqual(4e6); // 3 ms spun by the event and 1 ms by the read callback inside it
    L.bufferevent_trigger(bev, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS); // from outside any callback: its own entry
    expect(h.count).toBe(2);
    expect(h.min).toBeGreaterThanOrEqual(1e6);
    expect(h.min).toBeLessThan(4e6);
    base.recordCallbackDurations(false);
    L.bufferevent_trigger(bev, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
    expect(reads).toBe(4);
    expect(base.stats().callbackHistogram.count).toBe(2); // kept, no longer recorded into
    L.event_free(ev);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });
});
