/**
 * The libevent-compatible flat API: libevent's names, argument order and return codes, each a thin
 * checked call into the classes. Ported C code reads the same: `bufferevent_write(bev, "hi")`.
 */
import net from 'node:net';
import util from 'node:util';
import {
  EventBase,
  Event,
  newEvent,
  EV_TIMEOUT,
  EV_READ,
  EV_WRITE,
  EV_SIGNAL,
  EV_PERSIST,
  EV_ET,
  EV_FINALIZE,
  EV_CLOSED,
  EVLOOP_ONCE,
  EVLOOP_NONBLOCK,
  EVLOOP_NO_EXIT_ON_EMPTY,
  type EventCb,
} from '../event/base.ts';
import {
  Evbuffer,
  EvbufferCbEntry,
  EVBUFFER_EOL_ANY,
  EVBUFFER_EOL_CRLF,
  EVBUFFER_EOL_CRLF_STRICT,
  EVBUFFER_EOL_LF,
  EVBUFFER_EOL_NUL,
  EVBUFFER_PTR_SET,
  EVBUFFER_PTR_ADD,
  EVBUFFER_CB_ENABLED,
  type EvbufferPtr,
  type IoVec,
} from '../evbuffer/evbuffer.ts';
import {
  Bufferevent,
  checkBase,
  checkBev,
  socketError,
  BEV_EVENT_READING,
  BEV_EVENT_WRITING,
  BEV_EVENT_EOF,
  BEV_EVENT_ERROR,
  BEV_EVENT_TIMEOUT,
  BEV_EVENT_CONNECTED,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_OPT_THREADSAFE,
  BEV_OPT_DEFER_CALLBACKS,
  BEV_OPT_UNLOCK_CALLBACKS,
  BEV_TRIG_IGNORE_WATERMARKS,
  BEV_TRIG_DEFER_CALLBACKS,
  BEV_NORMAL,
  BEV_FLUSH,
  BEV_FINISHED,
  type BevDataCb,
  type BevEventCb,
} from '../bufferevent/core.ts';
import { TYPE_CODES } from '../bufferevent/header.ts';
import { SocketBufferevent, socketNew, socketOps } from '../bufferevent/socket.ts';
import { socketAttach, socketDetach, type DetachedSocket } from '../bufferevent/socket-transfer.ts';
import { PairBufferevent, pairNew } from '../bufferevent/pair.ts';
import { FilterBufferevent, filterNew, BEV_OK, BEV_NEED_MORE, BEV_ERROR, type FilterCb } from '../bufferevent/filter.ts';
import { EvdnsBase, evdnsBaseNew } from '../dns/evdns.ts';
import * as EAI from '../dns/eai.ts';
import { Evconnlistener, evconnlistenerNewBind, evconnlistenerNew, type EvconnlistenerCb, type EvconnlistenerErrorCb } from '../listener.ts';
import type { Timeval } from '../validate.ts';
import type { Sockaddr } from '../sockaddr.ts';
import type { EvbufferCbFunc, EvbufferObsoleteCb } from '../evbuffer/evbuffer.ts';
export { bufferevent_export, bufferevent_import, evbuffer_export, evbuffer_import } from '../thread/export.ts';
export type { SharedBufferevent, SharedEvbuffer } from '../thread/export.ts';
import { AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, htons as htons16, htonl as htonl32, parseSockaddrPort } from '../sockaddr.ts';
import { enableLockDebugging } from '../shm/rlock.ts';
import { typeError, rangeError, isLibraryError } from '../errors.ts';
import { fnOrNull, intArg, flagArg, sockaddrPortCheck, ptrArg } from '../validate.ts';

export {
  EV_TIMEOUT, EV_READ, EV_WRITE, EV_SIGNAL, EV_PERSIST, EV_ET, EV_FINALIZE, EV_CLOSED,
  EVLOOP_ONCE, EVLOOP_NONBLOCK, EVLOOP_NO_EXIT_ON_EMPTY,
  EVBUFFER_EOL_ANY, EVBUFFER_EOL_CRLF, EVBUFFER_EOL_CRLF_STRICT, EVBUFFER_EOL_LF, EVBUFFER_EOL_NUL,
  EVBUFFER_PTR_SET, EVBUFFER_PTR_ADD, EVBUFFER_CB_ENABLED,
  BEV_EVENT_READING, BEV_EVENT_WRITING, BEV_EVENT_EOF, BEV_EVENT_ERROR, BEV_EVENT_TIMEOUT, BEV_EVENT_CONNECTED,
  BEV_OPT_CLOSE_ON_FREE, BEV_OPT_THREADSAFE, BEV_OPT_DEFER_CALLBACKS, BEV_OPT_UNLOCK_CALLBACKS,
  BEV_TRIG_IGNORE_WATERMARKS, BEV_TRIG_DEFER_CALLBACKS, BEV_NORMAL, BEV_FLUSH, BEV_FINISHED,
  BEV_OK, BEV_NEED_MORE, BEV_ERROR,
  AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6,
};
export const {
  EVUTIL_EAI_ADDRFAMILY, EVUTIL_EAI_AGAIN, EVUTIL_EAI_BADFLAGS, EVUTIL_EAI_FAIL, EVUTIL_EAI_FAMILY,
  EVUTIL_EAI_MEMORY, EVUTIL_EAI_NODATA, EVUTIL_EAI_NONAME, EVUTIL_EAI_SERVICE, EVUTIL_EAI_SOCKTYPE,
  EVUTIL_EAI_SYSTEM, EVUTIL_EAI_CANCEL,
} = EAI;

function buf(v: unknown, name = 'buf'): Evbuffer {
  if (!Evbuffer.isReal(v)) throw typeError(name, 'an Evbuffer', v);
  return v;
}
function base(v: unknown): EventBase {
  if (!(v instanceof EventBase)) throw typeError('base', 'an EventBase', v);
  return v;
}
function ev(v: unknown): Event {
  if (!(v instanceof Event)) throw typeError('ev', 'an Event', v);
  return v;
}

// ---- event base ------------------------------------------------------------------------------------------------------
/** Make an event base on this thread (libevent event_base_new). Its loop runs callbacks on this thread only. */
export function event_base_new(): EventBase {
  return new EventBase();
}
/** Free a base whose loop is not running (throws ERR_BEV_BASE_RUNNING if it is); its events are not run. */
export function event_base_free(b: EventBase): void {
  base(b).free();
}
/** Run the loop until no event is pending or active, or loopexit/loopbreak: event_base_loop(base, 0). */
export function event_base_dispatch(b: EventBase): Promise<number> {
  return base(b).loop(0);
}
/** Run the loop with EVLOOP_* flags. Resolves 0 on exit/break, 1 when nothing was pending, -1 on error. */
export function event_base_loop(b: EventBase, flags: number): Promise<number> {
  return base(b).loop(flags);
}
/** End the loop after `tv` (null: once the callbacks active now have run). 0. */
export function event_base_loopexit(b: EventBase, tv: Timeval | null): number {
  return base(b).loopexit(tv);
}
/** End the loop after the callback running now, without running the others. 0. */
export function event_base_loopbreak(b: EventBase): number {
  return base(b).loopbreak();
}
/** Whether the last loop ended through event_base_loopexit. */
export function event_base_got_exit(b: EventBase): boolean {
  const x = base(b);
  x.live();
  return x.gotExit;
}
/** Whether the last loop ended through event_base_loopbreak. */
export function event_base_got_break(b: EventBase): boolean {
  const x = base(b);
  x.live();
  return x.gotBreak;
}
/** Use `n` priorities (1..256), before any event is active. 0, or -1. */
export function event_base_priority_init(b: EventBase, n: number): number {
  return base(b).priorityInit(n);
}
/** How many priorities the base has. */
export function event_base_get_npriorities(b: EventBase): number {
  const x = base(b);
  x.live();
  return x.npriorities;
}
let currentBase: EventBase | null = null;
/** event_init: a new base that becomes the "current base" of the obsolete `bufferevent_new`. */
export function event_init(): EventBase {
  currentBase = new EventBase();
  return currentBase;
}

// ---- events ----------------------------------------------------------------------------------------------------------
/** Make an event for a socket or fd (-1 for none), EV_* flags, calling `cb(fd, what, arg)` when it fires. */
export function event_new(b: EventBase, fd: net.Socket | number, what: number, cb: EventCb, arg: unknown): Event {
  // fd: a net.Socket, an OS fd or -1 (the class accepts any object here)
  if (!(fd instanceof net.Socket) && typeof fd !== 'number') throw typeError('fd', 'a net.Socket, a file descriptor or -1', fd);
  return newEvent(b, fd, what, cb, arg);
}
/** Make the event pending, with a timeout when `tv` is given. 0, or -1. */
export function event_add(e: Event, tv: Timeval | null): number {
  return ev(e).add(tv);
}
/** Make the event non-pending and non-active. 0. */
export function event_del(e: Event): number {
  return ev(e).del();
}
/** Make the event active with the result flags `res`, as if it had fired. */
export function event_active(e: Event, res: number, ncalls: number): void {
  const x = ev(e);
  x.live();
  x.base.live(); // activating an event of a freed base would queue it on a dead loop
  intArg(ncalls, 'ncalls'); // obsolete in libevent (ignored), but still a C int
  x.active(res, ncalls);
}
/** Which of the `what` flags the event is pending or active for; writes the timeout into `tvOut`. */
export function event_pending(e: Event, what: number, tvOut: { tv_sec?: number; tv_usec?: number } | null): number {
  return ev(e).pending(what, tvOut);
}
/** The priority the event runs at (0 most urgent); not while it is active. 0, or -1. */
export function event_priority_set(e: Event, pri: number): number {
  return ev(e).prioritySet(pri);
}
/** Delete and free the event. */
export function event_free(e: Event): void {
  ev(e).free();
}
/** Make a timer event (event_new with fd -1 and no flags). */
export function evtimer_new(b: EventBase, cb: EventCb, arg: unknown): Event {
  return newEvent(b, -1, 0, cb, arg);
}
/** Make a timer pending for `tv` (event_add). */
export const evtimer_add = event_add;
/** Make a timer non-pending (event_del). */
export const evtimer_del = event_del;
/** Whether the timer is pending; writes its timeout into `tvOut` (event_pending with EV_TIMEOUT). */
export function evtimer_pending(e: Event, tvOut: { tv_sec?: number; tv_usec?: number } | null): number {
  return ev(e).pending(EV_TIMEOUT, tvOut);
}

// ---- bufferevents ----------------------------------------------------------------------------------------------------
function checkSocketFd(fd: unknown): net.Socket | number {
  if (fd instanceof net.Socket) return fd;
  if (typeof fd !== 'number') throw typeError('fd', 'a net.Socket, a file descriptor or -1', fd);
  if (!Number.isInteger(fd) || fd < -1) throw rangeError('fd', '-1 or a file descriptor >= 0', fd);
  return fd;
}

/** Make a socket bufferevent on `fd` (a net.Socket, an fd, or -1 to connect later) with BEV_OPT_* options; null on bad options. */
export function bufferevent_socket_new(b: EventBase, fd: net.Socket | number, options: number): Bufferevent | null {
  const eb = checkBase(b);
  const f = checkSocketFd(fd);
  const o = Bufferevent.checkOptions(options);
  if (o === null) return null;
  try {
    return socketNew(eb, f, o);
  } catch (e) {
    if (isLibraryError(e)) throw e; // a full arena is not a bad fd
    return null; // e.g. an fd that is not a socket: libevent reports NULL
  }
}
/**
 * The socket bufferevent `bev` is, or null (libevent's test: its ops table is the socket one). With `fn`, a foreign
 * handle of a socket bufferevent throws ERR_BEV_WRONG_THREAD naming `fn` instead: that call needs the owner's thread.
 */
function sock(bev: unknown, fn?: string): SocketBufferevent | null {
  const b = checkBev(bev);
  if (b.ops === socketOps) return b as SocketBufferevent;
  b.live();
  if (fn !== undefined && b.remote && b.sharedType === TYPE_CODES.socket) b.ownerOnly(fn);
  return null;
}
/** Connect the bufferevent's socket to `sa`; BEV_EVENT_CONNECTED or BEV_EVENT_ERROR follow. 0, or -1. */
export function bufferevent_socket_connect(bev: Bufferevent, sa: Sockaddr | null, _socklen?: number): number {
  const s = sock(bev, 'bufferevent_socket_connect'); // a foreign handle says so, as setfd does
  if (!s) return -1; // not a socket bufferevent, as in libevent
  s.live();
  sockaddrPortCheck(sa); // a port outside 0..65535 is a RangeError before anything starts
  return s.connectTo(sa);
}
/** Resolve `hostname` (through `dns`, or the system resolver when null) and connect to `port`. 0, or -1. */
export function bufferevent_socket_connect_hostname(bev: Bufferevent, dns: EvdnsBase | null, family: number, hostname: string, port: number): number {
  const s = sock(bev, 'bufferevent_socket_connect_hostname');
  if (!s) return -1;
  s.live();
  if (dns instanceof EvdnsBase) dns.live(); // a freed evdns_base cannot resolve anything
  return s.connectHostname(dns, family, hostname, port);
}
/**
 * Not in libevent: take a live socket bufferevent's connection, with what is buffered both ways, to another base
 * (see DetachedSocket). Resolves once a write in flight has completed; the bufferevent is freed, the socket kept.
 */
export function bufferevent_socket_detach(bev: Bufferevent): Promise<DetachedSocket> {
  const s = sock(bev);
  if (!s) return Promise.reject(typeError('bev', 'a socket bufferevent', bev));
  return socketDetach(s);
}
/** Not in libevent: continue a detached socket bufferevent on `base` (any thread the socket was transferred to). */
export function bufferevent_socket_attach(b: EventBase, detached: DetachedSocket): Bufferevent {
  const eb = checkBase(b);
  const d = detached as Partial<DetachedSocket> | null;
  if (!d || typeof d !== 'object' || !(d.socket instanceof net.Socket) || !(d.input instanceof Uint8Array) || !(d.output instanceof Uint8Array)
    || typeof d.options !== 'number' || typeof d.enabled !== 'number' || !Array.isArray(d.watermarks) || !Array.isArray(d.timeouts)) {
    throw typeError('detached', 'a value returned by bufferevent_socket_detach', detached);
  }
  return socketAttach(eb, d as DetachedSocket);
}
/** The EAI_* error of the last failed connect_hostname lookup, or 0. */
export function bufferevent_socket_get_dns_error(bev: Bufferevent): number {
  const s = sock(bev);
  return s ? s.getDnsError() : 0;
}
/** Free the bufferevent once its callbacks are done (closing the socket under BEV_OPT_CLOSE_ON_FREE); pending output is dropped. */
export function bufferevent_free(bev: Bufferevent): void {
  checkBev(bev).free();
}
/** Set the read, write and event callbacks and their argument (null turns one off). */
export function bufferevent_setcb(bev: Bufferevent, readcb: BevDataCb | null, writecb: BevDataCb | null, eventcb: BevEventCb | null, cbarg: unknown): void {
  checkBev(bev).setcb(readcb, writecb, eventcb, cbarg);
}
/** Write the current callbacks and their argument into `out`. */
export function bufferevent_getcb(bev: Bufferevent, out: object | null): void {
  checkBev(bev).getcb(out);
}
/** Start reading and/or writing (EV_READ, EV_WRITE). 0, or -1. */
export function bufferevent_enable(bev: Bufferevent, events: number): number {
  return checkBev(bev).enable(events);
}
/** Stop reading and/or writing (EV_READ, EV_WRITE). 0, or -1. */
export function bufferevent_disable(bev: Bufferevent, events: number): number {
  return checkBev(bev).disable(events);
}
/** Which of EV_READ and EV_WRITE are enabled. */
export function bufferevent_get_enabled(bev: Bufferevent): number {
  return checkBev(bev).getEnabled();
}
/** Set the read and/or write low and high watermarks (0 for none). */
export function bufferevent_setwatermark(bev: Bufferevent, events: number, low: number, high: number): void {
  checkBev(bev).setwatermark(events, low, high);
}
/** Write one direction's watermarks into `out` ({ lowmark, highmark }). 0, or -1. */
export function bufferevent_getwatermark(bev: Bufferevent, events: number, out: object | null): number {
  return checkBev(bev).getwatermark(events, out);
}
/** The input evbuffer (bytes read, for the read callback to take). */
export function bufferevent_get_input(bev: Bufferevent): Evbuffer {
  return checkBev(bev).getInput();
}
/** The output evbuffer (bytes waiting to be written). */
export function bufferevent_get_output(bev: Bufferevent): Evbuffer {
  return checkBev(bev).getOutput();
}
/** Append bytes (a string is UTF-8) to the output. 0, or -1. */
export function bufferevent_write(bev: Bufferevent, data: Uint8Array | string, size?: number): number {
  return checkBev(bev).write(data, size);
}
/** Move all of `b` to the end of the output. 0, or -1. */
export function bufferevent_write_buffer(bev: Bufferevent, b: Evbuffer): number {
  return checkBev(bev).writeBuffer(b);
}
/** Move up to `size` bytes from the input into `data`. The count. */
export function bufferevent_read(bev: Bufferevent, data: Uint8Array, size?: number): number {
  return checkBev(bev).read(data, size);
}
/** Move all of the input to the end of `b`. 0, or -1. */
export function bufferevent_read_buffer(bev: Bufferevent, b: Evbuffer): number {
  return checkBev(bev).readBuffer(b);
}
/** The read and write timeouts (null or a zero timeval for none). 0, or -1. */
export function bufferevent_set_timeouts(bev: Bufferevent, tr: Timeval | null, tw: Timeval | null): number {
  return checkBev(bev).setTimeouts(tr, tw);
}
/** Push data through a filter or pair (BEV_NORMAL, BEV_FLUSH, BEV_FINISHED). -1, 0 nothing flushed, 1 flushed. */
export function bufferevent_flush(bev: Bufferevent, iotype: number, mode: number): number {
  return checkBev(bev).flush(iotype, mode);
}
/** The priority the bufferevent's events run at. 0, or -1. */
export function bufferevent_priority_set(bev: Bufferevent, pri: number): number {
  return checkBev(bev).prioritySet(pri);
}
/** The priority the bufferevent's events run at. */
export function bufferevent_get_priority(bev: Bufferevent): number {
  return checkBev(bev).getPriority();
}
/** Give a socket bufferevent its socket or fd. 0, or -1. */
export function bufferevent_setfd(bev: Bufferevent, fd: net.Socket | number): number {
  const b = checkBev(bev);
  b.live();
  checkSocketFd(fd); // also for types that do not support setfd (they return -1 for a valid fd)
  return b.setfd(fd);
}
/** Like bufferevent_setfd, closing the old socket under BEV_OPT_CLOSE_ON_FREE. 0, or -1. */
export function bufferevent_replacefd(bev: Bufferevent, fd: net.Socket | number): number {
  const b = checkBev(bev);
  b.live();
  checkSocketFd(fd);
  return b.replacefd(fd);
}
/** The socket's fd, or -1. */
export function bufferevent_getfd(bev: Bufferevent): number {
  return checkBev(bev).getfd();
}
/** The base the bufferevent belongs to. */
export function bufferevent_get_base(bev: Bufferevent): EventBase {
  return checkBev(bev).getBase();
}
/** The bufferevent a filter is built on, or null. */
export function bufferevent_get_underlying(bev: Bufferevent): Bufferevent | null {
  return checkBev(bev).getUnderlying();
}
/** Take the bufferevent's lock (recursive; with BEV_OPT_THREADSAFE it is shared with other threads). */
export function bufferevent_lock(bev: Bufferevent): void {
  checkBev(bev).lockPublic();
}
/** Release one level of the bufferevent's lock. */
export function bufferevent_unlock(bev: Bufferevent): void {
  checkBev(bev).unlockPublic();
}
/** Hold a reference: the bufferevent is not finalized until a matching decref. */
export function bufferevent_incref(bev: Bufferevent): void {
  checkBev(bev).incref();
}
/** Drop a reference. 1 when that finalized the bufferevent, else 0. */
export function bufferevent_decref(bev: Bufferevent): number {
  return checkBev(bev).decref();
}
/** Run the read and/or write callback as if data had moved (BEV_TRIG_* options). */
export function bufferevent_trigger(bev: Bufferevent, iotype: number, options: number): void {
  checkBev(bev).trigger(iotype, options);
}
/** Run the event callback with `what` (BEV_EVENT_* bits), BEV_TRIG_* options. */
export function bufferevent_trigger_event(bev: Bufferevent, what: number, options: number): void {
  checkBev(bev).triggerEvent(what, options);
}
/** Make two bufferevents whose outputs feed each other's inputs; written into `pair`. 0, or -1. */
export function bufferevent_pair_new(b: EventBase, options: number, pair: Bufferevent[]): number {
  const eb = checkBase(b);
  if (!Array.isArray(pair)) throw typeError('pair', 'an array to fill', pair);
  // libevent forces BEV_OPT_DEFER_CALLBACKS on pairs before it checks the options, so UNLOCK_CALLBACKS alone is valid
  const o = Bufferevent.checkOptions(options >>> 0 === options ? (options | BEV_OPT_DEFER_CALLBACKS) >>> 0 : options);
  if (o === null) return -1;
  const [x, y] = pairNew(eb, o);
  pair[0] = x;
  pair[1] = y;
  return 0;
}
/** The other end of a pair, or null. */
export function bufferevent_pair_get_partner(bev: Bufferevent): Bufferevent | null {
  return checkBev(bev).getPartner();
}
/** Make a bufferevent that transforms bytes on their way to and from `underlying`; null on bad options. */
export function bufferevent_filter_new(underlying: Bufferevent | null, inputFilter: FilterCb | null, outputFilter: FilterCb | null, options: number, freeContext: ((ctx: unknown) => void) | null, ctx: unknown): Bufferevent | null {
  if (underlying === null || underlying === undefined) return null;
  const u = checkBev(underlying, 'underlying');
  u.live();
  u.base.inThread();
  const fin = fnOrNull<FilterCb>(inputFilter, 'input_filter');
  const fout = fnOrNull<FilterCb>(outputFilter, 'output_filter');
  const fc = fnOrNull<(ctx: unknown) => void>(freeContext, 'free_context');
  const o = Bufferevent.checkOptions(options);
  if (o === null) return null;
  return filterNew(u, fin, fout, o, fc, ctx);
}

// ---- obsolete bufferevent names (bufferevent_compat.h) ---------------------------------------------------------------
/** Old constructor: a socket bufferevent on the current base with its callbacks, reading enabled. */
export function bufferevent_new(fd: net.Socket | number, readcb: BevDataCb | null, writecb: BevDataCb | null, errorcb: BevEventCb | null, cbarg: unknown): Bufferevent | null {
  // check the callbacks first: a bad one must not leave a bufferevent (and its socket) behind
  fnOrNull(readcb, 'readcb');
  fnOrNull(writecb, 'writecb');
  fnOrNull(errorcb, 'errorcb');
  if (currentBase === null || currentBase.freed) currentBase = new EventBase();
  const bev = bufferevent_socket_new(currentBase, fd, 0);
  if (bev) bev.setcb(readcb, writecb, errorcb, cbarg);
  return bev;
}
/** Old API: move a bufferevent with no pending I/O to `b`. 0, or -1. */
export function bufferevent_base_set(b: EventBase, bev: Bufferevent): number {
  const eb = checkBase(b);
  const s = sock(bev);
  return s ? s.baseSet(eb) : -1;
}
/** Old API: read and write timeouts in whole seconds (0 for none). */
export function bufferevent_settimeout(bev: Bufferevent, rsec: number, wsec: number): void {
  const r = intArg(rsec, 'timeout_read');
  const w = intArg(wsec, 'timeout_write');
  checkBev(bev).setTimeouts(r ? { tv_sec: r, tv_usec: 0 } : null, w ? { tv_sec: w, tv_usec: 0 } : null);
}
/** Old name of bufferevent_get_input. */
export const EVBUFFER_INPUT = bufferevent_get_input;
/** Old name of bufferevent_get_output. */
export const EVBUFFER_OUTPUT = bufferevent_get_output;
/** Old name of BEV_EVENT_READING. */
export const EVBUFFER_READ = BEV_EVENT_READING;
/** Old name of BEV_EVENT_WRITING. */
export const EVBUFFER_WRITE = BEV_EVENT_WRITING;
/** Old name of BEV_EVENT_EOF. */
export const EVBUFFER_EOF = BEV_EVENT_EOF;
/** Old name of BEV_EVENT_ERROR. */
export const EVBUFFER_ERROR = BEV_EVENT_ERROR;
/** Old name of BEV_EVENT_TIMEOUT. */
export const EVBUFFER_TIMEOUT = BEV_EVENT_TIMEOUT;

// ---- evbuffers -------------------------------------------------------------------------------------------------------
/** Make an empty evbuffer (in shared memory; evbuffer_enable_locking lets other threads use it). */
export function evbuffer_new(): Evbuffer {
  return Evbuffer.create();
}
/** Free the evbuffer. */
export function evbuffer_free(b: Evbuffer): void {
  buf(b).free();
}
/** How many bytes the evbuffer holds. */
export function evbuffer_get_length(b: Evbuffer): number {
  return buf(b).getLength();
}
/** Append bytes (a string is UTF-8). 0, or -1 when the end is frozen. */
export function evbuffer_add(b: Evbuffer, data: Uint8Array | string, size?: number): number {
  return buf(b).add(data, size);
}
/** Put bytes (a string is UTF-8) in front. 0, or -1 when the front is frozen. */
export function evbuffer_prepend(b: Evbuffer, data: Uint8Array | string, size?: number): number {
  return buf(b).prepend(data, size);
}
/** Append the C printf formatting of the arguments. The bytes added, or -1. */
export function evbuffer_add_printf(b: Evbuffer, format: string, ...args: unknown[]): number {
  return buf(b).addPrintf(format, args);
}
/** evbuffer_add_vprintf: the arguments as an array (a `va_list`). */
export function evbuffer_add_vprintf(b: Evbuffer, format: string, args: readonly unknown[]): number {
  const x = buf(b);
  if (!Array.isArray(args)) throw typeError('args', 'an array of the format\'s arguments', args);
  return x.addPrintf(format, args as unknown[]);
}
/** Move all of `src` to the end of `dst`. 0, or -1. */
export function evbuffer_add_buffer(dst: Evbuffer, src: Evbuffer): number {
  return buf(dst, 'dst').addBuffer(buf(src, 'src'));
}
/** Move all of `src` to the front of `dst`. 0, or -1. */
export function evbuffer_prepend_buffer(dst: Evbuffer, src: Evbuffer): number {
  return buf(dst, 'dst').prependBuffer(buf(src, 'src'));
}
/** Move up to `size` bytes from the front of `src` to the end of `dst`. The count, or -1. */
export function evbuffer_remove_buffer(src: Evbuffer, dst: Evbuffer, size: number): number {
  return buf(src, 'src').removeBuffer(buf(dst, 'dst'), size);
}
/** Move up to `size` bytes (default data.length) from the front into `data`. The count, or -1. */
export function evbuffer_remove(b: Evbuffer, data: Uint8Array, size?: number): number {
  return buf(b).remove(data, size);
}
/** Copy up to `size` bytes from the front into `data`, leaving them. The count, or -1. */
export function evbuffer_copyout(b: Evbuffer, data: Uint8Array, size?: number): number {
  return buf(b).copyout(data, size);
}
/** Copy up to `size` bytes starting at `pos` (null: the front) into `data`. The count, or -1. */
export function evbuffer_copyout_from(b: Evbuffer, pos: EvbufferPtr | null, data: Uint8Array, size?: number): number {
  const x = buf(b);
  x.live();
  ptrArg(pos, 'pos');
  return x.copyoutFrom(pos, data, size);
}
/** Discard up to `size` bytes from the front. 0, or -1. */
export function evbuffer_drain(b: Evbuffer, size: number): number {
  return buf(b).drain(size);
}
/** Make the first `size` bytes (-1: all) contiguous and return them as a view, or null when there are fewer. */
export function evbuffer_pullup(b: Evbuffer, size: number): Uint8Array | null {
  return buf(b).pullup(size);
}
/**
 * evbuffer_readln. The optional `encoding` (not in libevent) says what the line is returned as: 'latin1' (the
 * default: one char per byte, as libevent returns bytes), 'utf8', or 'buffer' for a Uint8Array.
 */
export function evbuffer_readln(b: Evbuffer, nReadOut: { n_read?: number } | null, eolStyle: number): string | null;
export function evbuffer_readln(b: Evbuffer, nReadOut: { n_read?: number } | null, eolStyle: number, encoding: 'latin1' | 'utf8'): string | null;
export function evbuffer_readln(b: Evbuffer, nReadOut: { n_read?: number } | null, eolStyle: number, encoding: 'buffer'): Uint8Array | null;
export function evbuffer_readln(b: Evbuffer, nReadOut: { n_read?: number } | null, eolStyle: number, encoding: unknown = 'latin1'): string | Uint8Array | null {
  return buf(b).readln(nReadOut, eolStyle, encoding as 'utf8'); // the encoding is checked inside
}
/** Find `what` from `start` (null: the front); a pointer whose pos is -1 when it is not found. */
export function evbuffer_search(b: Evbuffer, what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.search(what, size, start);
}
/** Find `what` between `start` and `end`; a pointer whose pos is -1 when it is not found. */
export function evbuffer_search_range(b: Evbuffer, what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null, end: EvbufferPtr | null): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  ptrArg(end, 'end');
  return x.searchRange(what, size, start, end);
}
/** Find the next end of line of `eolStyle` from `start`; its length goes into `eolLenOut`. */
export function evbuffer_search_eol(b: Evbuffer, start: EvbufferPtr | null, eolLenOut: { eol_len?: number } | null, eolStyle: number): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.searchEol(start, eolLenOut, eolStyle);
}
/** Set `ptr` to `position` (EVBUFFER_PTR_SET) or move it forward (EVBUFFER_PTR_ADD). 0, or -1. */
export function evbuffer_ptr_set(b: Evbuffer, ptr: EvbufferPtr, position: number, how: number): number {
  return buf(b).ptrSet(ptr, position, how);
}
/** Views of up to `len` bytes from `start` into `vec`, without copying. How many views that needs. */
export function evbuffer_peek(b: Evbuffer, len: number, start: EvbufferPtr | null, vec: IoVec[] | null, nVec: number): number {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.peek(len, start, vec, nVec);
}
/** Refuse changes at the front (atFront true) or the end. 0. */
export function evbuffer_freeze(b: Evbuffer, atFront: number | boolean): number {
  const x = buf(b);
  x.live();
  return x.freeze(flagArg(atFront, 'at_front'));
}
/** Allow changes at the front (atFront true) or the end again. 0. */
export function evbuffer_unfreeze(b: Evbuffer, atFront: number | boolean): number {
  const x = buf(b);
  x.live();
  return x.unfreeze(flagArg(atFront, 'at_front'));
}
/** Call `cb(buf, info, cbarg)` after each change of the length; returns the entry that removes it. */
export function evbuffer_add_cb(b: Evbuffer, cb: EvbufferCbFunc, cbarg: unknown): EvbufferCbEntry {
  return buf(b).addCb(cb, cbarg);
}
/** Remove a callback by its entry. 0, or -1. */
export function evbuffer_remove_cb_entry(b: Evbuffer, ent: EvbufferCbEntry): number {
  return buf(b).removeCbEntry(ent);
}
/** Remove the first callback added with this function and argument. 0, or -1. */
export function evbuffer_remove_cb(b: Evbuffer, cb: EvbufferCbFunc, cbarg: unknown): number {
  return buf(b).removeCb(cb, cbarg);
}
/** Set flags (EVBUFFER_CB_ENABLED) of a callback entry. 0. */
export function evbuffer_cb_set_flags(b: Evbuffer, ent: EvbufferCbEntry, flags: number): number {
  return buf(b).cbSetFlags(ent, flags);
}
/** Clear flags (EVBUFFER_CB_ENABLED) of a callback entry. 0. */
export function evbuffer_cb_clear_flags(b: Evbuffer, ent: EvbufferCbEntry, flags: number): number {
  return buf(b).cbClearFlags(ent, flags);
}
/** Give the evbuffer a lock (`lock` must be null: it makes its own), so other threads may use it. 0. */
export function evbuffer_enable_locking(b: Evbuffer, lock: null): number {
  if (lock !== null && lock !== undefined) throw typeError('lock', 'null (locks are allocated by the library)', lock);
  return buf(b).enableLocking();
}
/** Take the evbuffer's lock (recursive), to make several calls one atomic change. */
export function evbuffer_lock(b: Evbuffer): void {
  buf(b).lockPublic();
}
/** Release one level of the evbuffer's lock. */
export function evbuffer_unlock(b: Evbuffer): void {
  buf(b).unlockPublic();
}
/** Reserve room for `size` bytes at the end, as up to `nVec` writable views in `vec`. How many views, or -1. */
export function evbuffer_reserve_space(b: Evbuffer, size: number, vec: IoVec[] | null, nVec: number): number {
  return buf(b).reserveSpace(size, vec, nVec);
}
/** Add the bytes written into views from evbuffer_reserve_space (their iov_len). 0, or -1. */
export function evbuffer_commit_space(b: Evbuffer, vec: IoVec[] | null, nVec: number): number {
  return buf(b).commitSpace(vec, nVec);
}
/** Append `data` (copied here) and call `cleanupfn` once the evbuffer is done with it. 0, or -1. */
export function evbuffer_add_reference(b: Evbuffer, data: Uint8Array, size: number, cleanupfn: ((data: Uint8Array, size: number, arg: unknown) => void) | null, arg: unknown): number {
  return buf(b).addReference(data, size, cleanupfn, arg);
}
// obsolete (buffer_compat.h)
/** Old API: remove and return one line ending in any EOL, or null (evbuffer_readln with EVBUFFER_EOL_ANY). */
export function evbuffer_readline(b: Evbuffer): string | null;
export function evbuffer_readline(b: Evbuffer, encoding: 'latin1' | 'utf8'): string | null;
export function evbuffer_readline(b: Evbuffer, encoding: 'buffer'): Uint8Array | null;
export function evbuffer_readline(b: Evbuffer, encoding: unknown = 'latin1'): string | Uint8Array | null {
  return buf(b).readln(null, EVBUFFER_EOL_ANY, encoding as 'utf8'); // the encoding is checked inside
}
/** Old API: the offset of the first `what`, or -1. */
export function evbuffer_find(b: Evbuffer, what: Uint8Array | string, size?: number): number {
  return buf(b).find(what, size);
}
/** Old API: one callback `cb(buf, oldLen, newLen, arg)` on each change of the length (null removes it). */
export function evbuffer_setcb(b: Evbuffer, cb: EvbufferObsoleteCb | null, cbarg: unknown): void {
  buf(b).setcbObsolete(cb, cbarg);
}
/** Old macro: evbuffer_get_length. */
export function EVBUFFER_LENGTH(b: Evbuffer): number {
  return buf(b).getLength();
}
/** Old macro: the contents made contiguous (evbuffer_pullup(buf, -1)). */
export function EVBUFFER_DATA(b: Evbuffer): Uint8Array | null {
  return buf(b).pullup(-1);
}

// ---- utilities -------------------------------------------------------------------------------------------------------
/** The errno of the last socket error seen by an event callback on this thread. */
export function EVUTIL_SOCKET_ERROR(): number {
  return socketError();
}
/** The text of a socket errno, as strerror gives it. */
export function evutil_socket_error_to_string(err: number): string {
  const e = intArg(err, 'err');
  if (e === 0) return 'Success';
  try {
    const m = util.getSystemErrorMessage(-Math.abs(e));
    return m.charAt(0).toUpperCase() + m.slice(1); // strerror style: "Connection reset by peer"
  } catch {
    return `Unknown error ${e}`;
  }
}
/** The text of an EAI_* lookup error. */
export function evutil_gai_strerror(err: number): string {
  return EAI.evutil_gai_strerror(intArg(err, 'err'));
}
/** A no-op that succeeds: Node's sockets are always non-blocking. 0. */
export function evutil_make_socket_nonblocking(fd: net.Socket | number): number {
  if (fd instanceof net.Socket) return 0; // Node sockets are always non-blocking
  const n = intArg(fd, 'fd');
  return n >= 0 ? 0 : -1;
}
/** Parse "IP", "IP:port", "[IPv6]:port" into a sockaddr, or null. */
export function evutil_parse_sockaddr_port(str: string): ReturnType<typeof parseSockaddrPort> {
  return parseSockaddrPort(str);
}
/** Make a DNS resolver on the base (EVDNS_BASE_INITIALIZE_NAMESERVERS reads the system's nameservers). */
export function evdns_base_new(b: EventBase, initialize: number): EvdnsBase {
  return evdnsBaseNew(b, initialize);
}
/** Free the resolver; with `failRequests` nonzero pending lookups fail with DNS_ERR_SHUTDOWN. */
export function evdns_base_free(dns: EvdnsBase | null, failRequests: number): void {
  if (!(dns instanceof EvdnsBase)) throw typeError('dns_base', 'an EvdnsBase', dns);
  dns.live();
  if (failRequests !== undefined) intArg(failRequests, 'fail_requests'); // null is not an int
  dns.free(failRequests);
}
/** Add a nameserver, "IP" or "IP:port". 0, or an error code. */
export function evdns_base_nameserver_ip_add(dns: EvdnsBase | null, ip: string): number {
  if (!(dns instanceof EvdnsBase)) throw typeError('dns_base', 'an EvdnsBase', dns);
  return dns.nameserverIpAdd(ip);
}
/** htons/ntohs/htonl/ntohl: C integer conversions (the value is truncated to 16 / 32 bits, as in C). */
export function htons(x: number): number {
  return htons16(intArg(x, 'x') & 0xffff);
}
/** Network to host order, 16 bits (truncated as in C). */
export function ntohs(x: number): number {
  return htons16(intArg(x, 'x') & 0xffff);
}
/** Host to network order, 32 bits (truncated as in C). */
export function htonl(x: number): number {
  return htonl32(intArg(x, 'x') >>> 0);
}
/** Network to host order, 32 bits (truncated as in C). */
export function ntohl(x: number): number {
  return htonl32(intArg(x, 'x') >>> 0);
}
/** A no-op that succeeds: threading support is always on. 0. */
export function evthread_use_pthreads(): number {
  return 0;
}
/** Check every lock use from now on (recursion depth, owner, release by a non-holder): errors instead of corruption. */
export function evthread_enable_lock_debugging(): void {
  enableLockDebugging();
}

// ---- listener --------------------------------------------------------------------------------------------------------
export {
  LEV_OPT_LEAVE_SOCKETS_BLOCKING, LEV_OPT_CLOSE_ON_FREE, LEV_OPT_CLOSE_ON_EXEC, LEV_OPT_REUSEABLE,
  LEV_OPT_THREADSAFE, LEV_OPT_DISABLED, LEV_OPT_DEFERRED_ACCEPT, LEV_OPT_REUSEABLE_PORT, LEV_OPT_BIND_IPV6ONLY,
} from '../listener.ts';
function lev(v: unknown): Evconnlistener {
  if (!(v instanceof Evconnlistener)) throw typeError('lev', 'an Evconnlistener', v);
  return v;
}
/** Listen on `sa` and call `cb(listener, socket, sockaddr, socklen, ptr)` for each connection; null on failure. */
export function evconnlistener_new_bind(b: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, sa: Sockaddr | null, _socklen?: number): Evconnlistener | null {
  base(b);
  sockaddrPortCheck(sa); // a port outside 0..65535 is a RangeError, not a failed bind
  return evconnlistenerNewBind(b, cb, ptr, flags, backlog, sa);
}
/** Listen on an existing net.Server or listening fd, as evconnlistener_new_bind; null on failure. */
export function evconnlistener_new(b: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, fd: net.Server | number): Evconnlistener | null {
  base(b);
  return evconnlistenerNew(b, cb, ptr, flags, backlog, fd);
}
/** The callback for accept errors (null: none). */
export function evconnlistener_set_error_cb(l: Evconnlistener, errorcb: EvconnlistenerErrorCb | null): void {
  lev(l).setErrorCb(errorcb);
}
/** The base the listener runs on. */
export function evconnlistener_get_base(l: Evconnlistener): EventBase {
  return lev(l).getBase();
}
/** Stop listening and free the listener (closing the socket under LEV_OPT_CLOSE_ON_FREE). */
export function evconnlistener_free(l: Evconnlistener): void {
  lev(l).free();
}
/** Start accepting again. 0, or -1. */
export function evconnlistener_enable(l: Evconnlistener): number {
  return lev(l).enable();
}
/** Stop accepting (connections wait in the backlog). 0, or -1. */
export function evconnlistener_disable(l: Evconnlistener): number {
  return lev(l).disable();
}
/** The listening socket's fd, or -1. */
export function evconnlistener_get_fd(l: Evconnlistener): number {
  return lev(l).getFd();
}
/** The port the listener is bound to (not in libevent: the actual one after binding port 0). */
export function evconnlistener_get_port(l: Evconnlistener): number {
  return lev(l).getPort();
}
/** The callback for accepted connections, and its argument (null: accepted ones are closed). */
export function evconnlistener_set_cb(l: Evconnlistener, cb: EvconnlistenerCb | null, arg: unknown): void {
  lev(l).setCb(cb, arg);
}

export type { DetachedSocket };
export type { EvconnlistenerErrorCb };
export type { BevDataCb, BevEventCb, FilterCb, EventCb, EvbufferPtr, IoVec, Timeval, EvconnlistenerCb, EvbufferCbFunc, EvbufferObsoleteCb };
export type { FilterBufferevent, SocketBufferevent, PairBufferevent };
