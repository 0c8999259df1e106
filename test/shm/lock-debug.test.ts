import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { lockDebuggingEnabled } from '../../src/shm/rlock.ts';

/** Lock debugging (evthread_enable_lock_debugging / BUFFEREVENT_LOCK_DEBUG=1): holds are asserted where required. */
describe('lock debugging', () => {
  it('is off by default, then asserts "held by me" in internal code that requires the lock', async () => {
    expect(lockDebuggingEnabled()).toBe(process.env.BUFFEREVENT_LOCK_DEBUG === '1');
    L.evthread_enable_lock_debugging();
    expect(lockDebuggingEnabled()).toBe(true);
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    // the public API takes the lock itself: everything works with the assertions on
    L.bufferevent_enable(pair[1]!, L.EV_READ);
    L.bufferevent_setwatermark(pair[1]!, L.EV_READ, 0, 4);
    expect(L.bufferevent_write(pair[0]!, 'abcdefgh')).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(pair[1]!))).toBe(4);
    // internal code reached without the lock is caught (libevent's EVLOCK_ASSERT_LOCKED)
    const internal = pair[1] as unknown as { triggerNolock(io: number, o: number): void; input: { lengthLocked(): number } };
    expect(() => internal.triggerNolock(L.EV_READ, 0)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_ASSERT' }));
    expect(() => internal.input.lengthLocked()).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_ASSERT' }));
    L.bufferevent_lock(pair[1]!);
    expect(internal.input.lengthLocked()).toBe(4);
    L.bufferevent_unlock(pair[1]!);
    // unlock misuse throws at once
    expect(() => L.bufferevent_unlock(pair[1]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});
