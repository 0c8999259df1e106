/**
 * A TCP proxy in the manner of libevent's sample/le-proxy.c, on the bufferevent basics of the libevent book
 * ("Bufferevents: concepts and basics": read_callback_proxy, watermarks, enabling and disabling), ported to the flat
 * API.
 *
 * Every accepted connection gets a second, outgoing connection to the upstream server. The read callback of either
 * side moves everything it received into the output of the other side (bufferevent_read_buffer in the book; here
 * evbuffer_add_buffer, which is the same move).
 *
 * Backpressure: when one side receives faster than the other can send, the other side's output grows without bound.
 * So once that output reaches a high mark, the proxy stops reading on the receiving side and gives the sending side a
 * write callback with a write low-water mark of half the high mark. The write callback runs once the output has
 * drained down to that mark; it removes itself, resets the watermark and turns reading back on.
 *
 *   node_modules/.bin/node examples/proxy.ts [listen-port] [upstream-host:port]
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
  bufferevent_socket_connect,
  bufferevent_setcb,
  bufferevent_setwatermark,
  bufferevent_enable,
  bufferevent_disable,
  bufferevent_free,
  bufferevent_get_input,
  bufferevent_get_output,
  evbuffer_get_length,
  evbuffer_add_buffer,
  evbuffer_drain,
  evutil_parse_sockaddr_port,
  evutil_socket_error_to_string,
  EVUTIL_SOCKET_ERROR,
  EV_READ,
  EV_WRITE,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_OPT_DEFER_CALLBACKS,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  LEV_OPT_CLOSE_ON_FREE,
  LEV_OPT_REUSEABLE,
  type Bufferevent,
  type EventBase,
  type Evconnlistener,
  type Sockaddr,
} from '../src/index.ts';

export interface ProxyOptions {
  host?: string;
  /** The port to listen on; 0 picks a free one, reported through `onListen`. */
  port: number;
  upstreamHost?: string;
  upstreamPort: number;
  /** The output size at which the other side stops reading (le-proxy's MAX_OUTPUT). Default 512 KiB. */
  maxOutput?: number;
  /** Stop after this many proxied connections have closed (default: serve forever). */
  connections?: number;
  onListen?: (port: number) => void;
  out?: (text: string) => void;
}

interface ProxyState {
  base: EventBase;
  listener: Evconnlistener | null;
  upstream: Sockaddr;
  maxOutput: number;
  out: (text: string) => void;
  closed: number;
  maxConnections: number;
}

/** One proxied connection: the accepted side and the upstream side. */
interface Conn {
  proxy: ProxyState;
  peer: string;
  open: number;
  pauses: number;
}

/**
 * One side of a connection: the callbacks' argument. le-proxy passes the partner bufferevent (or NULL once the
 * partner is gone); `partner` plays that part here.
 */
interface Side {
  bev: Bufferevent;
  partner: Side | null;
  conn: Conn;
}

function free_side(side: Side): void {
  bufferevent_free(side.bev);
  const conn = side.conn;
  if (--conn.open > 0) return;
  const p = conn.proxy;
  p.out(`Closed the connection from ${conn.peer}; reading was paused ${conn.pauses} times to let the other side drain\n`);
  if (++p.closed >= p.maxConnections && p.listener) {
    evconnlistener_free(p.listener);
    p.listener = null;
    event_base_loopexit(p.base, null);
  }
}

function readcb(bev: Bufferevent, ctx: unknown): void {
  const side = ctx as Side;
  const partner = side.partner;
  const src = bufferevent_get_input(bev);
  const len = evbuffer_get_length(src);
  if (!partner) {
    // The other side is gone: nobody to pass this to.
    evbuffer_drain(src, len);
    return;
  }
  const dst = bufferevent_get_output(partner.bev);
  // Move (not copy) everything we read to the other side's output; the other bufferevent sends it as fast as its
  // socket takes it.
  evbuffer_add_buffer(dst, src);

  const max = side.conn.proxy.maxOutput;
  if (evbuffer_get_length(dst) >= max) {
    // We're giving the other side data faster than it can pass it on. Stop reading here until the other side has
    // drained its output to max/2 bytes: its write callback runs when a write leaves the output at or below the
    // write low-water mark.
    side.conn.pauses++;
    bufferevent_setcb(partner.bev, readcb, drained_writecb, eventcb, partner);
    bufferevent_setwatermark(partner.bev, EV_WRITE, max / 2, max);
    bufferevent_disable(bev, EV_READ);
  }
}

function drained_writecb(bev: Bufferevent, ctx: unknown): void {
  const side = ctx as Side;
  // We were choking the other side until we drained our output a bit. Now it seems drained: no more write callback,
  // the write low-water mark back to 0, and the other side may read again.
  bufferevent_setcb(bev, readcb, null, eventcb, side);
  bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
  if (side.partner) bufferevent_enable(side.partner.bev, EV_READ);
}

function close_on_finished_writecb(bev: Bufferevent, ctx: unknown): void {
  const side = ctx as Side;
  // The write callback runs when the output drains to the write low-water mark; close only once it is empty.
  if (evbuffer_get_length(bufferevent_get_output(bev)) === 0) free_side(side);
}

function eventcb(bev: Bufferevent, what: number, ctx: unknown): void {
  const side = ctx as Side;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (what & BEV_EVENT_ERROR) {
      const err = EVUTIL_SOCKET_ERROR();
      if (err) side.conn.proxy.out(`connection error: ${evutil_socket_error_to_string(err)}\n`);
    }
    const partner = side.partner;
    if (partner) {
      // Flush all pending data
      readcb(bev, ctx);

      if (evbuffer_get_length(bufferevent_get_output(partner.bev))) {
        // We still have to flush data from the other side, but when that's done, close the other side.
        partner.partner = null;
        bufferevent_setcb(partner.bev, null, close_on_finished_writecb, eventcb, partner);
        bufferevent_disable(partner.bev, EV_READ);
      } else {
        // We have nothing left to say to the other side; close it.
        free_side(partner);
      }
    }
    free_side(side);
  }
}

function accept_cb(
  _listener: Evconnlistener,
  fd: net.Socket,
  sa: { address: string; port: number },
  _socklen: number,
  ctx: unknown,
): void {
  const p = ctx as ProxyState;
  // Deferred callbacks: a callback never runs inside another one (a read on one side that fills the other side's
  // output would otherwise run the other side's callbacks right there).
  const b_in = bufferevent_socket_new(p.base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)!;
  const b_out = bufferevent_socket_new(p.base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)!;

  // Data that arrives from the client before the upstream connection is up simply waits in b_out's output.
  if (bufferevent_socket_connect(b_out, p.upstream, 0) < 0) {
    p.out('bufferevent_socket_connect failed\n');
    bufferevent_free(b_out);
    bufferevent_free(b_in);
    return;
  }
  const conn: Conn = { proxy: p, peer: `${sa.address}:${sa.port}`, open: 2, pauses: 0 };
  const sideIn: Side = { bev: b_in, partner: null, conn };
  const sideOut: Side = { bev: b_out, partner: sideIn, conn };
  sideIn.partner = sideOut;
  p.out(`Accepted a connection from ${conn.peer}\n`);

  bufferevent_setcb(b_in, readcb, null, eventcb, sideIn);
  bufferevent_setcb(b_out, readcb, null, eventcb, sideOut);

  bufferevent_enable(b_in, EV_READ | EV_WRITE);
  bufferevent_enable(b_out, EV_READ | EV_WRITE);
}

export async function main(opts: ProxyOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  // the host alone (libevent rejects an explicit port 0), then the port: 0 lets the kernel pick one
  const listenOnHost = evutil_parse_sockaddr_port(opts.host ?? '127.0.0.1');
  const listenOn = listenOnHost && { ...listenOnHost, port: opts.port ?? 0 };
  const upstream = evutil_parse_sockaddr_port(`${opts.upstreamHost ?? '127.0.0.1'}:${opts.upstreamPort}`);
  if (listenOn === null || upstream === null) throw new Error('bad address');

  const base = event_base_new();
  const p: ProxyState = {
    base,
    listener: null,
    upstream,
    maxOutput: opts.maxOutput ?? 512 * 1024,
    out,
    closed: 0,
    maxConnections: opts.connections ?? Infinity,
  };
  p.listener = evconnlistener_new_bind(base, accept_cb, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, listenOn);
  if (!p.listener) {
    out('Couldn\'t open listener.\n');
    event_base_free(base);
    return -1;
  }
  const port = evconnlistener_get_port(p.listener);
  out(`Proxying ${opts.host ?? '127.0.0.1'}:${port} to ${upstream.address}:${upstream.port}\n`);
  opts.onListen?.(port);

  await event_base_dispatch(base);
  if (p.listener) evconnlistener_free(p.listener);
  event_base_free(base);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, upstream] = process.argv.slice(2);
  const m = /^(.*):(\d+)$/.exec(upstream ?? '');
  if (!port || !m) {
    console.log('Syntax: node_modules/.bin/node examples/proxy.ts [listen-port] [upstream-host:port]');
    process.exitCode = 1;
  } else {
    process.exitCode = (await main({ port: Number(port), upstreamHost: m[1], upstreamPort: Number(m[2]) })) === 0 ? 0 : 1;
  }
}
