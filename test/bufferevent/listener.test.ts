/**
 * evconnlistener (libevent's listener.c behaviour): binding, the accept callback,
 * enable/disable, get_fd/get_port, free, and handing accepted sockets to socket bufferevents.
 */
import { describe, it, expect, afterEach, beforeEach } from 'vitest';
import net from 'node:net';
import * as L from '../../src/index.ts';
import { runUntil, runFor, waitFor, collect, drainString, closeLeftovers, forgetSockets, socketHandleCount, expectNoSocketHandles } from '../support/net.ts';

/** bufferevent_setcb with typed callbacks (the flat API takes `unknown`). */
function setcb(bev: L.Bufferevent, r: L.BevDataCb | null, w: L.BevDataCb | null, e: L.BevEventCb | null, arg: unknown): void {
  L.bufferevent_setcb(bev, r, w, e, arg);
}

const LOOP4 = { family: L.AF_INET, address: '127.0.0.1', port: 0 };

interface Accepted {
  sock: net.Socket;
  sa: { family: string; address: string; port: number };
  ptr: unknown;
  lev: L.Evconnlistener;
}

const clients = new Set<net.Socket>();
const acceptedSockets = new Set<net.Socket>();

/** A listener whose callback records what it is given. */
function listen(base: L.EventBase, flags = L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_REUSEABLE, sa: unknown = LOOP4, ptr: unknown = null): { lev: L.Evconnlistener; got: Accepted[] } {
  const got: Accepted[] = [];
  const lev = L.evconnlistener_new_bind(
    base,
    (l: L.Evconnlistener, sock: net.Socket, addr: Accepted['sa'], _len: number, p: unknown) => {
      acceptedSockets.add(sock);
      got.push({ sock, sa: addr, ptr: p, lev: l });
    },
    ptr,
    flags,
    -1,
    sa as L.Sockaddr,
  );
  expect(lev).not.toBeNull();
  return { lev: lev!, got };
}

/** A plain client connection; resolves once connected (the kernel accepts it before the loop runs). */
async function dial(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const c = net.connect({ port, host, allowHalfOpen: true });
  clients.add(c);
  c.on('error', () => {});
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  return c;
}

function dialRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

let baseline = 0;
beforeEach(() => {
  baseline = socketHandleCount(); // handles an earlier failed test left open are not this test's
});

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state === 'fail';
  for (const s of [...clients, ...acceptedSockets]) s.destroy();
  clients.clear();
  acceptedSockets.clear();
  if (failed) {
    closeLeftovers();
    return;
  }
  forgetSockets();
  await expectNoSocketHandles(2_000, baseline);
});

describe('evconnlistener', () => {
  it('knows its port as soon as evconnlistener_new_bind returns, and accepts before the loop runs', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base);
    const port = L.evconnlistener_get_port(lev);
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    const c = await dial(port); // no loop yet: the socket is listening already
    expect(got.length).toBe(0); // callbacks run only inside the loop
    await runUntil(base, () => got.length === 1);
    expect(got[0]!.sa.port).toBe(c.localPort);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('gives the callback the listener, the accepted net.Socket, the peer address and ptr', async () => {
    const base = L.event_base_new();
    const ptr = { mine: true };
    const { lev, got } = listen(base, L.LEV_OPT_CLOSE_ON_FREE, LOOP4, ptr);
    const c = await dial(L.evconnlistener_get_port(lev));
    await runUntil(base, () => got.length === 1);
    const a = got[0]!;
    expect(a.lev).toBe(lev);
    expect(a.ptr).toBe(ptr);
    expect(a.sock).toBeInstanceOf(net.Socket);
    expect(a.sa.address).toBe('127.0.0.1');
    expect(a.sa.port).toBe(c.localPort);
    expect(a.sock.remotePort).toBe(c.localPort);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('get_fd returns the listening socket as an OS fd', () => {
    const base = L.event_base_new();
    const a = listen(base);
    const b = listen(base);
    const fa = L.evconnlistener_get_fd(a.lev);
    const fb = L.evconnlistener_get_fd(b.lev);
    expect(Number.isInteger(fa)).toBe(true);
    expect(fa).toBeGreaterThanOrEqual(0);
    expect(fb).toBeGreaterThanOrEqual(0);
    expect(fa).not.toBe(fb);
    L.evconnlistener_free(a.lev);
    L.evconnlistener_free(b.lev);
    L.event_base_free(base);
  });

  it('serves an echo through a socket bufferevent made from the accepted socket', async () => {
    const base = L.event_base_new();
    const servers: L.Bufferevent[] = [];
    const lev = L.evconnlistener_new_bind(
      base,
      (_l: unknown, sock: net.Socket) => {
        const bev = L.bufferevent_socket_new(base, sock, L.BEV_OPT_CLOSE_ON_FREE)!;
        servers.push(bev);
        setcb(
          bev,
          (b) => L.bufferevent_write_buffer(b, L.bufferevent_get_input(b)),
          null,
          (b, what) => {
            if (what & L.BEV_EVENT_EOF) L.bufferevent_free(b);
          },
          null,
        );
        L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
      },
      null,
      L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_REUSEABLE,
      16,
      LOOP4,
    )!;
    expect(lev).not.toBeNull();
    const client = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const events: number[] = [];
    let echoed = '';
    setcb(client, (b) => (echoed += drainString(b)), null, (_b, what) => events.push(what), null);
    L.bufferevent_enable(client, L.EV_READ);
    expect(L.bufferevent_socket_connect(client, { family: L.AF_INET, address: '127.0.0.1', port: L.evconnlistener_get_port(lev) })).toBe(0);
    L.bufferevent_write(client, 'ping 1, ');
    L.bufferevent_write(client, 'ping 2');
    await runUntil(base, () => echoed === 'ping 1, ping 2');
    expect(events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(servers.length).toBe(1);
    // the server frees its side on EOF (CLOSE_ON_FREE): the client then sees EOF
    L.bufferevent_free(client);
    await runFor(base, 50);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('holds connections back while disabled and delivers them once enabled', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base);
    expect(L.evconnlistener_disable(lev)).toBe(0);
    const port = L.evconnlistener_get_port(lev);
    await dial(port);
    await dial(port);
    await runFor(base, 150);
    expect(got.length).toBe(0);
    expect(L.evconnlistener_enable(lev)).toBe(0);
    await runUntil(base, () => got.length === 2);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('LEV_OPT_DISABLED creates it disabled', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base, L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_DISABLED);
    await dial(L.evconnlistener_get_port(lev));
    await runFor(base, 100);
    expect(got.length).toBe(0);
    L.evconnlistener_enable(lev);
    await runUntil(base, () => got.length === 1);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('an enabled listener keeps the loop from exiting as empty; a disabled one does not', async () => {
    const base = L.event_base_new();
    const { lev } = listen(base);
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(0);
    L.evconnlistener_disable(lev);
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(1);
    expect(await L.event_base_dispatch(base)).toBe(1);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('free closes the listening socket: later connects are refused, and the listener cannot be used', async () => {
    const base = L.event_base_new();
    const { lev } = listen(base);
    const port = L.evconnlistener_get_port(lev);
    L.evconnlistener_free(lev);
    expect(await dialRefused(port)).toBe('ECONNREFUSED');
    expect(() => L.evconnlistener_get_port(lev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.evconnlistener_enable(lev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(await L.event_base_loop(base, L.EVLOOP_NONBLOCK)).toBe(1);
    L.event_base_free(base);
  });

  it('free closes connections that were accepted but not yet delivered', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base, L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_DISABLED);
    const c = await dial(L.evconnlistener_get_port(lev));
    const seen = collect(c);
    // wait until it was accepted: a disabled listener keeps it queued, undelivered (a private field, read only here)
    await runUntil(base, () => (lev as unknown as { queue: unknown[] }).queue.length === 1);
    L.evconnlistener_free(lev);
    await waitFor(() => seen.ended() || seen.closed());
    expect(got.length).toBe(0);
    L.event_base_free(base);
  });

  it('a connection arriving while the callback is NULL is closed', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base);
    L.evconnlistener_set_cb(lev, null, null);
    const c = await dial(L.evconnlistener_get_port(lev));
    const seen = collect(c);
    await runUntil(base, () => seen.ended() || seen.closed());
    expect(got.length).toBe(0);
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('binding a port already in use returns NULL', () => {
    const base = L.event_base_new();
    const { lev } = listen(base, L.LEV_OPT_CLOSE_ON_FREE);
    const port = L.evconnlistener_get_port(lev);
    const again = L.evconnlistener_new_bind(base, () => {}, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: L.AF_INET, address: '127.0.0.1', port });
    expect(again).toBeNull();
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });

  it('LEV_OPT_REUSEABLE_PORT lets two listeners share a port, and both accept', async () => {
    const base = L.event_base_new();
    const flags = L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_REUSEABLE | L.LEV_OPT_REUSEABLE_PORT;
    const a = listen(base, flags);
    const port = L.evconnlistener_get_port(a.lev);
    const b = listen(base, flags, { family: L.AF_INET, address: '127.0.0.1', port });
    expect(L.evconnlistener_get_port(b.lev)).toBe(port);
    const N = 24;
    for (let i = 0; i < N; i++) await dial(port);
    await runUntil(base, () => a.got.length + b.got.length === N);
    // the kernel spreads connections over both (the chance that all 24 land on one is 2^-23)
    expect(a.got.length).toBeGreaterThan(0);
    expect(b.got.length).toBeGreaterThan(0);
    L.evconnlistener_free(a.lev);
    L.evconnlistener_free(b.lev);
    L.event_base_free(base);
  });

  it('binds to a C-shaped sockaddr, to what evutil_parse_sockaddr_port returns, and to ::1', async () => {
    const base = L.event_base_new();
    const c = listen(base, L.LEV_OPT_CLOSE_ON_FREE, { sin_family: L.AF_INET, sin_port: L.htons(0), sin_addr: { s_addr: L.htonl(0x7f000001) } });
    const p = listen(base, L.LEV_OPT_CLOSE_ON_FREE, L.evutil_parse_sockaddr_port('127.0.0.1'));
    const six = listen(base, L.LEV_OPT_CLOSE_ON_FREE, L.evutil_parse_sockaddr_port('[::1]'));
    await dial(L.evconnlistener_get_port(c.lev));
    await dial(L.evconnlistener_get_port(p.lev));
    await dial(L.evconnlistener_get_port(six.lev), '::1');
    await runUntil(base, () => c.got.length === 1 && p.got.length === 1 && six.got.length === 1);
    expect(six.got[0]!.sa.address).toBe('::1');
    expect(six.got[0]!.sa.family).toBe('IPv6');
    for (const x of [c, p, six]) L.evconnlistener_free(x.lev);
    L.event_base_free(base);
  });

  it('an accepted socket handed to a bufferevent without CLOSE_ON_FREE stays usable after the bufferevent is freed', async () => {
    const base = L.event_base_new();
    const { lev, got } = listen(base);
    const c = await dial(L.evconnlistener_get_port(lev));
    const fromServer = collect(c);
    await runUntil(base, () => got.length === 1);
    const sock = got[0]!.sock;
    const bev = L.bufferevent_socket_new(base, sock, 0)!;
    L.bufferevent_enable(bev, L.EV_READ);
    c.write('to bev');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 6);
    expect(drainString(bev)).toBe('to bev');
    L.bufferevent_write(bev, 'from bev;');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_output(bev)) === 0);
    L.bufferevent_free(bev);
    await runFor(base, 20);
    const mine = collect(sock);
    c.write('to socket');
    sock.write('from socket');
    await waitFor(() => mine.data().length === 9 && fromServer.data().length === 20);
    expect(mine.data().toString()).toBe('to socket');
    expect(fromServer.data().toString()).toBe('from bev;from socket');
    L.evconnlistener_free(lev);
    L.event_base_free(base);
  });
});

describe('evconnlistener_new, error callback, get_base', () => {
  it('listens on a net.Server the caller made; free leaves it open unless LEV_OPT_CLOSE_ON_FREE', async () => {
    const base = L.event_base_new();
    for (const flags of [0, L.LEV_OPT_CLOSE_ON_FREE]) {
      const srv = net.createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const got: net.Socket[] = [];
      const lev = L.evconnlistener_new(base, (_l, s) => got.push(s), null, flags, 0, srv)!;
      expect(lev).not.toBeNull();
      expect(L.evconnlistener_get_base(lev)).toBe(base);
      expect(L.evconnlistener_get_port(lev)).toBe((srv.address() as net.AddressInfo).port);
      const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
      await runUntil(base, () => got.length === 1);
      expect(got[0]!.isPaused()).toBe(true); // as a listener's own: nothing read before a bufferevent takes it
      got[0]!.destroy();
      c.destroy();
      L.evconnlistener_free(lev);
      expect(srv.listening).toBe(flags === 0);
      if (srv.listening) await new Promise((r) => srv.close(r));
    }
    L.event_base_free(base);
  });

  it('returns null for a server that is not listening or an fd that cannot listen; rejects other types', () => {
    const base = L.event_base_new();
    expect(L.evconnlistener_new(base, null, null, 0, 0, net.createServer())).toBeNull();
    expect(L.evconnlistener_new(base, null, null, 0, 0, 1_000_000)).toBeNull();
    expect(() => L.evconnlistener_new(base, null, null, 0, 0, '3' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => L.evconnlistener_new(base, null, null, 0, 0, -1)).toThrow(TypeError);
    L.event_base_free(base);
  });

  it('an accept error calls the error callback from the loop with EVUTIL_SOCKET_ERROR() set, and the listener keeps accepting', async () => {
    // Node reports a failed accept as an 'error' event on the server (with syscall 'accept'), and keeps listening.
    // (libuv itself absorbs EMFILE/ENFILE with a reserve descriptor, dropping the pending connections, so those
    // two never reach a Node program; the error is made here the way Node delivers the others.)
    const base = L.event_base_new();
    const got: net.Socket[] = [];
    const errors: Array<[number, L.EventBase, unknown]> = [];
    const lev = L.evconnlistener_new_bind(base, (_l, s) => got.push(s), 'arg', L.LEV_OPT_CLOSE_ON_FREE, -1, { family: L.AF_INET, address: '127.0.0.1', port: 0 })!;
    L.evconnlistener_set_error_cb(lev, (l, ptr) => errors.push([L.EVUTIL_SOCKET_ERROR(), L.evconnlistener_get_base(l), ptr]));
    const server = (lev as unknown as { server: net.Server }).server;
    server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' }));
    expect(errors).toEqual([]); // delivered from the loop, not from Node's callback
    await runUntil(base, () => errors.length === 1);
    expect(errors[0]).toEqual([24, base, 'arg']);
    const c = net.connect(L.evconnlistener_get_port(lev), '127.0.0.1');
    await runUntil(base, () => got.length === 1);
    got[0]!.destroy();
    c.destroy();
    expect(() => L.evconnlistener_set_error_cb(lev, 'cb' as never)).toThrow(TypeError);
    L.evconnlistener_free(lev);
    expect(() => L.evconnlistener_get_base(lev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    L.event_base_free(base);
  });
});
