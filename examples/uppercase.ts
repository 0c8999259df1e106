/**
 * An uppercasing echo server: the read callback of "Manipulating data in a bufferevent" (libevent book, Bufferevents:
 * concepts and basics) moved into a filtering bufferevent ("Bufferevents: advanced topics"), behind an
 * evconnlistener ("Connection listeners"), ported to the flat API.
 *
 * The book's read_callback_uppercase() takes the input 128 bytes at a time, uppercases it and writes it back. Here the
 * uppercasing is the input filter of a filtering bufferevent stacked on the socket bufferevent, so the read callback
 * only sees uppercase data and echoes it unchanged, with the same 128-byte loop.
 *
 *   node_modules/.bin/node examples/uppercase.ts [port]      then e.g.  echo hello | nc 127.0.0.1 [port]
 */
import type net from 'node:net';
import {
  event_base_new,
  event_base_free,
  event_base_dispatch,
  event_base_loopexit,
  evconnlistener_new_bind,
  evconnlistener_free,
  evconnlistener_get_port,
  bufferevent_socket_new,
  bufferevent_filter_new,
  bufferevent_setcb,
  bufferevent_enable,
  bufferevent_free,
  bufferevent_read,
  bufferevent_write,
  evbuffer_remove,
  evbuffer_add,
  evutil_parse_sockaddr_port,
  evutil_socket_error_to_string,
  EVUTIL_SOCKET_ERROR,
  EV_READ,
  EV_WRITE,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  BEV_OK,
  BEV_NEED_MORE,
  LEV_OPT_CLOSE_ON_FREE,
  LEV_OPT_REUSEABLE,
  type Bufferevent,
  type Evbuffer,
  type EventBase,
  type Evconnlistener,
} from '../src/index.ts';

export interface UppercaseOptions {
  host?: string;
  /** 0 picks a free port; `onListen` tells which. */
  port: number;
  /** Stop after this many connections have closed (default: serve forever). */
  connections?: number;
  onListen?: (port: number) => void;
  out?: (text: string) => void;
}

interface Server {
  base: EventBase;
  listener: Evconnlistener | null;
  out: (text: string) => void;
  closed: number;
  maxConnections: number;
}

interface Conn {
  server: Server;
  peer: string;
}

const a = 'a'.charCodeAt(0);
const z = 'z'.charCodeAt(0);

/**
 * The input filter: libevent calls it with the underlying bufferevent's input as `src` and the filtering
 * bufferevent's input as `dst`. It may write at most `dst_limit` bytes (-1: no limit; the limit keeps the read
 * high-water mark of the filtering bufferevent). It returns BEV_OK when it produced something, BEV_NEED_MORE when it
 * needs more input first (BEV_ERROR would report an error through the event callback).
 *
 * (As the book warns about toupper(), a real protocol should not depend on a locale: this only maps ASCII a-z.)
 */
function uppercase_filter(src: Evbuffer, dst: Evbuffer, dst_limit: number, _mode: number, _ctx: unknown): number {
  const tmp = new Uint8Array(128);
  let room = dst_limit < 0 ? Infinity : dst_limit;
  let produced = 0;
  while (room > 0) {
    const n = evbuffer_remove(src, tmp, Math.min(tmp.length, room));
    if (n <= 0) break; /* No more data. */
    for (let i = 0; i < n; ++i) if (tmp[i]! >= a && tmp[i]! <= z) tmp[i] = tmp[i]! - 32;
    evbuffer_add(dst, tmp, n);
    produced += n;
    room -= n;
  }
  return produced > 0 ? BEV_OK : BEV_NEED_MORE;
}

/** read_callback_uppercase() from the book, minus the toupper(): the filter has done that already. */
function read_callback_echo(bev: Bufferevent, _ctx: unknown): void {
  // This callback removes the data from bev's input buffer 128 bytes at a time and starts sending it back. Writing to
  // the filtering bufferevent runs its output filter (here none: the data passes through unchanged) into the socket
  // bufferevent's output.
  const tmp = new Uint8Array(128);
  for (;;) {
    const n = bufferevent_read(bev, tmp, tmp.length);
    if (n <= 0) break; /* No more data. */
    bufferevent_write(bev, tmp, n);
  }
}

function event_callback(bev: Bufferevent, events: number, ctx: unknown): void {
  const conn = ctx as Conn;
  const srv = conn.server;
  if (events & BEV_EVENT_ERROR) {
    srv.out(`Error on the connection from ${conn.peer}: ${evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())}\n`);
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    srv.out(`Closed the connection from ${conn.peer}\n`);
    // The filter was made with BEV_OPT_CLOSE_ON_FREE: freeing it frees the socket bufferevent under it, which closes
    // the socket. (Anything still unsent is dropped: this server answers before the client hangs up.)
    bufferevent_free(bev);
    if (++srv.closed >= srv.maxConnections && srv.listener) {
      evconnlistener_free(srv.listener);
      srv.listener = null;
      event_base_loopexit(srv.base, null);
    }
  }
}

/** The listener's callback: a new connection, as a socket (the C version gets a file descriptor). */
function accept_conn_cb(
  _listener: Evconnlistener,
  fd: net.Socket,
  sa: { address: string; port: number },
  _socklen: number,
  ctx: unknown,
): void {
  const srv = ctx as Server;
  const conn: Conn = { server: srv, peer: `${sa.address}:${sa.port}` };
  srv.out(`Accepted a connection from ${conn.peer}\n`);

  // A socket bufferevent does the I/O; the filtering bufferevent over it is what the callbacks see. With
  // BEV_OPT_CLOSE_ON_FREE each one, when freed, closes what is under it (the socket; the socket bufferevent).
  const bev = bufferevent_socket_new(srv.base, fd, BEV_OPT_CLOSE_ON_FREE)!;
  const filtered = bufferevent_filter_new(bev, uppercase_filter, null, BEV_OPT_CLOSE_ON_FREE, null, null)!;

  bufferevent_setcb(filtered, read_callback_echo, null, event_callback, conn);
  bufferevent_enable(filtered, EV_READ | EV_WRITE);
}

export async function main(opts: UppercaseOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const base = event_base_new();
  const srv: Server = { base, listener: null, out, closed: 0, maxConnections: opts.connections ?? Infinity };

  // the host alone (libevent rejects an explicit port 0), then the port: 0 lets the kernel pick one
  const sinHost = evutil_parse_sockaddr_port(opts.host ?? '127.0.0.1');
  const sin = sinHost && { ...sinHost, port: opts.port ?? 0 };
  if (sin === null) throw new Error(`not an address: ${opts.host}`);
  // Bind, listen, and call accept_conn_cb from the loop for every new connection.
  srv.listener = evconnlistener_new_bind(base, accept_conn_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, sin);
  if (srv.listener === null) {
    out(`Could not listen on ${opts.host ?? '127.0.0.1'}:${opts.port}\n`);
    event_base_free(base);
    return -1;
  }
  const port = evconnlistener_get_port(srv.listener);
  out(`Listening on ${opts.host ?? '127.0.0.1'}:${port}\n`);
  opts.onListen?.(port);

  await event_base_dispatch(base);
  if (srv.listener) evconnlistener_free(srv.listener);
  event_base_free(base);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = (await main({ port: Number(process.argv[2] ?? 9995) })) === 0 ? 0 : 1;
}
