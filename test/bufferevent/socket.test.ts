/**
 * Socket bufferevents over loopback TCP (docs/libevent-notes.md).
 * Peers are plain `node:net` sockets unless a test needs two bufferevents.
 */
import { describe, it, expect, afterEach, beforeEach } from 'vitest';
import net from 'node:net';
import fs from 'node:fs';
import * as L from '../../src/index.ts';
import { tcpPair, tcpServer, refusedPort, closeLeftovers, forgetSockets, socketHandleCount, runUntil, runFor, waitFor, collect, drainString, expectNoSocketHandles, ioBarrier } from '../support/net.ts';
import { prng, randInt, randBytes } from '../support/prng.ts';

/** bufferevent_setcb with typed callbacks (the flat API takes `unknown`). */
function setcb(bev: L.Bufferevent, r: L.BevDataCb | null, w: L.BevDataCb | null, e: L.BevEventCb | null, arg: unknown): void {
  L.bufferevent_setcb(bev, r, w, e, arg);
}

const ECONNRESET = 104;
const tv = (ms: number): { tv_sec: number; tv_usec: number } => ({ tv_sec: Math.floor(ms / 1000), tv_usec: (ms % 1000) * 1000 });

interface Log {
  events: number[];
  errnos: number[];
  enabledAtEvent: number[];
  reads: number;
  writes: number;
  at: number[];
}

/** Record every callback of `bev`; the read callback does not drain unless `drain` is set. */
function record(bev: L.Bufferevent, opts: { drain?: boolean } = {}): Log {
  const log: Log = { events: [], errnos: [], enabledAtEvent: [], reads: 0, writes: 0, at: [] };
  const t0 = Date.now();
  setcb(
    bev,
    (b) => {
      log.reads++;
      if (opts.drain) drainString(b);
    },
    () => log.writes++,
    (b, what) => {
      log.events.push(what);
      log.errnos.push(L.EVUTIL_SOCKET_ERROR());
      log.enabledAtEvent.push(L.bufferevent_get_enabled(b));
      log.at.push(Date.now() - t0);
    },
    null,
  );
  return log;
}

let baseline = 0;
beforeEach(() => {
  baseline = socketHandleCount(); // handles an earlier failed test left open are not this test's
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    closeLeftovers(); // the test's own cleanup did not run; do not let it fail the next tests
    return;
  }
  forgetSockets();
  await expectNoSocketHandles(2_000, baseline);
});

describe('socket bufferevent construction', () => {
  it('takes a connected net.Socket and reports its OS fd from getfd', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    expect(bev).not.toBeNull();
    expect(L.bufferevent_getfd(bev)).toBe(fd);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_WRITE);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('takes -1 and then has no fd', () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    expect(bev).not.toBeNull();
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('takes an OS file descriptor number and does I/O on it', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    // Two handles on one fd: the bufferevent closes it at finalization (CLOSE_ON_FREE); the original handle is
    // destroyed in the same synchronous step, so no other open can reuse the number in between.
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const bev = L.bufferevent_socket_new(base, fd, L.BEV_OPT_CLOSE_ON_FREE)!;
    expect(bev).not.toBeNull();
    expect(L.bufferevent_getfd(bev)).toBe(fd);
    const log = record(bev);
    const peer = collect(server);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_write(bev, 'from-fd');
    server.write('to-fd');
    await runUntil(base, () => peer.data().toString() === 'from-fd' && L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 5);
    expect(drainString(bev)).toBe('to-fd');
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    expect(fs.fstatSync(fd).isSocket()).toBe(true); // finalization (and the close) waits for the loop or base_free
    L.event_base_free(base);
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' })); // CLOSE_ON_FREE closed it
    client.destroy();
    await waitFor(() => peer.ended());
    server.destroy();
  });

  it('takes a net.Socket that is still connecting and starts I/O once it is connected', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const sock = net.connect({ port: srv.port, host: '127.0.0.1' });
    expect(sock.connecting).toBe(true);
    const bev = L.bufferevent_socket_new(base, sock, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_write(bev, 'hi');
    await runUntil(base, () => srv.accepted.length > 0);
    const peer = collect(srv.accepted[0]!);
    srv.accepted[0]!.write('back');
    await runUntil(base, () => peer.data().length === 2 && L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 4);
    expect(peer.data().toString()).toBe('hi');
    expect(drainString(bev)).toBe('back');
    expect(L.bufferevent_getfd(bev)).toBeGreaterThanOrEqual(0);
    expect(log.events).toEqual([]); // no CONNECTED without bufferevent_socket_connect(bev, NULL)
    L.bufferevent_free(bev);
    await runUntil(base, () => peer.ended());
    L.event_base_free(base);
    await srv.close();
  });

  it('a still-connecting net.Socket plus connect(bev, NULL) reports CONNECTED, or ERROR when refused', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const okSock = net.connect({ port: srv.port, host: '127.0.0.1' });
    const ok = L.bufferevent_socket_new(base, okSock, L.BEV_OPT_CLOSE_ON_FREE)!;
    const okLog = record(ok);
    expect(L.bufferevent_socket_connect(ok, null)).toBe(0);
    const port = await refusedPort();
    const badSock = net.connect({ port, host: '127.0.0.1' });
    const bad = L.bufferevent_socket_new(base, badSock, L.BEV_OPT_CLOSE_ON_FREE)!;
    const badLog = record(bad);
    expect(L.bufferevent_socket_connect(bad, null)).toBe(0);
    await runUntil(base, () => okLog.events.length > 0 && badLog.events.length > 0);
    await runFor(base, 50);
    expect(okLog.events).toEqual([L.BEV_EVENT_CONNECTED]);
    expect(okLog.writes).toBe(0);
    expect(badLog.events).toEqual([L.BEV_EVENT_ERROR]);
    expect(badLog.errnos).toEqual([111]);
    L.bufferevent_free(ok);
    L.bufferevent_free(bad);
    L.event_base_free(base);
    await srv.close();
  });

  it('rejects an fd that is neither a net.Socket nor an integer >= -1', () => {
    const base = L.event_base_new();
    expect(() => L.bufferevent_socket_new(base, 'x' as unknown as number, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => L.bufferevent_socket_new(base, -2, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    L.event_base_free(base);
  });
});

describe('socket timeouts (A.6)', () => {
  it('a socket bufferevent on fd -1 with timeouts just times out, write before read', async () => {
    const base = L.event_base_new();
    // test_bufferevent_timeouts, "" variant: bev1 r=150 w=100, 7 bytes queued, READ|WRITE enabled;
    // bev2 reading disabled, r=100 w=200, WRITE enabled with an empty output.
    const bev1 = L.bufferevent_socket_new(base, -1, 0)!;
    const bev2 = L.bufferevent_socket_new(base, -1, 0)!;
    const log1 = record(bev1);
    const log2 = record(bev2);
    expect(L.bufferevent_set_timeouts(bev1, tv(150), tv(100))).toBe(0);
    L.bufferevent_write(bev1, '1234567');
    L.bufferevent_enable(bev1, L.EV_READ | L.EV_WRITE);
    expect(L.bufferevent_set_timeouts(bev2, tv(100), tv(200))).toBe(0);
    L.bufferevent_disable(bev2, L.EV_READ);
    L.bufferevent_enable(bev2, L.EV_WRITE);
    L.event_base_loopexit(base, tv(600));
    await L.event_base_dispatch(base);

    expect(log1.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING, L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(log1.at[0]).toBeGreaterThanOrEqual(90);
    expect(log1.at[0]).toBeLessThan(100 + 400);
    expect(log1.at[1]).toBeGreaterThanOrEqual(140);
    expect(log1.at[1]).toBeLessThan(150 + 400);
    expect(log1.reads).toBe(0);
    expect(log1.writes).toBe(0);
    // each timeout disables its own direction before the callback runs
    expect(log1.enabledAtEvent).toEqual([L.EV_READ, 0]);

    expect(log2.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(log2.at[0]).toBeGreaterThanOrEqual(190);
    expect(log2.reads + log2.writes).toBe(0);
    L.bufferevent_free(bev1);
    L.bufferevent_free(bev2);
    L.event_base_free(base);
  });

  it('a read timeout fires while reading is enabled and no data comes, and clears EV_READ', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_set_timeouts(bev, tv(100), null);
    L.bufferevent_enable(bev, L.EV_READ);
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(log.at[0]).toBeGreaterThanOrEqual(90);
    expect(L.bufferevent_get_enabled(bev) & L.EV_READ).toBe(0);
    // reading stays off: nothing more fires
    await runFor(base, 250);
    expect(log.events.length).toBe(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('no read timeout fires while reading is disabled', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_set_timeouts(bev, tv(50), null);
    await runFor(base, 250);
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('received data restarts the read timeout', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    let lastReadAt = 0;
    let reads = 0;
    const events: number[] = [];
    let eventAt = 0;
    setcb(
      bev,
      (b) => {
        reads++;
        lastReadAt = Date.now();
        drainString(b);
      },
      null,
      (_b, what) => {
        events.push(what);
        eventAt = Date.now();
      },
      null,
    );
    L.bufferevent_set_timeouts(bev, tv(400), null);
    L.bufferevent_enable(bev, L.EV_READ);
    // keep the connection busy for 1 s, a byte every 50 ms: only the restarts keep the 400 ms timer from firing
    const iv = setInterval(() => server.write('x'), 50);
    await runFor(base, 1000);
    clearInterval(iv);
    expect(events).toEqual([]);
    expect(reads).toBeGreaterThan(5);
    await runUntil(base, () => events.length > 0);
    expect(events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(eventAt - lastReadAt).toBeGreaterThanOrEqual(390); // counted from the last read
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('a write timeout does not fire while the output is empty and EV_WRITE was never armed', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    const log = record(bev);
    // writing is enabled by default, but with nothing queued ev_write is not pending
    L.bufferevent_set_timeouts(bev, null, tv(50));
    await runFor(base, 250);
    expect(log.events).toEqual([]);
    // queued output arms it
    L.bufferevent_write(bev, 'x');
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(L.bufferevent_get_enabled(bev) & L.EV_WRITE).toBe(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('a write timeout fires when queued output stops draining (the peer does not read), and clears EV_WRITE', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_set_timeouts(bev, null, tv(300));
    // more than loopback's socket buffers hold: the writes stall once they are full
    const chunk = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < 32; i++) L.bufferevent_write(bev, chunk);
    await runUntil(base, () => log.events.length > 0, 20_000);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(log.enabledAtEvent).toEqual([0]);
    const left = L.evbuffer_get_length(L.bufferevent_get_output(bev));
    expect(left).toBeGreaterThan(0);
    expect(log.writes).toBe(0);
    // the peer starts reading and writing is enabled again: everything arrives
    let received = 0;
    server.on('data', (c: Buffer) => (received += c.length));
    server.resume();
    L.bufferevent_set_timeouts(bev, null, null);
    L.bufferevent_enable(bev, L.EV_WRITE);
    await runUntil(base, () => received === 32 << 20, 30_000);
    expect(log.writes).toBeGreaterThan(0);
    expect(log.events.length).toBe(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  }, 60_000);

  it('set_timeouts on a pending event re-arms it with the new value; null clears it', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    const log = record(bev);
    L.bufferevent_set_timeouts(bev, tv(5000), null);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_set_timeouts(bev, tv(80), null);
    await runUntil(base, () => log.events.length > 0, 3000);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);

    L.bufferevent_set_timeouts(bev, tv(80), null);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_set_timeouts(bev, null, null);
    await runFor(base, 250);
    expect(log.events.length).toBe(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('the obsolete bufferevent_settimeout takes whole seconds, 0 meaning none', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    const log = record(bev);
    L.bufferevent_settimeout(bev, 1, 0);
    L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE); // ev_write armed with an empty output, but no write timeout
    await runUntil(base, () => log.events.length > 0, 5000);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(log.at[0]).toBeGreaterThanOrEqual(950);
    await runFor(base, 200);
    expect(log.events.length).toBe(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });
});

describe('EOF, errors and the enabled state (A.7)', () => {
  it('a peer end() disables reading, then gives EOF|READING', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    server.end('last words');
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    expect(log.enabledAtEvent).toEqual([L.EV_WRITE]);
    expect(drainString(bev)).toBe('last words');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('after a read EOF writing stays enabled: the half-closed peer still receives what we write', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    const peer = collect(server);
    server.end();
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_WRITE);
    expect(L.bufferevent_write(bev, 'reply after your FIN')).toBe(0);
    await runUntil(base, () => log.writes > 0);
    await waitFor(() => peer.data().length === 20);
    expect(peer.data().toString()).toBe('reply after your FIN');
    expect(log.events.length).toBe(1);
    expect(peer.ended()).toBe(false);
    L.bufferevent_free(bev);
    await runUntil(base, () => peer.ended());
    L.event_base_free(base);
    server.destroy();
  });

  it('re-enabling reading after EOF reports EOF again', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    server.end();
    await runUntil(base, () => log.events.length === 1);
    L.bufferevent_enable(bev, L.EV_READ);
    await runUntil(base, () => log.events.length === 2, 3000);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING, L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_WRITE);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('an EOF is not reported while reading is disabled; enabling reading reports it', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log: number[] = [];
    setcb(
      bev,
      (b) => L.bufferevent_disable(b, L.EV_READ), // pause after the first data
      null,
      (_b, what) => log.push(what),
      null,
    );
    L.bufferevent_enable(bev, L.EV_READ);
    server.end('data then FIN');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) > 0);
    await runFor(base, 150);
    expect(log).toEqual([]);
    L.bufferevent_enable(bev, L.EV_READ);
    await runUntil(base, () => log.length > 0);
    expect(log).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    expect(drainString(bev)).toBe('data then FIN');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('a connection reset gives ERROR|READING with EVUTIL_SOCKET_ERROR() == ECONNRESET', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    server.resetAndDestroy();
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_READING]);
    expect(log.errnos).toEqual([ECONNRESET]);
    expect(log.enabledAtEvent).toEqual([L.EV_WRITE]);
    expect(L.evutil_socket_error_to_string(log.errnos[0]!).toLowerCase()).toBe('connection reset by peer');
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('writing to a reset connection gives ERROR|WRITING with ECONNRESET or EPIPE and clears EV_WRITE', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    const peerClosed = collect(server);
    server.resetAndDestroy();
    await waitFor(() => peerClosed.closed());
    // the first write may still be accepted by the kernel; the RST makes a later one fail
    for (let i = 0; i < 50 && log.events.length === 0; i++) {
      L.bufferevent_write(bev, new Uint8Array(1000));
      await runFor(base, 10);
    }
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING]);
    expect([ECONNRESET, 32]).toContain(log.errnos[0]);
    expect(log.enabledAtEvent).toEqual([0]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('a deferred ERROR event restores the errno captured when it happened', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_DEFER_CALLBACKS)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    server.resetAndDestroy();
    await runUntil(base, () => log.events.length > 0);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_READING]);
    expect(log.errnos).toEqual([ECONNRESET]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });
});

describe('socket writing and fds (A.10)', () => {
  it('enable(EV_WRITE) with an empty output runs the write callback exactly once', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    await runFor(base, 50);
    expect(log.writes).toBe(0); // enabled by default, but nothing armed ev_write
    L.bufferevent_enable(bev, L.EV_WRITE);
    await runUntil(base, () => log.writes > 0);
    await runFor(base, 100);
    expect(log.writes).toBe(1);
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('nothing is read while reading is disabled, not even after an enable and disable in the same tick', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    server.write('not yet');
    await runFor(base, 50);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(bev))).toBe(0); // reading is off at creation
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_disable(bev, L.EV_READ);
    await runFor(base, 150);
    expect(L.evbuffer_get_length(L.bufferevent_get_input(bev))).toBe(0);
    expect(log.reads).toBe(0);
    L.bufferevent_enable(bev, L.EV_READ);
    await runUntil(base, () => log.reads > 0);
    expect(drainString(bev)).toBe('not yet');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('the read callback waits for the read low watermark, counted on the whole input', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const seen: number[] = [];
    setcb(bev, (b) => seen.push(L.evbuffer_get_length(L.bufferevent_get_input(b))), null, null, null);
    L.bufferevent_setwatermark(bev, L.EV_READ, 10, 0);
    L.bufferevent_enable(bev, L.EV_READ);
    server.write('1234');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 4);
    await runFor(base, 50);
    expect(seen).toEqual([]);
    server.write('567890');
    await runUntil(base, () => seen.length > 0);
    expect(seen).toEqual([10]);
    expect(drainString(bev)).toBe('1234567890');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('adding to the output starts writing without any enable call, and the write callback fires once drained', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    const peer = collect(server);
    L.evbuffer_add(L.bufferevent_get_output(bev), 'through the evbuffer');
    await runUntil(base, () => log.writes > 0);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(bev))).toBe(0);
    await waitFor(() => peer.data().length === 20);
    expect(peer.data().toString()).toBe('through the evbuffer');
    expect(log.writes).toBe(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('nothing is sent while writing is disabled; enabling it sends the queued output', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    const peer = collect(server);
    L.bufferevent_disable(bev, L.EV_WRITE);
    L.bufferevent_write(bev, 'held back');
    await runFor(base, 100);
    expect(peer.data().length).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(bev))).toBe(9);
    L.bufferevent_enable(bev, L.EV_WRITE);
    await runUntil(base, () => log.writes > 0);
    await waitFor(() => peer.data().length === 9);
    expect(peer.data().toString()).toBe('held back');
    L.bufferevent_free(bev);
    L.event_base_free(base);
    server.destroy();
  });

  it('the buffers are frozen: users cannot add to the input or drain the output', () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    expect(L.evbuffer_add(L.bufferevent_get_input(bev), 'x')).toBe(-1);
    L.bufferevent_disable(bev, L.EV_WRITE);
    L.bufferevent_write(bev, 'abc');
    expect(L.evbuffer_drain(L.bufferevent_get_output(bev), 1)).toBe(-1);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(bev))).toBe(3);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('setfd moves the bufferevent to another socket, keeps the buffers frozen and arms one write callback', async () => {
    const base = L.event_base_new();
    const one = await tcpPair();
    const two = await tcpPair();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const log = record(bev);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_setfd(bev, one.client)).toBe(0);
    const fd1 = (one.client as unknown as { _handle: { fd: number } })._handle.fd;
    expect(L.bufferevent_getfd(bev)).toBe(fd1);
    expect(L.evbuffer_add(L.bufferevent_get_input(bev), 'x')).toBe(-1); // decision 8: re-frozen at once
    await runUntil(base, () => log.writes === 1); // setfd re-enables EV_WRITE with an empty output
    one.server.write('on one');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 6);
    expect(drainString(bev)).toBe('on one');

    // without CLOSE_ON_FREE semantics for the old fd: setfd does not close it
    expect(L.bufferevent_setfd(bev, two.client)).toBe(0);
    const fd2 = (two.client as unknown as { _handle: { fd: number } })._handle.fd;
    expect(L.bufferevent_getfd(bev)).toBe(fd2);
    two.server.write('on two');
    const peer2 = collect(two.server);
    L.bufferevent_write(bev, 'to two');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 6 && peer2.data().length === 6);
    expect(drainString(bev)).toBe('on two');
    expect(peer2.data().toString()).toBe('to two');

    // the first socket was given back, open and usable in both directions
    expect(one.client.destroyed).toBe(false);
    const peer1 = collect(one.server);
    const mine1 = collect(one.client);
    one.client.write('still mine');
    one.server.write('back to the owner');
    await waitFor(() => peer1.data().length === 10 && mine1.data().length === 17);
    expect(peer1.data().toString()).toBe('still mine');
    expect(mine1.data().toString()).toBe('back to the owner');
    expect(log.events).toEqual([]);

    expect(L.bufferevent_setfd(bev, -1)).toBe(0);
    expect(L.bufferevent_getfd(bev)).toBe(-1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    for (const s of [one.client, one.server, two.client, two.server]) s.destroy();
  });

  it('replacefd closes the old socket and takes the new one', async () => {
    const base = L.event_base_new();
    const one = await tcpPair();
    const two = await tcpPair();
    const bev = L.bufferevent_socket_new(base, one.client, 0)!;
    const log = record(bev);
    const peer1 = collect(one.server);
    expect(L.bufferevent_replacefd(bev, two.client)).toBe(0);
    const fd2 = (two.client as unknown as { _handle: { fd: number } })._handle.fd;
    expect(L.bufferevent_getfd(bev)).toBe(fd2);
    await waitFor(() => peer1.ended());
    const peer2 = collect(two.server);
    L.bufferevent_write(bev, 'replaced');
    await runUntil(base, () => peer2.data().length === 8);
    expect(peer2.data().toString()).toBe('replaced');
    expect(log.events).toEqual([]);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    for (const s of [one.server, two.client, two.server]) s.destroy();
  });

  it('priority_set accepts [0, npriorities) and get_priority defaults to npriorities/2', () => {
    const base = L.event_base_new();
    expect(L.event_base_priority_init(base, 4)).toBe(0);
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    expect(L.bufferevent_get_priority(bev)).toBe(2);
    expect(L.bufferevent_priority_set(bev, 0)).toBe(0);
    expect(L.bufferevent_get_priority(bev)).toBe(0);
    expect(L.bufferevent_priority_set(bev, 3)).toBe(0);
    expect(L.bufferevent_get_priority(bev)).toBe(3);
    expect(L.bufferevent_priority_set(bev, 4)).toBe(-1);
    expect(L.bufferevent_priority_set(bev, -1)).toBe(-1);
    expect(L.bufferevent_get_priority(bev)).toBe(3);
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    expect(L.bufferevent_priority_set(pair[0]!, 0)).toBe(-1);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.bufferevent_free(bev);
    L.event_base_free(base);
  });

  it('a higher-priority socket bufferevent has its callbacks run first', async () => {
    const base = L.event_base_new();
    L.event_base_priority_init(base, 2);
    const a = await tcpPair();
    const b = await tcpPair();
    const lo = L.bufferevent_socket_new(base, a.client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const hi = L.bufferevent_socket_new(base, b.client, L.BEV_OPT_CLOSE_ON_FREE)!;
    expect(L.bufferevent_priority_set(lo, 1)).toBe(0);
    expect(L.bufferevent_priority_set(hi, 0)).toBe(0);
    const order: string[] = [];
    setcb(lo, (x) => (order.push('lo'), drainString(x)), null, null, null);
    setcb(hi, (x) => (order.push('hi'), drainString(x)), null, null, null);
    L.bufferevent_enable(lo, L.EV_READ);
    L.bufferevent_enable(hi, L.EV_READ);
    a.server.write('a');
    b.server.write('b');
    // both reads land before the loop runs: the loop then runs priority 0 first
    await waitFor(() => a.server.bytesWritten === 1 && b.server.bytesWritten === 1);
    await runUntil(base, () => order.length === 2);
    expect(order).toEqual(['hi', 'lo']);
    L.bufferevent_free(lo);
    L.bufferevent_free(hi);
    L.event_base_free(base);
    a.server.destroy();
    b.server.destroy();
  });
});

describe('free and CLOSE_ON_FREE (A.9)', () => {
  it('with CLOSE_ON_FREE the socket is closed at finalization, when the loop runs', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const peer = collect(server);
    L.bufferevent_free(bev);
    expect(() => L.bufferevent_getfd(bev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    await runUntil(base, () => peer.ended(), 5000);
    expect(client.destroyed).toBe(true);
    L.event_base_free(base);
    server.destroy();
  });

  it('with CLOSE_ON_FREE a bufferevent freed before the loop runs is closed by event_base_free', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const peer = collect(server);
    L.bufferevent_free(bev);
    await ioBarrier(); // a FIN sent by the free would have arrived by now
    expect(peer.ended()).toBe(false); // not yet: finalization waits for the loop or event_base_free
    L.event_base_free(base);
    await waitFor(() => peer.ended());
    server.destroy();
  });

  it('without CLOSE_ON_FREE the net.Socket given by the user is still open and usable after free', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, 0)!;
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_write(bev, 'via bev;');
    server.write('to bev');
    await runUntil(base, () => L.evbuffer_get_length(L.bufferevent_get_input(bev)) === 6 && L.evbuffer_get_length(L.bufferevent_get_output(bev)) === 0);
    expect(drainString(bev)).toBe('to bev');
    L.bufferevent_free(bev);
    await runFor(base, 20); // finalization runs
    L.event_base_free(base);

    expect(client.destroyed).toBe(false);
    const peer = collect(server);
    const mine = collect(client);
    client.write('via socket');
    server.write('to socket');
    await waitFor(() => peer.data().length === 18 && mine.data().length === 9);
    expect(peer.data().toString()).toBe('via bev;via socket');
    expect(mine.data().toString()).toBe('to socket');
    client.end();
    await waitFor(() => peer.ended());
    server.end();
    await waitFor(() => mine.ended());
    client.destroy();
    server.destroy();
  });

  it('unwritten output is discarded at free, not flushed', async () => {
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const peer = collect(server);
    L.bufferevent_disable(bev, L.EV_WRITE);
    L.bufferevent_write(bev, 'never sent');
    L.bufferevent_free(bev);
    await runUntil(base, () => peer.ended());
    expect(peer.data().length).toBe(0);
    L.event_base_free(base);
    server.destroy();
  });
});

describe('obsolete socket API (bufferevent_compat.h)', () => {
  it('bufferevent_new makes a socket bufferevent with callbacks on the current base', async () => {
    const base = L.event_init();
    const { client, server } = await tcpPair();
    const reads: string[] = [];
    const arg = { tag: 1 };
    let seenArg: unknown = null;
    const bev = L.bufferevent_new(
      client,
      (b: L.Bufferevent, a: unknown) => {
        seenArg = a;
        reads.push(drainString(b));
      },
      null,
      null,
      arg,
    )!;
    expect(bev).not.toBeNull();
    expect(L.bufferevent_get_base(bev)).toBe(base);
    L.bufferevent_enable(bev, L.EV_READ);
    server.write('old api');
    await runUntil(base, () => reads.length > 0);
    expect(reads.join('')).toBe('old api');
    expect(seenArg).toBe(arg);
    L.bufferevent_free(bev); // options 0: the socket stays open; close it ourselves
    L.event_base_free(base);
    client.destroy();
    server.destroy();
  });

  it('bufferevent_base_set moves an idle socket bufferevent to another base', async () => {
    const a = L.event_base_new();
    const b = L.event_base_new();
    const bev = L.bufferevent_socket_new(a, -1, 0)!;
    const log = record(bev);
    expect(L.bufferevent_base_set(b, bev)).toBe(0);
    expect(L.bufferevent_get_base(bev)).toBe(b);
    L.bufferevent_set_timeouts(bev, tv(50), null);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(await L.event_base_loop(a, L.EVLOOP_NONBLOCK)).toBe(1); // nothing pending on the old base
    await runUntil(b, () => log.events.length > 0, 3000);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    L.bufferevent_free(bev);
    L.event_base_free(a);
    L.event_base_free(b);
  });

  it('bufferevent_base_set fails while an event is pending (after changing the base, as libevent does)', () => {
    const a = L.event_base_new();
    const b = L.event_base_new();
    const bev = L.bufferevent_socket_new(a, -1, 0)!;
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_base_set(b, bev)).toBe(-1);
    expect(L.bufferevent_get_base(bev)).toBe(b); // QUIRK (C16)
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(a, 0, pair);
    expect(L.bufferevent_base_set(b, pair[0]!)).toBe(-1);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.bufferevent_disable(bev, L.EV_READ);
    L.bufferevent_free(bev);
    L.event_base_free(a);
    L.event_base_free(b);
  });
});

describe('streaming over loopback', () => {
  it('4 MiB in random chunks arrive byte-exact, the receiver input never exceeds its read high watermark', async () => {
    const TOTAL = 4 * 1024 * 1024;
    const HIGH = 40_000;
    const WLOW = 32 * 1024;
    const rnd = prng(0x5eed);
    const src = randBytes(rnd, TOTAL);
    const base = L.event_base_new();
    const { client, server } = await tcpPair();
    const tx = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
    const rx = L.bufferevent_socket_new(base, server, L.BEV_OPT_CLOSE_ON_FREE)!;
    const dst = new Uint8Array(TOTAL);
    let sent = 0;
    let got = 0;
    let maxSeen = 0;
    let overHigh = 0;
    let refills = 0;
    let rxEvents: number[] = [];
    let txFreed = false;

    const refill = (): void => {
      refills++;
      // top the output up to a random level above the low watermark
      const target = WLOW + randInt(rnd, 1, 96 * 1024);
      const out = L.bufferevent_get_output(tx);
      while (sent < TOTAL && L.evbuffer_get_length(out) < target) {
        const n = Math.min(TOTAL - sent, randInt(rnd, 1, 20_000));
        expect(L.bufferevent_write(tx, src.subarray(sent, sent + n))).toBe(0);
        sent += n;
      }
    };
    L.bufferevent_setwatermark(tx, L.EV_WRITE, WLOW, 0);
    setcb(
      tx,
      null,
      (b) => {
        expect(L.evbuffer_get_length(L.bufferevent_get_output(b))).toBeLessThanOrEqual(WLOW);
        if (sent < TOTAL) refill();
        else if (L.evbuffer_get_length(L.bufferevent_get_output(b)) === 0 && !txFreed) {
          txFreed = true;
          L.bufferevent_free(b); // closes: the receiver sees EOF after the last byte
        }
      },
      null,
      null,
    );

    const take = (n: number): void => {
      const k = L.bufferevent_read(rx, dst.subarray(got, got + n), n);
      got += k;
    };
    L.bufferevent_setwatermark(rx, L.EV_READ, 0, HIGH);
    setcb(
      rx,
      (b) => {
        const len = L.evbuffer_get_length(L.bufferevent_get_input(b));
        maxSeen = Math.max(maxSeen, len);
        if (len > HIGH) overHigh++;
        // drain a random part; what is left (possibly at high) is fine: reading resumes once below high
        take(randInt(rnd, 1, len));
      },
      null,
      (b, what) => {
        rxEvents.push(what);
        take(L.evbuffer_get_length(L.bufferevent_get_input(b)));
      },
      null,
    );
    L.bufferevent_enable(rx, L.EV_READ);
    refill();
    await runUntil(base, () => rxEvents.length > 0, 60_000);

    expect(rxEvents).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    expect(sent).toBe(TOTAL);
    expect(got).toBe(TOTAL);
    expect(overHigh).toBe(0);
    expect(maxSeen).toBeLessThanOrEqual(HIGH);
    expect(maxSeen).toBeGreaterThan(0);
    expect(refills).toBeGreaterThan(10);
    expect(Buffer.compare(Buffer.from(dst), Buffer.from(src))).toBe(0);
    L.bufferevent_free(rx);
    L.event_base_free(base);
  }, 60_000);
});

describe('event base loopexit timers (event/base.ts)', () => {
  // BUG: a second event_base_loopexit(tv) replaces the first timer (libevent adds one once-event per call, so the earliest wins)
  it('two loopexit timeouts: the earlier one ends the loop', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    L.bufferevent_enable(bev, L.EV_READ); // something pending, so only loopexit ends the loop
    L.event_base_loopexit(base, tv(30));
    L.event_base_loopexit(base, tv(1500));
    const t0 = Date.now();
    await L.event_base_dispatch(base);
    const took = Date.now() - t0;
    L.bufferevent_free(bev);
    L.event_base_free(base);
    expect(took).toBeLessThan(1000);
  });

  it('once its loopexit timers have fired, a base with nothing pending is empty again', async () => {
    const base = L.event_base_new();
    L.event_base_loopexit(base, tv(10));
    L.event_base_loopexit(base, tv(10));
    await L.event_base_dispatch(base);
    // the second timer fires on its own when it did not fire with the first: run until the base reports empty
    let r = 0;
    for (let i = 0; i < 2000 && r !== 1; i++) {
      r = await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      if (r !== 1) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    L.event_base_free(base);
    expect(r).toBe(1);
  });
});
