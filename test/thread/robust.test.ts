import { describe, it, expect } from 'vitest';
import { once } from 'node:events';
import * as L from '../../src/index.ts';
import { Helper } from '../support/worker.ts';

describe('robust locks: a thread that dies holding a lock', () => {
  it('the next bufferevent_lock gets ERR_BEV_OWNER_DIED while holding the lock; the data stays valid', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const shared = L.bufferevent_export(pair[0]!);
    const victim = new Helper('bev-worker.ts');
    expect((await victim.call({ op: 'lock-and-hang', shared })).result).toBe('locked');
    const t0 = performance.now();
    await victim.close(); // terminate() resolving means the death has been seen: the lock is recovered
    let err: unknown = null;
    try {
      L.bufferevent_lock(pair[0]!);
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t0).toBeLessThan(2000); // recovered promptly (the target is 100 ms; CI is slow)
    expect(err).toMatchObject({ code: 'ERR_BEV_OWNER_DIED' });
    // we hold it now: the output is structurally valid and holds what the dead thread wrote
    expect(L.evbuffer_get_length(L.bufferevent_get_output(pair[0]!))).toBe(7);
    L.bufferevent_get_output(pair[0]!).validate();
    L.bufferevent_unlock(pair[0]!);
    // only the first caller is told
    L.bufferevent_lock(pair[0]!);
    L.bufferevent_unlock(pair[0]!);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('a waiter blocked in another thread is woken and gets ERR_BEV_OWNER_DIED', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const shared = L.bufferevent_export(pair[0]!);
    const victim = new Helper('bev-worker.ts');
    const waiter = new Helper('bev-worker.ts');
    expect((await victim.call({ op: 'lock-and-hang', shared })).result).toBe('locked');
    expect((await waiter.call({ op: 'lock-wait', shared })).result).toBe('waiting');
    const outcome = once(waiter.w, 'message');
    await victim.close();
    const [reply] = await outcome;
    expect(reply).toEqual({ ok: false, code: 'ERR_BEV_OWNER_DIED' });
    // the waiter unlocked: the lock is free for us, with no death left to report
    L.bufferevent_lock(pair[0]!);
    L.bufferevent_unlock(pair[0]!);
    await waiter.close();
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });
});
