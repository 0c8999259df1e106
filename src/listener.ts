import net from 'node:net';
import { EvCallback, EventBase } from './event/base.ts';
import { toSockaddr } from './sockaddr.ts';
import { freedError, isLibraryError, typeError, cloneGuard, errnoOf } from './errors.ts';
import { setSocketError } from './bufferevent/core.ts';
import { fnOrNull, intArg, maskArg } from './validate.ts';

export const LEV_OPT_LEAVE_SOCKETS_BLOCKING = 1 << 0;
export const LEV_OPT_CLOSE_ON_FREE = 1 << 1;
export const LEV_OPT_CLOSE_ON_EXEC = 1 << 2;
export const LEV_OPT_REUSEABLE = 1 << 3;
export const LEV_OPT_THREADSAFE = 1 << 4;
export const LEV_OPT_DISABLED = 1 << 5;
export const LEV_OPT_DEFERRED_ACCEPT = 1 << 6;
export const LEV_OPT_REUSEABLE_PORT = 1 << 7;
export const LEV_OPT_BIND_IPV6ONLY = 1 << 8;

export type EvconnlistenerCb = (lev: Evconnlistener, fd: net.Socket, sa: { family: string; address: string; port: number }, socklen: number, ptr: unknown) => void;
export type EvconnlistenerErrorCb = (lev: Evconnlistener, ptr: unknown) => void;

/** Where a listener's socket comes from: an address to bind (evconnlistener_new_bind) or a socket the caller made. */
export type ListenSource = { bind: { family: 4 | 6; address: string; port: number } } | { server: net.Server } | { fd: number };

const LISTENER_CLONE_GUARD = cloneGuard(
  'a listener',
  'it accepts on its base\'s thread; make the listener on the thread that runs the base, or let startRuntime() hand connections to workers',
);

/** The error listener of an accepted socket until the callback has it (one function for every socket). */
function ignoreEarlyError(): void {}

/**
 * evconnlistener: a listening TCP socket whose accepted connections are handed to a callback from the loop.
 * Accepted sockets arrive paused (nothing is read before a bufferevent takes them), with half-close allowed.
 * @thread base owner only. The `net.Socket` given to the callback may be handed to a worker with
 * `postMessage(msg, [socket])` (Node >= 24.20).
 */
export class Evconnlistener {
  /** @internal Makes postMessage(this) fail with a message naming what to post instead (errors.ts cloneGuard). */
  readonly cloneGuard = LISTENER_CLONE_GUARD;
  /** @internal */ readonly server: net.Server;
  /** @internal */ readonly base: EventBase;
  /** @internal */ cb: EvconnlistenerCb | null;
  /** @internal */ errorcb: EvconnlistenerErrorCb | null = null;
  /** @internal */ readonly ptr: unknown;
  /** @internal */ readonly flags: number;
  /** @internal */ enabled: boolean;
  /** @internal */ freed = false;
  /** @internal accepted connections and accept errors, delivered in order from the loop */
  private queue: Array<net.Socket | NodeJS.ErrnoException> = [];
  /** @internal */ private readonly ev: EvCallback;
  /** @internal */ private port = 0;
  /** @internal true when the caller made the socket: it stays open at free without LEV_OPT_CLOSE_ON_FREE */
  private readonly borrowed: boolean;
  private readonly onConnection = (s: net.Socket): void => {
    s.on('error', ignoreEarlyError); // until a bufferevent owns it, an early reset must not crash the process
    this.push(s);
  };
  /** Accept errors (EMFILE, ENFILE, ...): Node emits them on the server, which keeps listening, as libevent's. */
  private readonly onError = (e: NodeJS.ErrnoException): void => {
    if (this.listening) this.push(e);
  };

  constructor(base: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, src: ListenSource) {
    if (!(base instanceof EventBase) || !src || typeof src !== 'object') throw typeError('base', 'an EventBase (use evconnlistener_new_bind)', base);
    this.base = base;
    this.cb = cb;
    this.ptr = ptr;
    this.flags = flags;
    this.enabled = (flags & LEV_OPT_DISABLED) === 0;
    this.ev = new EvCallback(base, () => this.deliver(), Math.floor(base.npriorities / 2));
    this.borrowed = 'server' in src;
    if ('server' in src) {
      this.server = src.server;
      // what a listener's own server is made with: accepted sockets paused, half-close allowed
      const opts = this.server as unknown as { pauseOnConnect: boolean; allowHalfOpen: boolean };
      opts.pauseOnConnect = true;
      opts.allowHalfOpen = true;
    } else {
      this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    }
    this.server.on('connection', this.onConnection);
    this.server.on('error', this.onError);
    if (!this.borrowed) this.server.on('error', () => {}); // ours: a late error (after free) must not crash the process
    const bl = backlog > 0 ? backlog : 511;
    if ('bind' in src) bindNow(this.server, src.bind, bl, (flags & LEV_OPT_REUSEABLE_PORT) !== 0, (flags & LEV_OPT_BIND_IPV6ONLY) !== 0);
    else if ('fd' in src) this.server.listen({ fd: src.fd, backlog: bl });
    const addr = this.server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    this.server.unref(); // the loop keeps the thread alive while it runs; the listener counts as a pending event
    if (this.enabled) base.nAdded++;
  }

  private push(x: net.Socket | NodeJS.ErrnoException): void {
    this.queue.push(x);
    if (this.enabled) this.base.activate(this.ev, 2);
  }

  /** @internal */
  get listening(): boolean {
    return this.port !== 0;
  }

  private deliver(): void {
    while (this.enabled && !this.freed && this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (!(s instanceof net.Socket)) {
        // listener_read_cb's accept failure: the error callback, with EVUTIL_SOCKET_ERROR() set; listening goes on
        setSocketError(errnoOf(s));
        const ecb = this.errorcb;
        if (ecb) ecb(this, this.ptr);
        continue;
      }
      const cb = this.cb;
      if (!cb) {
        s.destroy();
        continue;
      }
      const sa = { family: s.remoteFamily ?? 'IPv4', address: s.remoteAddress ?? '', port: s.remotePort ?? 0 };
      s.off('error', ignoreEarlyError); // off, not removeAllListeners: a socket's listener table stays a fast object
      cb(this, s, sa, 0, this.ptr);
    }
  }

  live(): void {
    if (this.freed) throw freedError('evconnlistener');
  }

  enable(): number {
    this.live();
    if (!this.enabled) {
      this.enabled = true;
      this.base.nAdded++;
      if (this.queue.length > 0) this.base.activate(this.ev, 2);
    }
    return 0;
  }

  disable(): number {
    this.live();
    if (this.enabled) {
      this.enabled = false;
      this.base.unpend();
    }
    return 0;
  }

  getFd(): number {
    this.live();
    const h = (this.server as unknown as { _handle?: { fd?: number } })._handle;
    return typeof h?.fd === 'number' ? h.fd : -1;
  }

  getPort(): number {
    this.live();
    return this.port;
  }

  /** evconnlistener_set_cb: the callback for accepted connections (null: accepted ones are closed). Re-enables a listener disabled by null. */
  setCb(cb: EvconnlistenerCb | null, _arg?: unknown): void {
    this.live();
    this.cb = fnOrNull<EvconnlistenerCb>(cb, 'cb');
  }

  /** evconnlistener_set_error_cb: called from the loop when an accept fails (the listener keeps listening). */
  setErrorCb(errorcb: EvconnlistenerErrorCb | null): void {
    this.live();
    this.errorcb = fnOrNull<EvconnlistenerErrorCb>(errorcb, 'errorcb');
  }

  /** evconnlistener_get_base */
  getBase(): EventBase {
    this.live();
    return this.base;
  }

  /** `using lev = ...`: evconnlistener_free at the end of the scope (nothing when it was freed already). */
  [Symbol.dispose](): void {
    if (!this.freed) this.free();
  }

  /** evconnlistener_free. The listening socket is closed (Node owns no other reference to it); queued, not yet
   * delivered connections are closed too. */
  free(): void {
    this.live();
    this.disable();
    this.freed = true;
    this.base.deactivate(this.ev);
    for (const s of this.queue) if (s instanceof net.Socket) s.destroy();
    this.queue = [];
    this.server.off('connection', this.onConnection);
    this.server.off('error', this.onError);
    // a socket the caller made is theirs to close, unless they asked us to (as libevent's LEV_OPT_CLOSE_ON_FREE)
    if (!this.borrowed || this.flags & LEV_OPT_CLOSE_ON_FREE) this.server.close();
  }
}

/**
 * Bind and listen synchronously, so the port is known when evconnlistener_new_bind returns (libevent's bind is
 * synchronous; `server.listen({ host })` resolves the host first and binds a tick later). Uses Node's internal
 * `_listen2` (setupListenHandle), with UV_TCP_REUSEPORT (2) for LEV_OPT_REUSEABLE_PORT; falls back to `listen`.
 */
function bindNow(server: net.Server, sa: { family: 4 | 6; address: string; port: number }, backlog: number, reusePort: boolean, ipv6Only: boolean): void {
  const internal = server as unknown as { _listen2?: (a: string, p: number, t: number, b: number, fd: undefined, f: number) => void };
  if (typeof internal._listen2 === 'function' && net.isIP(sa.address)) {
    // libuv's bind flags: UV_TCP_IPV6ONLY 1, UV_TCP_REUSEPORT 2
    internal._listen2(sa.address, sa.port, sa.family, backlog, undefined, (ipv6Only ? 1 : 0) | (reusePort ? 2 : 0));
  } else {
    server.listen({ host: sa.address, port: sa.port, backlog, reusePort, ipv6Only, exclusive: true });
  }
}

export function evconnlistenerNewBind(base: unknown, cb: unknown, ptr: unknown, flags: unknown, backlog: unknown, sa: unknown): Evconnlistener | null {
  const a = listenerArgs(base, cb, flags, backlog);
  return openListener(a.base, a.cb, ptr, a.flags, a.backlog, { bind: toSockaddr(sa) });
}

/** The arguments both constructors take, checked. */
function listenerArgs(base: unknown, cb: unknown, flags: unknown, backlog: unknown): { base: EventBase; cb: EvconnlistenerCb | null; flags: number; backlog: number } {
  if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase', base);
  base.live();
  return { base, cb: fnOrNull<EvconnlistenerCb>(cb, 'cb'), flags: maskArg(flags, 'flags'), backlog: intArg(backlog, 'backlog') };
}

/** A new listener, or null where libevent returns NULL (the socket cannot be bound or cannot listen). */
function openListener(base: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, src: ListenSource): Evconnlistener | null {
  try {
    const lev = new Evconnlistener(base, cb, ptr, flags, backlog, src);
    if (!lev.listening) {
      lev.free();
      return null;
    }
    return lev;
  } catch (e) {
    if (isLibraryError(e)) throw e;
    return null;
  }
}

/**
 * evconnlistener_new: a listener on a socket the caller made. A `net.Server` must be listening already; an fd must
 * be a bound socket (it is put in the listening state with `backlog`). null when it is not listening.
 */
export function evconnlistenerNew(base: unknown, cb: unknown, ptr: unknown, flags: unknown, backlog: unknown, fd: unknown): Evconnlistener | null {
  const a = listenerArgs(base, cb, flags, backlog);
  let src: ListenSource;
  if (fd instanceof net.Server) src = { server: fd };
  else if (typeof fd === 'number' && Number.isInteger(fd) && fd >= 0) src = { fd };
  else throw typeError('fd', 'a listening net.Server or a socket fd', fd);
  return openListener(a.base, a.cb, ptr, a.flags, a.backlog, src);
}
