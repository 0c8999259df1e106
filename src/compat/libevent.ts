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
  TYPE_CODES,
  type BevDataCb,
  type BevEventCb,
} from '../bufferevent/core.ts';
import { SocketBufferevent, socketNew, socketAttach, type DetachedSocket } from '../bufferevent/socket.ts';
import { PairBufferevent, pairNew } from '../bufferevent/pair.ts';
import { FilterBufferevent, filterNew, BEV_OK, BEV_NEED_MORE, BEV_ERROR, type FilterCb } from '../bufferevent/filter.ts';
import { EvdnsBase, evdnsBaseNew } from '../dns/evdns.ts';
import * as EAI from '../dns/eai.ts';
import { Evconnlistener, evconnlistenerNewBind, evconnlistenerNew, type EvconnlistenerCb, type EvconnlistenerErrorCb } from '../listener.ts';
import type { Timeval } from '../validate.ts';
import type { Sockaddr } from '../sockaddr.ts';
import type { EvbufferCbFunc, EvbufferObsoleteCb } from '../evbuffer/evbuffer.ts';
import { ImportedBufferevent } from '../thread/export.ts';
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
export function event_base_new(): EventBase {
  return new EventBase();
}
export function event_base_free(b: EventBase): void {
  base(b).free();
}
export function event_base_dispatch(b: EventBase): Promise<number> {
  return base(b).loop(0);
}
export function event_base_loop(b: EventBase, flags: number): Promise<number> {
  return base(b).loop(flags);
}
export function event_base_loopexit(b: EventBase, tv: Timeval | null): number {
  return base(b).loopexit(tv);
}
export function event_base_loopbreak(b: EventBase): number {
  return base(b).loopbreak();
}
export function event_base_got_exit(b: EventBase): boolean {
  const x = base(b);
  x.live();
  return x.gotExit;
}
export function event_base_got_break(b: EventBase): boolean {
  const x = base(b);
  x.live();
  return x.gotBreak;
}
export function event_base_priority_init(b: EventBase, n: number): number {
  return base(b).priorityInit(n);
}
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
export function event_new(b: EventBase, fd: net.Socket | number, what: number, cb: EventCb, arg: unknown): Event {
  // fd: a net.Socket, an OS fd or -1 (the class accepts any object here)
  if (!(fd instanceof net.Socket) && typeof fd !== 'number') throw typeError('fd', 'a net.Socket, a file descriptor or -1', fd);
  return newEvent(b, fd, what, cb, arg);
}
export function event_add(e: Event, tv: Timeval | null): number {
  return ev(e).add(tv);
}
export function event_del(e: Event): number {
  return ev(e).del();
}
export function event_active(e: Event, res: number, ncalls: number): void {
  const x = ev(e);
  x.live();
  x.base.live(); // activating an event of a freed base would queue it on a dead loop
  intArg(ncalls, 'ncalls'); // obsolete in libevent (ignored), but still a C int
  x.active(res, ncalls);
}
export function event_pending(e: Event, what: number, tvOut: { tv_sec?: number; tv_usec?: number } | null): number {
  return ev(e).pending(what, tvOut);
}
export function event_priority_set(e: Event, pri: number): number {
  return ev(e).prioritySet(pri);
}
export function event_free(e: Event): void {
  ev(e).free();
}
export function evtimer_new(b: EventBase, cb: EventCb, arg: unknown): Event {
  return newEvent(b, -1, 0, cb, arg);
}
export const evtimer_add = event_add;
export const evtimer_del = event_del;
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
function sock(bev: unknown): SocketBufferevent | null {
  const b = checkBev(bev);
  return b instanceof SocketBufferevent ? b : null;
}
export function bufferevent_socket_connect(bev: Bufferevent, sa: Sockaddr | null, _socklen?: number): number {
  const s = sock(bev);
  if (!s) {
    const b = checkBev(bev);
    b.live();
    if (b.remote && b.sharedType === TYPE_CODES.socket) b.ownerOnly('bufferevent_socket_connect'); // say so, as setfd does
    return -1; // not a socket bufferevent, as in libevent
  }
  s.live();
  sockaddrPortCheck(sa); // a port outside 0..65535 is a RangeError before anything starts
  return s.connectTo(sa);
}
export function bufferevent_socket_connect_hostname(bev: Bufferevent, dns: EvdnsBase | null, family: number, hostname: string, port: number): number {
  const s = sock(bev);
  if (!s) {
    const b = checkBev(bev);
    b.live();
    if (b.remote && b.sharedType === TYPE_CODES.socket) b.ownerOnly('bufferevent_socket_connect_hostname');
    return -1;
  }
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
  return s.detach();
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
export function bufferevent_socket_get_dns_error(bev: Bufferevent): number {
  const s = sock(bev);
  if (!s) {
    checkBev(bev).live();
    return 0;
  }
  return s.getDnsError();
}
export function bufferevent_free(bev: Bufferevent): void {
  checkBev(bev).free();
}
export function bufferevent_setcb(bev: Bufferevent, readcb: BevDataCb | null, writecb: BevDataCb | null, eventcb: BevEventCb | null, cbarg: unknown): void {
  checkBev(bev).setcb(readcb, writecb, eventcb, cbarg);
}
export function bufferevent_getcb(bev: Bufferevent, out: object | null): void {
  checkBev(bev).getcb(out);
}
export function bufferevent_enable(bev: Bufferevent, events: number): number {
  return checkBev(bev).enable(events);
}
export function bufferevent_disable(bev: Bufferevent, events: number): number {
  return checkBev(bev).disable(events);
}
export function bufferevent_get_enabled(bev: Bufferevent): number {
  return checkBev(bev).getEnabled();
}
export function bufferevent_setwatermark(bev: Bufferevent, events: number, low: number, high: number): void {
  checkBev(bev).setwatermark(events, low, high);
}
export function bufferevent_getwatermark(bev: Bufferevent, events: number, out: object | null): number {
  return checkBev(bev).getwatermark(events, out);
}
export function bufferevent_get_input(bev: Bufferevent): Evbuffer {
  return checkBev(bev).getInput();
}
export function bufferevent_get_output(bev: Bufferevent): Evbuffer {
  return checkBev(bev).getOutput();
}
export function bufferevent_write(bev: Bufferevent, data: Uint8Array | string, size?: number): number {
  return checkBev(bev).write(data, size);
}
export function bufferevent_write_buffer(bev: Bufferevent, b: Evbuffer): number {
  return checkBev(bev).writeBuffer(b);
}
export function bufferevent_read(bev: Bufferevent, data: Uint8Array, size?: number): number {
  return checkBev(bev).read(data, size);
}
export function bufferevent_read_buffer(bev: Bufferevent, b: Evbuffer): number {
  return checkBev(bev).readBuffer(b);
}
export function bufferevent_set_timeouts(bev: Bufferevent, tr: Timeval | null, tw: Timeval | null): number {
  return checkBev(bev).setTimeouts(tr, tw);
}
export function bufferevent_flush(bev: Bufferevent, iotype: number, mode: number): number {
  return checkBev(bev).flush(iotype, mode);
}
export function bufferevent_priority_set(bev: Bufferevent, pri: number): number {
  return checkBev(bev).prioritySet(pri);
}
export function bufferevent_get_priority(bev: Bufferevent): number {
  return checkBev(bev).getPriority();
}
export function bufferevent_setfd(bev: Bufferevent, fd: net.Socket | number): number {
  const b = checkBev(bev);
  b.live();
  checkSocketFd(fd); // also for types that do not support setfd (they return -1 for a valid fd)
  return b.setfd(fd);
}
export function bufferevent_replacefd(bev: Bufferevent, fd: net.Socket | number): number {
  const b = checkBev(bev);
  b.live();
  checkSocketFd(fd);
  return b.replacefd(fd);
}
export function bufferevent_getfd(bev: Bufferevent): number {
  return checkBev(bev).getfd();
}
export function bufferevent_get_base(bev: Bufferevent): EventBase {
  return checkBev(bev).getBase();
}
export function bufferevent_get_underlying(bev: Bufferevent): Bufferevent | null {
  return checkBev(bev).getUnderlying();
}
export function bufferevent_lock(bev: Bufferevent): void {
  checkBev(bev).lockPublic();
}
export function bufferevent_unlock(bev: Bufferevent): void {
  checkBev(bev).unlockPublic();
}
export function bufferevent_incref(bev: Bufferevent): void {
  checkBev(bev).incref();
}
export function bufferevent_decref(bev: Bufferevent): number {
  return checkBev(bev).decref();
}
export function bufferevent_trigger(bev: Bufferevent, iotype: number, options: number): void {
  checkBev(bev).trigger(iotype, options);
}
export function bufferevent_trigger_event(bev: Bufferevent, what: number, options: number): void {
  checkBev(bev).triggerEvent(what, options);
}
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
export function bufferevent_pair_get_partner(bev: Bufferevent): Bufferevent | null {
  const b = checkBev(bev);
  if (b instanceof ImportedBufferevent) return b.getPartner();
  if (!(b instanceof PairBufferevent)) {
    b.live();
    return null;
  }
  return b.getPartner();
}
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
export function bufferevent_base_set(b: EventBase, bev: Bufferevent): number {
  const eb = checkBase(b);
  const s = sock(bev);
  if (!s) {
    checkBev(bev).live();
    return -1;
  }
  return s.baseSet(eb);
}
export function bufferevent_settimeout(bev: Bufferevent, rsec: number, wsec: number): void {
  const r = intArg(rsec, 'timeout_read');
  const w = intArg(wsec, 'timeout_write');
  checkBev(bev).setTimeouts(r ? { tv_sec: r, tv_usec: 0 } : null, w ? { tv_sec: w, tv_usec: 0 } : null);
}
export const EVBUFFER_INPUT = bufferevent_get_input;
export const EVBUFFER_OUTPUT = bufferevent_get_output;
export const EVBUFFER_READ = BEV_EVENT_READING;
export const EVBUFFER_WRITE = BEV_EVENT_WRITING;
export const EVBUFFER_EOF = BEV_EVENT_EOF;
export const EVBUFFER_ERROR = BEV_EVENT_ERROR;
export const EVBUFFER_TIMEOUT = BEV_EVENT_TIMEOUT;

// ---- evbuffers -------------------------------------------------------------------------------------------------------
export function evbuffer_new(): Evbuffer {
  return Evbuffer.create();
}
export function evbuffer_free(b: Evbuffer): void {
  buf(b).free();
}
export function evbuffer_get_length(b: Evbuffer): number {
  return buf(b).getLength();
}
export function evbuffer_add(b: Evbuffer, data: Uint8Array | string, size?: number): number {
  return buf(b).add(data, size);
}
export function evbuffer_prepend(b: Evbuffer, data: Uint8Array | string, size?: number): number {
  return buf(b).prepend(data, size);
}
export function evbuffer_add_printf(b: Evbuffer, format: string, ...args: unknown[]): number {
  return buf(b).addPrintf(format, args);
}
/** evbuffer_add_vprintf: the arguments as an array (a `va_list`). */
export function evbuffer_add_vprintf(b: Evbuffer, format: string, args: readonly unknown[]): number {
  const x = buf(b);
  if (!Array.isArray(args)) throw typeError('args', 'an array of the format\'s arguments', args);
  return x.addPrintf(format, args as unknown[]);
}
export function evbuffer_add_buffer(dst: Evbuffer, src: Evbuffer): number {
  return buf(dst, 'dst').addBuffer(buf(src, 'src'));
}
export function evbuffer_prepend_buffer(dst: Evbuffer, src: Evbuffer): number {
  return buf(dst, 'dst').prependBuffer(buf(src, 'src'));
}
export function evbuffer_remove_buffer(src: Evbuffer, dst: Evbuffer, size: number): number {
  return buf(src, 'src').removeBuffer(buf(dst, 'dst'), size);
}
export function evbuffer_remove(b: Evbuffer, data: Uint8Array, size?: number): number {
  return buf(b).remove(data, size);
}
export function evbuffer_copyout(b: Evbuffer, data: Uint8Array, size?: number): number {
  return buf(b).copyout(data, size);
}
export function evbuffer_copyout_from(b: Evbuffer, pos: EvbufferPtr | null, data: Uint8Array, size?: number): number {
  const x = buf(b);
  x.live();
  ptrArg(pos, 'pos');
  return x.copyoutFrom(pos, data, size);
}
export function evbuffer_drain(b: Evbuffer, size: number): number {
  return buf(b).drain(size);
}
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
export function evbuffer_search(b: Evbuffer, what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.search(what, size, start);
}
export function evbuffer_search_range(b: Evbuffer, what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null, end: EvbufferPtr | null): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  ptrArg(end, 'end');
  return x.searchRange(what, size, start, end);
}
export function evbuffer_search_eol(b: Evbuffer, start: EvbufferPtr | null, eolLenOut: { eol_len?: number } | null, eolStyle: number): EvbufferPtr {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.searchEol(start, eolLenOut, eolStyle);
}
export function evbuffer_ptr_set(b: Evbuffer, ptr: EvbufferPtr, position: number, how: number): number {
  return buf(b).ptrSet(ptr, position, how);
}
export function evbuffer_peek(b: Evbuffer, len: number, start: EvbufferPtr | null, vec: IoVec[] | null, nVec: number): number {
  const x = buf(b);
  x.live();
  ptrArg(start, 'start');
  return x.peek(len, start, vec, nVec);
}
export function evbuffer_freeze(b: Evbuffer, atFront: number | boolean): number {
  const x = buf(b);
  x.live();
  return x.freeze(flagArg(atFront, 'at_front'));
}
export function evbuffer_unfreeze(b: Evbuffer, atFront: number | boolean): number {
  const x = buf(b);
  x.live();
  return x.unfreeze(flagArg(atFront, 'at_front'));
}
export function evbuffer_add_cb(b: Evbuffer, cb: EvbufferCbFunc, cbarg: unknown): EvbufferCbEntry {
  return buf(b).addCb(cb, cbarg);
}
export function evbuffer_remove_cb_entry(b: Evbuffer, ent: EvbufferCbEntry): number {
  return buf(b).removeCbEntry(ent);
}
export function evbuffer_remove_cb(b: Evbuffer, cb: EvbufferCbFunc, cbarg: unknown): number {
  return buf(b).removeCb(cb, cbarg);
}
export function evbuffer_cb_set_flags(b: Evbuffer, ent: EvbufferCbEntry, flags: number): number {
  return buf(b).cbSetFlags(ent, flags);
}
export function evbuffer_cb_clear_flags(b: Evbuffer, ent: EvbufferCbEntry, flags: number): number {
  return buf(b).cbClearFlags(ent, flags);
}
export function evbuffer_enable_locking(b: Evbuffer, lock: null): number {
  if (lock !== null && lock !== undefined) throw typeError('lock', 'null (locks are allocated by the library)', lock);
  return buf(b).enableLocking();
}
export function evbuffer_lock(b: Evbuffer): void {
  buf(b).lockPublic();
}
export function evbuffer_unlock(b: Evbuffer): void {
  buf(b).unlockPublic();
}
export function evbuffer_reserve_space(b: Evbuffer, size: number, vec: IoVec[] | null, nVec: number): number {
  return buf(b).reserveSpace(size, vec, nVec);
}
export function evbuffer_commit_space(b: Evbuffer, vec: IoVec[] | null, nVec: number): number {
  return buf(b).commitSpace(vec, nVec);
}
export function evbuffer_add_reference(b: Evbuffer, data: Uint8Array, size: number, cleanupfn: ((data: Uint8Array, size: number, arg: unknown) => void) | null, arg: unknown): number {
  return buf(b).addReference(data, size, cleanupfn, arg);
}
// obsolete (buffer_compat.h)
export function evbuffer_readline(b: Evbuffer): string | null;
export function evbuffer_readline(b: Evbuffer, encoding: 'latin1' | 'utf8'): string | null;
export function evbuffer_readline(b: Evbuffer, encoding: 'buffer'): Uint8Array | null;
export function evbuffer_readline(b: Evbuffer, encoding: unknown = 'latin1'): string | Uint8Array | null {
  return buf(b).readln(null, EVBUFFER_EOL_ANY, encoding as 'utf8'); // the encoding is checked inside
}
export function evbuffer_find(b: Evbuffer, what: Uint8Array | string, size?: number): number {
  return buf(b).find(what, size);
}
export function evbuffer_setcb(b: Evbuffer, cb: EvbufferObsoleteCb | null, cbarg: unknown): void {
  buf(b).setcbObsolete(cb, cbarg);
}
export function EVBUFFER_LENGTH(b: Evbuffer): number {
  return buf(b).getLength();
}
export function EVBUFFER_DATA(b: Evbuffer): Uint8Array | null {
  return buf(b).pullup(-1);
}

// ---- utilities -------------------------------------------------------------------------------------------------------
export function EVUTIL_SOCKET_ERROR(): number {
  return socketError();
}
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
export function evutil_gai_strerror(err: number): string {
  return EAI.evutil_gai_strerror(intArg(err, 'err'));
}
export function evutil_make_socket_nonblocking(fd: net.Socket | number): number {
  if (fd instanceof net.Socket) return 0; // Node sockets are always non-blocking
  const n = intArg(fd, 'fd');
  return n >= 0 ? 0 : -1;
}
export function evutil_parse_sockaddr_port(str: string): ReturnType<typeof parseSockaddrPort> {
  return parseSockaddrPort(str);
}
export function evdns_base_new(b: EventBase, initialize: number): EvdnsBase {
  return evdnsBaseNew(b, initialize);
}
export function evdns_base_free(dns: EvdnsBase | null, failRequests: number): void {
  if (!(dns instanceof EvdnsBase)) throw typeError('dns_base', 'an EvdnsBase', dns);
  dns.live();
  if (failRequests !== undefined) intArg(failRequests, 'fail_requests'); // null is not an int
  dns.free(failRequests);
}
export function evdns_base_nameserver_ip_add(dns: EvdnsBase | null, ip: string): number {
  if (!(dns instanceof EvdnsBase)) throw typeError('dns_base', 'an EvdnsBase', dns);
  return dns.nameserverIpAdd(ip);
}
/** htons/ntohs/htonl/ntohl: C integer conversions (the value is truncated to 16 / 32 bits, as in C). */
export function htons(x: number): number {
  return htons16(intArg(x, 'x') & 0xffff);
}
export function ntohs(x: number): number {
  return htons16(intArg(x, 'x') & 0xffff);
}
export function htonl(x: number): number {
  return htonl32(intArg(x, 'x') >>> 0);
}
export function ntohl(x: number): number {
  return htonl32(intArg(x, 'x') >>> 0);
}
export function evthread_use_pthreads(): number {
  return 0;
}
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
export function evconnlistener_new_bind(b: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, sa: Sockaddr | null, _socklen?: number): Evconnlistener | null {
  base(b);
  sockaddrPortCheck(sa); // a port outside 0..65535 is a RangeError, not a failed bind
  return evconnlistenerNewBind(b, cb, ptr, flags, backlog, sa);
}
export function evconnlistener_new(b: EventBase, cb: EvconnlistenerCb | null, ptr: unknown, flags: number, backlog: number, fd: net.Server | number): Evconnlistener | null {
  base(b);
  return evconnlistenerNew(b, cb, ptr, flags, backlog, fd);
}
export function evconnlistener_set_error_cb(l: Evconnlistener, errorcb: EvconnlistenerErrorCb | null): void {
  lev(l).setErrorCb(errorcb);
}
export function evconnlistener_get_base(l: Evconnlistener): EventBase {
  return lev(l).getBase();
}
export function evconnlistener_free(l: Evconnlistener): void {
  lev(l).free();
}
export function evconnlistener_enable(l: Evconnlistener): number {
  return lev(l).enable();
}
export function evconnlistener_disable(l: Evconnlistener): number {
  return lev(l).disable();
}
export function evconnlistener_get_fd(l: Evconnlistener): number {
  return lev(l).getFd();
}
export function evconnlistener_get_port(l: Evconnlistener): number {
  return lev(l).getPort();
}
export function evconnlistener_set_cb(l: Evconnlistener, cb: EvconnlistenerCb | null, arg: unknown): void {
  lev(l).setCb(cb, arg);
}

export type { DetachedSocket };
export type { EvconnlistenerErrorCb };
export type { BevDataCb, BevEventCb, FilterCb, EventCb, EvbufferPtr, IoVec, Timeval, EvconnlistenerCb, EvbufferCbFunc, EvbufferObsoleteCb };
export type { FilterBufferevent, SocketBufferevent, PairBufferevent };
