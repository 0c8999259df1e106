import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import * as L from '../../src/index.ts';

describe("libevent's AB-BA deadlocks complete here", () => {
  it('two threads whose locked callbacks write into each other\'s bufferevents make progress (C1)', async () => {
    const ROUNDS = 200;
    const base = L.event_base_new();
    const p: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, p);
    const w = new Worker(new URL('../fixtures/pingpong-worker.ts', import.meta.url), {
      workerData: { sharedP: L.bufferevent_export(p[0]!), rounds: ROUNDS },
    });
    const [{ sharedQ }] = (await once(w, 'message')) as [{ sharedQ: L.SharedBufferevent }];
    const q0 = L.bufferevent_import(sharedQ);
    const scratch = new Int32Array(new SharedArrayBuffer(4));
    let last = 0;
    let workerDone = 0;
    w.on('message', (m: { done?: number }) => {
      if (m.done) workerDone = m.done;
    });
    L.bufferevent_setcb(p[1]!, (bev) => {
      for (;;) {
        const line = L.evbuffer_readln(L.bufferevent_get_input(bev), null, L.EVBUFFER_EOL_LF);
        if (line === null) break;
        last = Number(line);
        Atomics.wait(scratch, 0, 0, 1); // overlap with the other thread's callback
        if (last < ROUNDS) L.bufferevent_write(q0, `${last + 1}\n`);
      }
    }, null, null, null);
    L.bufferevent_enable(p[1]!, L.EV_READ);
    // two balls at once: both callbacks run at the same time and write into each other
    L.bufferevent_write(q0, '0\n');
    L.bufferevent_write(p[0]!, '1\n');
    while (last < ROUNDS || workerDone < ROUNDS - 1) {
      const t = L.evtimer_new(base, () => {}, null);
      L.evtimer_add(t, { tv_sec: 0, tv_usec: 20000 });
      await L.event_base_loop(base, L.EVLOOP_ONCE);
      L.event_free(t);
    }
    expect(last).toBeGreaterThanOrEqual(ROUNDS - 1);
    await once(w, 'exit');
    L.bufferevent_free(p[0]!);
    L.bufferevent_free(p[1]!);
    L.event_base_free(base);
  }, 60_000);

  it('a THREADSAFE filter shares its underlying\'s lock: writers on both, from two threads, complete (C19)', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const filt = L.bufferevent_filter_new(pair[1]!, null, null, L.BEV_OPT_THREADSAFE, null, null)!;
    let got = 0;
    L.bufferevent_setcb(filt, (bev) => {
      const input = L.bufferevent_get_input(bev);
      got += L.evbuffer_get_length(input);
      L.evbuffer_drain(input, L.evbuffer_get_length(input));
    }, null, null, null);
    L.bufferevent_enable(filt, L.EV_READ);
    // the filter's output goes to pair[1]'s output, then to pair[0]'s input: drain that too
    let back = 0;
    L.bufferevent_setcb(pair[0]!, (bev) => {
      const input = L.bufferevent_get_input(bev);
      back += L.evbuffer_get_length(input);
      L.evbuffer_drain(input, L.evbuffer_get_length(input));
    }, null, null, null);
    L.bufferevent_enable(pair[0]!, L.EV_READ);
    expect(L.bufferevent_get_underlying(filt)).toBe(pair[1]);
    const w = new Worker(new URL('../fixtures/bev-worker.ts', import.meta.url));
    const reply = once(w, 'message');
    // another thread writes records into pair[0] (-> filter input) while this thread writes into the filter
    w.postMessage({ op: 'records', shared: L.bufferevent_export(pair[0]!), writer: 1, count: 3000, parts: 3 });
    for (let i = 0; i < 3000; i++) L.bufferevent_write(filt, 'abcdefgh');
    let replied = false;
    void reply.then(() => (replied = true));
    while (!replied || back < 3000 * 8) {
      const t = L.evtimer_new(base, () => {}, null);
      L.evtimer_add(t, { tv_sec: 0, tv_usec: 20000 });
      await L.event_base_loop(base, L.EVLOOP_ONCE);
      L.event_free(t);
    }
    expect(back).toBe(3000 * 8);
    expect(got).toBeGreaterThan(0);
    await w.terminate();
    L.bufferevent_free(filt);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  }, 60_000);
});
