import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

describe('event base loop', () => {
  it('returns 1 at once when no event is pending or active', async () => {
    const base = L.event_base_new();
    expect(await L.event_base_dispatch(base)).toBe(1);
    L.event_base_free(base);
  });

  it('runs a timer, then exits with 1 when nothing is left', async () => {
    const base = L.event_base_new();
    const seen: number[] = [];
    const t = L.evtimer_new(base, (_fd: unknown, what: number) => seen.push(what), null);
    L.evtimer_add(t, { tv_sec: 0, tv_usec: 1000 });
    expect(L.evtimer_pending(t, null)).toBe(L.EV_TIMEOUT);
    expect(await L.event_base_dispatch(base)).toBe(1);
    expect(seen).toEqual([L.EV_TIMEOUT]);
    expect(L.evtimer_pending(t, null)).toBe(0);
    L.event_free(t);
    L.event_base_free(base);
  });

  it('EVLOOP_NONBLOCK runs what is active and returns without waiting', async () => {
    const base = L.event_base_new();
    let ran = 0;
    const e = L.event_new(base, -1, 0, () => ran++, null);
    L.event_active(e, L.EV_TIMEOUT, 0);
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(0);
    expect(ran).toBe(1);
    L.event_free(e);
    L.event_base_free(base);
  });

  it('EVLOOP_ONCE waits for one event and returns after running it', async () => {
    const base = L.event_base_new();
    let ran = 0;
    const a = L.evtimer_new(base, () => ran++, null);
    const b = L.evtimer_new(base, () => ran++, null);
    L.evtimer_add(a, { tv_sec: 0, tv_usec: 2000 });
    L.evtimer_add(b, { tv_sec: 5, tv_usec: 0 });
    expect(await L.event_base_loop(base, L.EVLOOP_ONCE)).toBe(0);
    expect(ran).toBe(1);
    L.event_free(a);
    L.event_free(b);
    L.event_base_free(base);
  });

  it('loopexit with a timeval ends a loop that has pending events; got_exit tells', async () => {
    const base = L.event_base_new();
    const t = L.evtimer_new(base, () => {}, null);
    L.evtimer_add(t, { tv_sec: 60, tv_usec: 0 });
    L.event_base_loopexit(base, { tv_sec: 0, tv_usec: 5000 });
    expect(await L.event_base_dispatch(base)).toBe(0);
    expect(L.event_base_got_exit(base)).toBe(true);
    expect(L.event_base_got_break(base)).toBe(false);
    L.event_free(t);
    L.event_base_free(base);
  });

  it('loopbreak stops before the remaining active callbacks run', async () => {
    const base = L.event_base_new();
    const order: string[] = [];
    const a = L.event_new(base, -1, 0, () => { order.push('a'); L.event_base_loopbreak(base); }, null);
    const b = L.event_new(base, -1, 0, () => order.push('b'), null);
    L.event_active(a, L.EV_TIMEOUT, 0);
    L.event_active(b, L.EV_TIMEOUT, 0);
    expect(await L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY)).toBe(0);
    expect(order).toEqual(['a']);
    expect(L.event_base_got_break(base)).toBe(true);
    L.event_free(a);
    L.event_free(b);
    L.event_base_free(base);
  });

  it('loopexit(NULL) lets the active callbacks run, then exits', async () => {
    const base = L.event_base_new();
    const order: string[] = [];
    const a = L.event_new(base, -1, 0, () => { order.push('a'); L.event_base_loopexit(base, null); }, null);
    const b = L.event_new(base, -1, 0, () => order.push('b'), null);
    L.event_active(a, L.EV_TIMEOUT, 0);
    L.event_active(b, L.EV_TIMEOUT, 0);
    expect(await L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY)).toBe(0);
    expect(order).toEqual(['a', 'b']);
    L.event_free(a);
    L.event_free(b);
    L.event_base_free(base);
  });

  it('runs only the highest-priority non-empty queue per iteration', async () => {
    const base = L.event_base_new();
    expect(L.event_base_priority_init(base, 3)).toBe(0);
    expect(L.event_base_get_npriorities(base)).toBe(3);
    const order: string[] = [];
    const lo = L.event_new(base, -1, 0, () => order.push('lo'), null);
    const hi = L.event_new(base, -1, 0, () => order.push('hi'), null);
    expect(L.event_priority_set(lo, 2)).toBe(0);
    expect(L.event_priority_set(hi, 0)).toBe(0);
    expect(L.event_priority_set(hi, 3)).toBe(-1);
    L.event_active(lo, L.EV_TIMEOUT, 0);
    L.event_active(hi, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(order).toEqual(['hi']);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(order).toEqual(['hi', 'lo']);
    L.event_free(lo);
    L.event_free(hi);
    L.event_base_free(base);
  });

  it('a persistent timer fires repeatedly until deleted', async () => {
    const base = L.event_base_new();
    let n = 0;
    const t = L.event_new(base, -1, L.EV_PERSIST, () => { if (++n === 3) L.event_del(t); }, null);
    L.event_add(t, { tv_sec: 0, tv_usec: 1000 });
    expect(await L.event_base_dispatch(base)).toBe(1);
    expect(n).toBe(3);
    L.event_free(t);
    L.event_base_free(base);
  });

  it('event_pending reports the time left on a timer', () => {
    const base = L.event_base_new();
    const t = L.evtimer_new(base, () => {}, null);
    L.evtimer_add(t, { tv_sec: 10, tv_usec: 0 });
    const tv: { tv_sec?: number; tv_usec?: number } = {};
    expect(L.event_pending(t, L.EV_TIMEOUT, tv)).toBe(L.EV_TIMEOUT);
    expect(tv.tv_sec).toBeGreaterThanOrEqual(8);
    expect(tv.tv_sec).toBeLessThanOrEqual(10);
    L.event_free(t);
    L.event_base_free(base);
  });

  it('a second concurrent loop on one base returns -1', async () => {
    const base = L.event_base_new();
    const t = L.evtimer_new(base, () => {}, null);
    L.evtimer_add(t, { tv_sec: 0, tv_usec: 2000 });
    const first = L.event_base_dispatch(base);
    expect(await L.event_base_dispatch(base)).toBe(-1);
    expect(await first).toBe(1);
    L.event_free(t);
    L.event_base_free(base);
  });

  it('after event_base_free every use throws ERR_BEV_FREED', () => {
    const base = L.event_base_new();
    L.event_base_free(base);
    expect(() => L.event_base_loopbreak(base)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.bufferevent_socket_new(base, -1, 0)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.evtimer_new(base, () => {}, null)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
  });

  it('runs at most 33 deferred callbacks per iteration (libevent lets MAX_DEFERREDS_QUEUED + 1 through), the rest in the next', async () => {
    // 40 pairs each schedule one deferred read callback; the first 32 run in the first iteration.
    const base = L.event_base_new();
    const pairs: L.Bufferevent[][] = [];
    let ran = 0;
    for (let i = 0; i < 40; i++) {
      const p: L.Bufferevent[] = [];
      L.bufferevent_pair_new(base, 0, p);
      L.bufferevent_setcb(p[1]!, () => { ran++; L.evbuffer_drain(L.bufferevent_get_input(p[1]!), 1 << 20); }, null, null, null);
      L.bufferevent_enable(p[1]!, L.EV_READ);
      pairs.push(p);
    }
    // schedule from inside a callback, so all 40 are queued in one iteration
    const kick = L.event_new(base, -1, 0, () => { for (const p of pairs) L.bufferevent_write(p[0]!, 'x'); }, null);
    L.event_active(kick, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(ran).toBe(33);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(ran).toBe(40);
    L.event_free(kick);
    for (const p of pairs) { L.bufferevent_free(p[0]!); L.bufferevent_free(p[1]!); }
    L.event_base_free(base);
  });
});
