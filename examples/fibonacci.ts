/**
 * write_callback_fibonacci() from "Manipulating data in a bufferevent" (libevent book, Bufferevents: concepts and
 * basics), ported to the flat API, in a server that sends every client a long stream of Fibonacci numbers.
 *
 * The output buffer is refilled from the write callback: by default a bufferevent runs its write callback when a write
 * leaves the output empty (the write low-water mark is 0). The callback adds about 1 KiB of numbers each time, so the
 * whole response never sits in memory; once `bytes` have been generated it stops adding, and when the output has
 * drained the connection is closed.
 *
 * As in C, the numbers are `unsigned long` (64 bits here) and wrap around; they are written back to back with "%lu",
 * with no separator, exactly as the book's callback does.
 *
 *   node_modules/.bin/node examples/fibonacci.ts [port] [bytes]      then e.g.  nc 127.0.0.1 [port] | head -c 200
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
  bufferevent_setcb,
  bufferevent_enable,
  bufferevent_free,
  bufferevent_write_buffer,
  bufferevent_get_output,
  evbuffer_new,
  evbuffer_free,
  evbuffer_get_length,
  evbuffer_add_printf,
  evutil_parse_sockaddr_port,
  evutil_socket_error_to_string,
  EVUTIL_SOCKET_ERROR,
  EV_WRITE,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  LEV_OPT_CLOSE_ON_FREE,
  LEV_OPT_REUSEABLE,
  type Bufferevent,
  type EventBase,
  type Evconnlistener,
} from '../src/index.ts';

export interface FibonacciOptions {
  host?: string;
  /** 0 picks a free port; `onListen` tells which. */
  port: number;
  /** How many bytes of numbers to send each client (at least; the last refill may go up to 1 KiB beyond). */
  bytes?: number;
  /** Stop after this many clients have been served (default: serve forever). */
  connections?: number;
  onListen?: (port: number) => void;
  out?: (text: string) => void;
}

interface Server {
  base: EventBase;
  listener: Evconnlistener | null;
  out: (text: string) => void;
  bytes: number;
  served: number;
  maxConnections: number;
}

/** The book's `struct count`, plus what this server needs to know when to stop. */
interface Count {
  last_fib: [bigint, bigint];
  generated: number;
  server: Server;
  peer: string;
}

const ULONG_BITS = 64;

function write_callback_fibonacci(bev: Bufferevent, ctx: unknown): void {
  // Here's a callback that adds some Fibonacci numbers to the output buffer of bev. It stops once we have added 1k
  // of data; once this data is drained, we'll add more.
  const c = ctx as Count;

  if (c.generated >= c.server.bytes) {
    // Everything was generated, and the write callback runs when the output is empty again: all of it was sent.
    finish(bev, c, 'Sent');
    return;
  }

  const tmp = evbuffer_new();
  while (evbuffer_get_length(tmp) < 1024) {
    const next = BigInt.asUintN(ULONG_BITS, c.last_fib[0] + c.last_fib[1]); // unsigned long wraps around
    c.last_fib[0] = c.last_fib[1];
    c.last_fib[1] = next;

    evbuffer_add_printf(tmp, '%lu', next);
  }
  c.generated += evbuffer_get_length(tmp);

  // Now we add the whole contents of tmp to bev.
  bufferevent_write_buffer(bev, tmp);

  // We don't need tmp any longer.
  evbuffer_free(tmp);
}

function event_callback(bev: Bufferevent, events: number, ctx: unknown): void {
  const c = ctx as Count;
  if (events & BEV_EVENT_ERROR) {
    c.server.out(`Error on the connection from ${c.peer}: ${evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())}\n`);
  }
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) finish(bev, c, 'Client left after');
}

function finish(bev: Bufferevent, c: Count, how: string): void {
  const srv = c.server;
  const unsent = evbuffer_get_length(bufferevent_get_output(bev));
  srv.out(`${how} ${c.generated - unsent} bytes of Fibonacci numbers to ${c.peer}\n`);
  bufferevent_free(bev); // BEV_OPT_CLOSE_ON_FREE: closes the socket
  if (++srv.served >= srv.maxConnections && srv.listener) {
    evconnlistener_free(srv.listener);
    srv.listener = null;
    event_base_loopexit(srv.base, null);
  }
}

function accept_cb(
  _listener: Evconnlistener,
  fd: net.Socket,
  sa: { address: string; port: number },
  _socklen: number,
  ctx: unknown,
): void {
  const srv = ctx as Server;
  const c: Count = { last_fib: [0n, 1n], generated: 0, server: srv, peer: `${sa.address}:${sa.port}` };
  const bev = bufferevent_socket_new(srv.base, fd, BEV_OPT_CLOSE_ON_FREE)!;
  // Only a write callback (and the event callback, for a client that goes away early). Reading stays disabled:
  // whatever the client sends is ignored.
  bufferevent_setcb(bev, null, write_callback_fibonacci, event_callback, c);
  bufferevent_enable(bev, EV_WRITE);
  // The write callback runs after a write has emptied the output, and nothing has been written yet: prime the pump
  // by calling it once.
  write_callback_fibonacci(bev, c);
}

export async function main(opts: FibonacciOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const base = event_base_new();
  const srv: Server = {
    base,
    listener: null,
    out,
    bytes: opts.bytes ?? 1024 * 1024,
    served: 0,
    maxConnections: opts.connections ?? Infinity,
  };
  // the host alone (libevent rejects an explicit port 0), then the port: 0 lets the kernel pick one
  const sinHost = evutil_parse_sockaddr_port(opts.host ?? '127.0.0.1');
  const sin = sinHost && { ...sinHost, port: opts.port ?? 0 };
  if (sin === null) throw new Error(`not an address: ${opts.host}`);
  srv.listener = evconnlistener_new_bind(base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, sin);
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
  const [port, bytes] = process.argv.slice(2);
  process.exitCode = (await main({ port: Number(port ?? 9996), bytes: bytes ? Number(bytes) : undefined })) === 0 ? 0 : 1;
}
