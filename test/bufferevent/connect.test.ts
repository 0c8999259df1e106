/**
 * bufferevent_socket_connect and bufferevent_socket_connect_hostname (docs/libevent-notes.md), with a real UDP DNS server on 127.0.0.1 for the evdns cases.
 */
import { describe, it, expect, afterEach, beforeEach } from 'vitest';
import net from 'node:net';
import * as L from '../../src/index.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { tcpPair, tcpServer, refusedPort, runUntil, runFor, waitFor, collect, closeLeftovers, forgetSockets, socketHandleCount, expectNoSocketHandles } from '../support/net.ts';

/** bufferevent_setcb with typed callbacks (the flat API takes `unknown`). */
function setcb(bev: L.Bufferevent, r: L.BevDataCb | null, w: L.BevDataCb | null, e: L.BevEventCb | null, arg: unknown): void {
  L.bufferevent_setcb(bev, r, w, e, arg);
}

const ECONNREFUSED = 111;

interface Log {
  events: number[];
  errnos: number[];
  enabledAtEvent: number[];
  reads: number;
  writes: number;
  order: string[];
}

function record(bev: L.Bufferevent): Log {
  const log: Log = { events: [], errnos: [], enabledAtEvent: [], reads: 0, writes: 0, order: [] };
  setcb(
    bev,
    () => {
      log.reads++;
      log.order.push('read');
    },
    () => {
      log.writes++;
      log.order.push('write');
    },
    (b, what) => {
      log.events.push(what);
      log.errnos.push(L.EVUTIL_SOCKET_ERROR());
      log.enabledAtEvent.push(L.bufferevent_get_enabled(b));
      log.order.push(`event:${what.toString(16)}`);
    },
    null,
  );
  return log;
}

const dnsBases: L.EvdnsBase[] = [];
async function dnsSetup(records: Parameters<typeof startDnsServer>[0]): Promise<{ dns: L.EvdnsBase; server: Awaited<ReturnType<typeof startDnsServer>>; base: L.EventBase }> {
  const server = await startDnsServer(records);
  const base = L.event_base_new();
  const dns = L.evdns_base_new(base, 0);
  expect(L.evdns_base_nameserver_ip_add(dns, `127.0.0.1:${server.port}`)).toBe(0);
  dnsBases.push(dns);
  return { dns, server, base };
}

let baseline = 0;
beforeEach(() => {
  baseline = socketHandleCount(); // handles an earlier failed test left open are not this test's
});

afterEach(async (ctx) => {
  for (const d of dnsBases.splice(0)) {
    try {
      L.evdns_base_free(d, 0);
    } catch {
      // already freed by the test
    }
  }
  if (ctx.task.result?.state === 'fail') {
    closeLeftovers();
    return;
  }
  forgetSockets();
  await expectNoSocketHandles(2_000, baseline);
});

describe('bufferevent_socket_connect', () => {
  it('a successful connect gives exactly CONNECTED and no write callback when the output is empty', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    await runUntil(base, () => log.events.length > 0 && srv.accepted.length > 0);
    await runFor(base, 100);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(log.writes).toBe(0);
    expect(log.reads).toBe(0);
    expect(log.enabledAtEvent).toEqual([L.EV_WRITE]);
    expect(L.bufferevent_getfd(bev)).toBeGreaterThanOrEqual(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('output queued before the connect completes is sent after CONNECTED, then the write callback runs', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_write(bev, 'early ');
    expect(L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: srv.port })).toBe(0);
    L.bufferevent_write(bev, 'bird');
    await runUntil(base, () => srv.accepted.length > 0);
    const peer = collect(srv.accepted[0]!);
    await runUntil(base, () => log.writes > 0 && peer.data().length === 10);
    expect(peer.data().toString()).toBe('early bird');
    expect(log.order[0]).toBe(`event:${L.BEV_EVENT_CONNECTED.toString(16)}`);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(log.order).toContain('write');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('with DEFER_CALLBACKS, CONNECTED is delivered before the write callback', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_DEFER_CALLBACKS)!;
    const log = record(bev);
    L.bufferevent_write(bev, 'queued');
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    await runUntil(base, () => log.writes > 0);
    await runFor(base, 50);
    expect(log.order).toEqual([`event:${L.BEV_EVENT_CONNECTED.toString(16)}`, 'write']);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('reading enabled before the connect receives what the server sends', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    await runUntil(base, () => srv.accepted.length > 0);
    srv.accepted[0]!.write('hello client');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 12);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(log.reads).toBeGreaterThan(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('data the server sends is not read until reading is enabled', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    await runUntil(base, () => srv.accepted.length > 0 && log.events.length > 0);
    srv.accepted[0]!.write('unsolicited');
    await runFor(base, 150);
    expect(log.reads).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(bev))).toBe(0);
    L.bufferevent_enable(bev, L.EV_READ);
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 11);
    expect(log.reads).toBeGreaterThan(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('disabling reading while the connect is in progress keeps it off once connected', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    L.bufferevent_disable(bev, L.EV_READ);
    await runUntil(base, () => srv.accepted.length > 0 && log.events.length > 0);
    srv.accepted[0]!.write('unsolicited');
    await runFor(base, 150);
    expect(log.reads).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(bev))).toBe(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('accepts a C-shaped sockaddr built with htons/htonl', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    const sin = { sin_family: L.AF_INET, sin_port: L.htons(srv.port), sin_addr: { s_addr: L.htonl(0x7f000001) } };
    expect(L.bufferevent_socket_connect(bev, sin, 16)).toBe(0);
    await runUntil(base, () => log.events.length > 0 && srv.accepted.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(srv.accepted[0]!.remoteAddress).toBe('127.0.0.1');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('accepts what evutil_parse_sockaddr_port returns, IPv4 and IPv6', async () => {
    const base = L.event_base_new();
    const srv4 = await tcpServer();
    const srv6 = net.createServer({ pauseOnConnect: true });
    const got6: net.Socket[] = [];
    srv6.on('connection', (s) => got6.push(s));
    await new Promise<void>((resolve) => srv6.listen(0, '::1', resolve));
    const port6 = (srv6.address() as net.AddressInfo).port;

    const a = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const b = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const la = record(a);
    const lb = record(b);
    expect(L.bufferevent_socket_connect(a, L.evutil_parse_sockaddr_port(`127.0.0.1:${srv4.port}`))).toBe(0);
    expect(L.bufferevent_socket_connect(b, L.evutil_parse_sockaddr_port(`[::1]:${port6}`))).toBe(0);
    await runUntil(base, () => la.events.length > 0 && lb.events.length > 0 && srv4.accepted.length > 0 && got6.length > 0);
    expect(la.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(lb.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(got6[0]!.remoteAddress).toBe('::1');
    L.bufferevent_free(a);
    L.bufferevent_free(b);
    L.event_base_free(base);
    for (const s of got6) s.destroy();
    await new Promise<void>((resolve) => srv6.close(() => resolve()));
    await srv4.close();
  });

  it('a refused connect gives exactly one BEV_EVENT_ERROR with ECONNREFUSED and leaves enabled unchanged', async () => {
    const base = L.event_base_new();
    const port = await refusedPort();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
    L.bufferevent_write(bev, 'lost');
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port })).toBe(0);
    await runUntil(base, () => log.events.length > 0);
    await runFor(base, 150);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR]);
    expect(log.errnos).toEqual([ECONNREFUSED]);
    expect(L.evutil_socket_error_to_string(ECONNREFUSED).toLowerCase()).toBe('connection refused');
    expect(log.reads).toBe(0);
    expect(log.writes).toBe(0);
    expect(log.enabledAtEvent).toEqual([L.EV_READ | L.EV_WRITE]);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_READ | L.EV_WRITE);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('a refused connect with DEFER_CALLBACKS also gives exactly one ERROR, with its errno', async () => {
    const base = L.event_base_new();
    const port = await refusedPort();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_DEFER_CALLBACKS)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port })).toBe(0);
    await runUntil(base, () => log.events.length > 0);
    await runFor(base, 100);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR]);
    expect(log.errnos).toEqual([ECONNREFUSED]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('with sa NULL on a bufferevent without a socket it returns -1 and reports nothing', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, null)).toBe(-1);
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(1);
    expect(log.events).toEqual([]);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('with sa NULL on a socket the user connected it reports CONNECTED', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, null)).toBe(0);
    await runUntil(base, () => log.events.length > 0);
    await runFor(base, 50);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('connect with an address on a bufferevent that is already connected or connecting returns -1 and reports nothing', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect(bev, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(-1);
    const fresh = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const freshLog = record(fresh);
    expect(L.bufferevent_socket_connect(fresh, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(0);
    expect(L.bufferevent_socket_connect(fresh, { family: L.AF_INET, address: '127.0.0.1', port: srv.port })).toBe(-1);
    await runUntil(base, () => freshLog.events.length > 0);
    await runFor(base, 100);
    expect(log.events).toEqual([]);
    expect(freshLog.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(srv.accepted.length).toBe(1);
    // the first one's connection is untouched
    const peer = collect(server);
    L.bufferevent_write(bev, 'still here');
    await runUntil(base, () => peer.data().length === 10);
    L.bufferevent_free(bev);
    L.bufferevent_free(fresh);
    L.event_base_free(base);
    server.destroy();
    await srv.close();
  });

  it('connect on a pair or filter returns -1', () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    expect(L.bufferevent_socket_connect(pair[0]!, { family: L.AF_INET, address: '127.0.0.1', port: 1 })).toBe(-1);
    expect(L.bufferevent_socket_connect_hostname(pair[0]!, null, L.AF_INET, '127.0.0.1', 1)).toBe(-1);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });
});

describe('bufferevent_socket_connect_hostname', () => {
  it('returns -1 without any callback for a bad family or a port outside 1..65535', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, null, L.AF_UNIX, '127.0.0.1', 80)).toBe(-1);
    expect(L.bufferevent_socket_connect_hostname(bev, null, 99, '127.0.0.1', 80)).toBe(-1);
    expect(L.bufferevent_socket_connect_hostname(bev, null, L.AF_INET, '127.0.0.1', 0)).toBe(-1);
    expect(L.bufferevent_socket_connect_hostname(bev, null, L.AF_INET, '127.0.0.1', 65536)).toBe(-1);
    expect(L.bufferevent_socket_connect_hostname(bev, null, L.AF_INET, '127.0.0.1', -1)).toBe(-1);
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(1);
    expect(log.events).toEqual([]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(0);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    expect(() => L.bufferevent_socket_connect_hostname(bev, null, L.AF_INET, 42 as unknown as string, 80)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('an NXDOMAIN answer gives exactly BEV_EVENT_ERROR and dns_error EVUTIL_EAI_NONAME', async () => {
    const { dns, server, base } = await dnsSetup({});
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'nosuchhost.test', 80)).toBe(0);
    expect(log.events).toEqual([]); // the answer comes later, inside the loop
    await runUntil(base, () => log.events.length > 0);
    await runFor(base, 100);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_NONAME);
    expect(server.queries).toEqual([{ name: 'nosuchhost.test', type: 1 }]);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
  });

  it('a resolvable name connects to the first address; output queued during the lookup is sent', async () => {
    const srv = await tcpServer();
    const { dns, server, base } = await dnsSetup({ 'svc.test': { A: ['127.0.0.1', '127.0.0.2'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'svc.test', srv.port)).toBe(0);
    L.bufferevent_write(bev, 'queued during lookup');
    await runUntil(base, () => srv.accepted.length > 0);
    const peer = collect(srv.accepted[0]!);
    await runUntil(base, () => peer.data().length === 20 && log.writes > 0);
    expect(peer.data().toString()).toBe('queued during lookup');
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(0);
    expect(srv.accepted.length).toBe(1);
    expect(server.queries.map((q) => q.name)).toEqual(['svc.test']);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
    await srv.close();
  });

  it('a lookup suspends reading and writing on the current socket until it ends', async () => {
    const { dns, server, base } = await dnsSetup({ 'blackhole.test': { drop: true } });
    const { client, server: peerSock } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'blackhole.test', 80)).toBe(0);
    const peer = collect(peerSock);
    L.bufferevent_write(bev, 'out');
    peerSock.write('in');
    await waitFor(() => server.queries.length === 1);
    await runFor(base, 150);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_READ | L.EV_WRITE); // suspension is not visible
    expect(peer.data().length).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(bev))).toBe(3);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(bev))).toBe(0);
    expect(log.reads + log.writes).toBe(0);
    // failing the lookup (evdns_base_free with fail_requests) ends the suspension: no event, I/O resumes
    L.evdns_base_free(dns, 1);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    await runUntil(base, () => peer.data().length === 3 && L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 2);
    expect(peer.data().toString()).toBe('out');
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    peerSock.destroy();
    await server.close();
  });

  it('a numeric host connects without any DNS query', async () => {
    const srv = await tcpServer();
    const { dns, server, base } = await dnsSetup({});
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_UNSPEC, '127.0.0.1', srv.port)).toBe(0);
    await runUntil(base, () => log.events.length > 0 && srv.accepted.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(0);
    expect(server.queries).toEqual([]);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
    await srv.close();
  });

  it('with a NULL dns base the system resolver connects a numeric host and localhost, inside the loop', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const a = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const b = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const la = record(a);
    const lb = record(b);
    expect(L.bufferevent_socket_connect_hostname(a, null, L.AF_INET, '127.0.0.1', srv.port)).toBe(0);
    expect(L.bufferevent_socket_connect_hostname(b, null, L.AF_INET, 'localhost', srv.port)).toBe(0);
    expect(la.events).toEqual([]); // decision 11: the result arrives later, inside the loop
    await runUntil(base, () => la.events.length > 0 && lb.events.length > 0 && srv.accepted.length === 2);
    expect(la.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(lb.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(L.bufferevent_socket_get_dns_error(a)).toBe(0);
    expect(L.bufferevent_socket_get_dns_error(b)).toBe(0);
    L.bufferevent_free(a);
    L.bufferevent_free(b);
    L.event_base_free(base);
    await srv.close();
  });

  it('a name that resolves to a refused address gives exactly ERROR, with dns_error 0', async () => {
    const port = await refusedPort();
    const { dns, server, base } = await dnsSetup({ 'down.test': { A: ['127.0.0.1'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'down.test', port)).toBe(0);
    await runUntil(base, () => log.events.length > 0);
    await runFor(base, 100);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR]);
    expect(log.errnos).toEqual([ECONNREFUSED]);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(0);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
  });

  it('an IPv6 answer (AAAA) connects to ::1', async () => {
    const srv6 = net.createServer({ pauseOnConnect: true });
    const got6: net.Socket[] = [];
    srv6.on('connection', (s) => got6.push(s));
    await new Promise<void>((resolve) => srv6.listen(0, '::1', resolve));
    const port6 = (srv6.address() as net.AddressInfo).port;
    const { dns, server, base } = await dnsSetup({ 'six.test': { AAAA: ['::1'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET6, 'six.test', port6)).toBe(0);
    await runUntil(base, () => log.events.length > 0 && got6.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(server.queries).toEqual([{ name: 'six.test', type: 28 }]);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    for (const s of got6) s.destroy();
    await new Promise<void>((resolve) => srv6.close(() => resolve()));
    await server.close();
  });

  it('free during a pending lookup cancels it: dns_error EVUTIL_EAI_CANCEL, no event, no connection', async () => {
    const srv = await tcpServer();
    const { dns, server, base } = await dnsSetup({ 'pending.test': { A: ['127.0.0.1'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'pending.test', srv.port)).toBe(0);
    L.bufferevent_incref(bev); // keep the object readable after free
    L.bufferevent_free(bev);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    // the server did get the question and answers it; the answer must be ignored
    await waitFor(() => server.queries.length === 1);
    await runFor(base, 200);
    expect(log.events).toEqual([]);
    expect(srv.accepted.length).toBe(0);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    expect(L.bufferevent_decref(bev)).toBe(1);
    await runFor(base, 20);
    expect(() => L.bufferevent_getfd(bev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
    await srv.close();
  });

  it('free during a pending lookup with the system resolver cancels it too', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, null, L.AF_INET, 'localhost', srv.port)).toBe(0);
    L.bufferevent_incref(bev);
    L.bufferevent_free(bev);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    await runFor(base, 200);
    expect(log.events).toEqual([]);
    expect(srv.accepted.length).toBe(0);
    L.bufferevent_decref(bev);
    L.event_base_free(base);
    await srv.close();
  });

  it('a bufferevent freed during its lookup, without other references, is finalized and leaves nothing open', async () => {
    const srv = await tcpServer();
    const { dns, server, base } = await dnsSetup({ 'gone.test': { A: ['127.0.0.1'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'gone.test', srv.port)).toBe(0);
    L.bufferevent_free(bev);
    await waitFor(() => server.queries.length === 1);
    await runFor(base, 150);
    expect(() => L.bufferevent_getfd(bev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(srv.accepted.length).toBe(0);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
    await srv.close();
  });

  it('setfd during a pending lookup cancels it without an event', async () => {
    const srv = await tcpServer();
    const { dns, server, base } = await dnsSetup({ 'moved.test': { A: ['127.0.0.1'] } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'moved.test', srv.port)).toBe(0);
    expect(L.bufferevent_setfd(bev, -1)).toBe(0);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    await waitFor(() => server.queries.length === 1);
    await runFor(base, 150);
    expect(log.events).toEqual([]);
    expect(srv.accepted.length).toBe(0);
    L.bufferevent_free(bev);
    L.evdns_base_free(dns, 0);
    L.event_base_free(base);
    await server.close();
    await srv.close();
  });

  it('evdns_base_free with fail_requests during a lookup cancels it without an event', async () => {
    const { dns, server, base } = await dnsSetup({ 'shutdown.test': { drop: true } });
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    expect(L.bufferevent_socket_connect_hostname(bev, dns, L.AF_INET, 'shutdown.test', 80)).toBe(0);
    await waitFor(() => server.queries.length === 1);
    L.evdns_base_free(dns, 1);
    expect(L.bufferevent_socket_get_dns_error(bev)).toBe(L.EVUTIL_EAI_CANCEL);
    await runFor(base, 50);
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    await runFor(base, 20);
    L.event_base_free(base);
    await server.close();
  });
});

describe('socket addresses and error strings', () => {
  it('evutil_parse_sockaddr_port parses what libevent parses (regress_sockaddr_port_parse)', () => {
    expect(L.evutil_parse_sockaddr_port('[ffff::1]:1000')).toEqual({ family: L.AF_INET6, address: 'ffff::1', port: 1000 });
    expect(L.evutil_parse_sockaddr_port('[ffff::1]')).toEqual({ family: L.AF_INET6, address: 'ffff::1', port: 0 });
    expect(L.evutil_parse_sockaddr_port('::1')).toEqual({ family: L.AF_INET6, address: '::1', port: 0 });
    expect(L.evutil_parse_sockaddr_port('1:2::1')).toEqual({ family: L.AF_INET6, address: '1:2::1', port: 0 });
    expect(L.evutil_parse_sockaddr_port('192.168.0.1:50')).toEqual({ family: L.AF_INET, address: '192.168.0.1', port: 50 });
    expect(L.evutil_parse_sockaddr_port('1.2.3.4')).toEqual({ family: L.AF_INET, address: '1.2.3.4', port: 0 });
    expect(L.evutil_parse_sockaddr_port('127.0.0.1:65535')).toEqual({ family: L.AF_INET, address: '127.0.0.1', port: 65535 });
  });

  it('evutil_parse_sockaddr_port rejects what libevent rejects', () => {
    for (const bad of ['[ffff::1', '[ffff::1]:65599', '[ffff::1]:0', '[ffff::1]:-1', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:', '[1.2.3.4]:80', 'localhost:80', '1.2.3', '', 'x']) {
      expect(L.evutil_parse_sockaddr_port(bad), bad).toBeNull();
    }
  });

  it('htons/htonl swap to network byte order and ntohs/ntohl swap back', () => {
    expect(L.htons(0x1234)).toBe(0x3412);
    expect(L.ntohs(0x3412)).toBe(0x1234);
    expect(L.htons(8080)).toBe(0x901f);
    expect(L.htonl(0x7f000001)).toBe(0x0100007f);
    expect(L.ntohl(0x0100007f)).toBe(0x7f000001);
    expect(L.htonl(0xc0a80001)).toBe(0x0100a8c0);
    expect(L.ntohl(L.htonl(0xdeadbeef))).toBe(0xdeadbeef);
    expect(L.ntohs(L.htons(65535))).toBe(65535);
  });

  it('evutil_socket_error_to_string describes errno values', () => {
    expect(L.evutil_socket_error_to_string(104).toLowerCase()).toBe('connection reset by peer');
    expect(L.evutil_socket_error_to_string(111).toLowerCase()).toBe('connection refused');
    expect(L.evutil_socket_error_to_string(110).toLowerCase()).toMatch(/timed out/);
    expect(typeof L.evutil_socket_error_to_string(99999)).toBe('string');
  });
});
