import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { runFor } from '../support/net.ts';

/** Regressions found by reviewing the code against libevent's behaviour (docs/libevent-notes.md). */
describe('libevent behaviours found in review', () => {
  it('a zero timeval means no timeout on a socket bufferevent (evutil_timerisset)', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    const events: number[] = [];
    L.bufferevent_setcb(bev, null, null, (_b, what) => events.push(what), null);
    L.bufferevent_set_timeouts(bev, { tv_sec: 0, tv_usec: 0 }, { tv_sec: 0, tv_usec: 0 });
    L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
    await runFor(base, 60);
    expect(events).toEqual([]);
    L.bufferevent_free(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });

  it('priority_set succeeds while the deferred runner is queued, and moves it', async () => {
    const base = L.event_base_new();
    L.event_base_priority_init(base, 4);
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_DEFER_CALLBACKS)!;
    const order: string[] = [];
    L.bufferevent_setcb(bev, null, null, () => order.push('bev'), null);
    const user = L.event_new(base, -1, 0, () => order.push('user'), null);
    L.event_priority_set(user, 1);
    L.bufferevent_trigger_event(bev, L.BEV_EVENT_EOF, 0); // queues the deferred runner at priority 2
    L.event_active(user, L.EV_TIMEOUT, 0);
    expect(L.bufferevent_priority_set(bev, 0)).toBe(0);
    expect(L.bufferevent_get_priority(bev)).toBe(0);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(order).toEqual(['bev']); // priority 0 runs first, alone in its iteration
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(order).toEqual(['bev', 'user']);
    L.event_free(user);
    L.bufferevent_free(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });

  it('EVLOOP_ONCE returns once nothing is active: lower-priority callbacks queued with the first run too', async () => {
    const base = L.event_base_new();
    L.event_base_priority_init(base, 2);
    const order: string[] = [];
    const hi = L.event_new(base, -1, 0, () => order.push('hi'), null);
    const lo = L.event_new(base, -1, 0, () => order.push('lo'), null);
    L.event_priority_set(hi, 0);
    L.event_priority_set(lo, 1);
    L.event_active(lo, L.EV_TIMEOUT, 0);
    L.event_active(hi, L.EV_TIMEOUT, 0);
    expect(await L.event_base_loop(base, L.EVLOOP_ONCE)).toBe(0);
    expect(order).toEqual(['hi', 'lo']);
    L.event_free(hi);
    L.event_free(lo);
    L.event_base_free(base);
  });

  it('bufferevent_replacefd on a filter acts on its underlying', async () => {
    const base = L.event_base_new();
    const sock = L.bufferevent_socket_new(base, -1, 0)!;
    const f = L.bufferevent_filter_new(sock, null, null, 0, null, null)!;
    expect(L.bufferevent_replacefd(f, -1)).toBe(0); // libevent: ctrl(SET_FD) forwarded; -1 on a pair
    expect(L.bufferevent_getfd(f)).toBe(-1);
    L.bufferevent_free(f);
    L.bufferevent_free(sock);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});
