import { afterEach, describe, expect, it } from 'vitest';
import * as L from '../../src/index.ts';
import { closeLeftovers, forgetSockets, refusedPort, runUntil, tcpServer } from '../support/net.ts';

/** bev.connect(target, { signal }): a promise over bufferevent_socket_connect / _connect_hostname. */
afterEach(() => closeLeftovers());

type Sock = L.Bufferevent & { connect(t: unknown, o?: { signal?: AbortSignal }): Promise<void> };
function newSock(base: L.EventBase): { bev: Sock; events: number[] } {
  const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)! as Sock;
  const events: number[] = [];
  L.bufferevent_setcb(bev, null, null, (_b, what) => events.push(what), null);
  return { bev, events };
}

/** Run the loop until the promise settles; resolves with its outcome. */
async function settle<T>(base: L.EventBase, p: Promise<T>): Promise<{ ok: boolean; value?: T; err?: Error & Record<string, unknown> }> {
  let out: { ok: boolean; value?: T; err?: Error & Record<string, unknown> } | null = null;
  p.then((value) => (out = { ok: true, value }), (err: Error & Record<string, unknown>) => (out = { ok: false, err }));
  await runUntil(base, () => out !== null);
  return out!;
}

describe('bev.connect', () => {
  it('resolves when BEV_EVENT_CONNECTED is reported; the event callback still sees it', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    for (const target of [{ family: L.AF_INET, address: '127.0.0.1', port: srv.port }, { host: '127.0.0.1', port: srv.port }, { host: 'localhost', port: srv.port }]) {
      const { bev, events } = newSock(base);
      const r = await settle(base, bev.connect(target));
      expect(r.ok).toBe(true);
      expect(events).toEqual([L.BEV_EVENT_CONNECTED]);
      L.bufferevent_free(bev);
    }
    await srv.close();
    forgetSockets();
    L.event_base_free(base);
  });

  it('rejects a refused connection with a Node-style system error that is a BuffereventError', async () => {
    const base = L.event_base_new();
    const port = await refusedPort();
    const { bev, events } = newSock(base);
    const r = await settle(base, bev.connect({ host: '127.0.0.1', port }));
    expect(r.ok).toBe(false);
    expect(r.err).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port });
    expect(r.err!.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(r.err).toBeInstanceOf(L.BuffereventError);
    expect(events).toEqual([L.BEV_EVENT_ERROR]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('an abort closes a socket still connecting: the promise rejects with an AbortError and no event is reported', async () => {
    const base = L.event_base_new();
    const { bev, events } = newSock(base);
    const ac = new AbortController();
    // a non-routable address: the connect cannot have finished when the abort comes, right after it started
    const p = bev.connect({ host: '10.255.255.1', port: 9 }, { signal: ac.signal });
    ac.abort(new Error('changed my mind'));
    const r = await settle(base, p);
    expect(r.ok).toBe(false);
    expect(r.err!.name).toBe('AbortError');
    expect((r.err!.cause as Error).message).toBe('changed my mind');
    for (let k = 0; k < 20; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(events).toEqual([]);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('an abort cancels a pending name lookup (dns_error EVUTIL_EAI_CANCEL, no event)', async () => {
    const base = L.event_base_new();
    const { bev, events } = newSock(base);
    const ac = new AbortController();
    const p = bev.connect({ host: 'localhost', port: 9 }, { signal: ac.signal });
    ac.abort();
    const r = await settle(base, p);
    expect(r.err!.name).toBe('AbortError');
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    for (let k = 0; k < 20; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(events).toEqual([]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('an aborted signal rejects at once; a second connect while connecting rejects with ERR_BEV_CONNECT_STATE; bad targets throw', async () => {
    const base = L.event_base_new();
    const { bev, events } = newSock(base);
    const ac = new AbortController();
    ac.abort();
    await expect(bev.connect({ host: '127.0.0.1', port: 9 }, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(L.bufferevent_getfd(bev)).toBe(-1); // nothing was started
    const srv = await tcpServer();
    const first = bev.connect({ host: '127.0.0.1', port: srv.port });
    await expect(bev.connect({ host: '127.0.0.1', port: srv.port })).rejects.toMatchObject({ code: 'ERR_BEV_CONNECT_STATE' });
    expect((await settle(base, first)).ok).toBe(true);
    expect(events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(() => bev.connect('127.0.0.1:80')).toThrow(TypeError);
    expect(() => bev.connect({ host: 42, port: 1 })).toThrow(TypeError);
    expect(() => bev.connect({ host: 'x', port: 70000 })).toThrow(RangeError);
    expect(() => bev.connect({ host: 'x', port: 1 }, { signal: 'no' as never })).toThrow(TypeError);
    L.bufferevent_free(bev);
    await srv.close();
    forgetSockets();
    L.event_base_free(base);
  });
});
