import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../../src/index.ts';
import { localArena } from '../../src/shm/arena.ts';
import { runUntil } from '../support/net.ts';
import { startDnsServer } from '../support/dns-server.ts';

/** Teardown regressions: nothing leaks in the arena, no loop hangs, no socket stays open. */
describe('lifetimes and teardown', () => {
  it('a connected socket bufferevent gives every arena block back once freed (its read region included)', async () => {
    const before = localArena().liveBlocks();
    const base = L.event_base_new();
    const srv = net.createServer((c) => c.end('hello')).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    let got = 0;
    L.bufferevent_setcb(bev, (b) => (got += L.bufferevent_read(b, new Uint8Array(100))), null, null, null);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
    await runUntil(base, () => got === 5);
    L.bufferevent_free(bev);
    L.event_base_free(base); // runs the pending finalizer
    srv.close();
    expect(localArena().liveBlocks()).toBe(before);
  });

  it('event_base_free runs the finalizers that other finalizers queue (filter over filter over socket)', async () => {
    const before = localArena().liveBlocks();
    const base = L.event_base_new();
    const sock = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const f1 = L.bufferevent_filter_new(sock, null, null, L.BEV_OPT_CLOSE_ON_FREE, null, null)!;
    const f2 = L.bufferevent_filter_new(f1, null, null, L.BEV_OPT_CLOSE_ON_FREE, null, null)!;
    L.bufferevent_free(f2); // frees f1, which frees sock: each when the one above it is finalized
    L.event_base_free(base);
    expect(localArena().liveBlocks()).toBe(before);
  });

  it('a second connect_hostname replaces a pending lookup: one event, the loop ends, nothing leaks', async () => {
    const dnsServer = await startDnsServer({}); // every name: NXDOMAIN
    const before = localArena().liveBlocks();
    const base = L.event_base_new();
    const dns = L.evdns_base_new(base, 0);
    L.evdns_base_nameserver_ip_add(dns, `127.0.0.1:${dnsServer.port}`);
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const events: number[] = [];
    L.bufferevent_setcb(bev, null, null, (_b, what) => {
      events.push(what);
      // (as in libevent, the fd-less bufferevent's re-enabled EV_WRITE stays pending, so the test ends the loop)
      L.event_base_loopexit(base, { tv_sec: 0, tv_usec: 50000 });
    }, null);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'nowhere.test', 80)).toBe(0);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'nowhere.test', 80)).toBe(0);
    expect(await L.event_base_dispatch(base)).toBe(0); // the first lookup was replaced, the second answered
    expect(events).toEqual([L.BEV_EVENT_ERROR]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_NONAME);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    expect(localArena().liveBlocks()).toBe(before);
    await dnsServer.close();
  });

  it('a loop waiting only on a listener returns once the listener is freed from outside the loop', async () => {
    const base = L.event_base_new();
    const lev = L.evconnlistener_new_bind(base, () => {}, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
    const loop = L.event_base_dispatch(base);
    setTimeout(() => L.evconnlistener_free(lev), 20); // a Node timer, not an event of the base
    expect(await loop).toBe(1);
    L.event_base_free(base);
  });
});
