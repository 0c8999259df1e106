import type net from 'node:net';
import { Arena } from '../shm/arena.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { registerOwned, ownedObject } from '../shm/owner.ts';
import { EventBase, EV_READ, EV_WRITE } from '../event/base.ts';
import { Evbuffer } from '../evbuffer/evbuffer.ts';
import * as S from '../evbuffer/storage.ts';
import { Bufferevent, checkBev, BEV_NORMAL, type BevOps, type BevDataCb } from '../bufferevent/core.ts';
import { TYPE_CODES, O_NOTIFY, O_OWNER, O_GEN, O_EVPEND, O_FLUSHREQ, RQ_RECONCILE, RQ_TIMEOUTS, RQ_FINALIZE, RQ_DEFERRED, RQ_WM, RQ_FLUSH, RQ_FREE } from '../bufferevent/header.ts';
import { PairBufferevent } from '../bufferevent/pair.ts';
import { codedError, freedError, typeError } from '../errors.ts';

/**
 * Sharing bufferevents and evbuffers between threads.
 *
 * `bufferevent_export(bev)` returns a plain structured-cloneable descriptor ({ sab, h }): the SharedArrayBuffer of the
 * owner's arena and the header offset. `bufferevent_import(desc)` in any thread gives a handle on the same shared
 * header, evbuffers and lock. An imported handle runs every call that takes no callback itself, under the shared lock
 * (write, read, evbuffer operations, enable/disable, watermarks, timeouts, lock, free, ...); what only the owner can do
 * (socket I/O, callbacks, timers) it requests through the owner's mailbox (src/shm/owner.ts), and the owner's loop
 * does it. Callbacks always run on the owner's thread.
 */
export interface SharedBufferevent {
  readonly __bufferevent: 1;
  readonly sab: SharedArrayBuffer;
  readonly h: number;
  /** header generation at export: an import after the object was freed (and its memory reused) throws */
  readonly gen: number;
}
export interface SharedEvbuffer {
  readonly __evbuffer: 1;
  readonly sab: SharedArrayBuffer;
  readonly h: number;
  readonly gen: number;
}

function checkGen(a: Arena, genOff: number, gen: unknown, what: string): void {
  if (typeof gen !== 'number' || Atomics.load(a.i32, genOff >>> 2) !== gen) throw freedError(what);
}

/** The operations of an imported handle: everything that must happen on the owner is posted to it. */
const remoteOps: BevOps = {
  type: 'socket',
  enable(bev) {
    bev.post(RQ_RECONCILE);
    return 0;
  },
  disable(bev) {
    bev.post(RQ_RECONCILE);
    return 0;
  },
  unlink() {},
  destruct() {},
  adjTimeouts(bev) {
    bev.post(RQ_TIMEOUTS);
    return 0;
  },
  flush() {
    return 0;
  },
};

/** A base object standing for another thread's base: it can be compared and passed around, not looped. */
const foreignBases = new Map<number, EventBase>();
function foreignBase(owner: number): EventBase {
  let b = foreignBases.get(owner);
  if (!b) {
    b = new EventBase();
    (b as { owner: number }).owner = owner; // inThread() now fails here: loop/free throw ERR_BEV_WRONG_THREAD
    foreignBases.set(owner, b);
  }
  return b;
}

/**
 * A handle on a bufferevent owned by another thread: the foreign half of every operation. What only the owner can
 * do (run callbacks, which are its functions; apply watermarks, flush, free its callbacks, finalize) is posted to it
 * through the mailbox; the rest runs here, on the shared memory, under the shared lock (the core, src/bufferevent/core.ts,
 * is the owner's half and asks no "am I foreign?" question). @thread any (the importing thread)
 */
export class ImportedBufferevent extends Bufferevent {
  readonly ops: BevOps = remoteOps;
  constructor(a: Arena, h: number) {
    super(foreignBase(a.i32[(h + O_OWNER) >>> 2]!), 0, 0, { a, h });
  }
  override ownerOnly(what: string): void {
    throw codedError('ERR_BEV_WRONG_THREAD', `${what} must run on the thread that owns the bufferevent`);
  }
  override lastRefGone(): void {
    this.unlockRaw();
    this.post(RQ_FINALIZE); // unlink and finalization run on the owner
  }
  override scheduleDeferred(): void {
    this.post(RQ_DEFERRED); // the pending bits are in shared memory; the owner schedules its runner
  }
  override runDataCb(_cb: BevDataCb | null, pendBit: number, _options: number): boolean {
    this.pendDataCb(pendBit); // whatever this handle's (unset) callbacks: the owner's run there
    return false;
  }
  override runEventcb(what: number, _options: number): void {
    this.a.i32[(this.h + O_EVPEND) >>> 2]! |= what;
    this.scheduleDeferred();
  }
  override readWatermarkChanged(): void {
    this.post(RQ_WM);
  }
  override flushChecked(io: number, m: number): number {
    // filters and pairs flush on the owner (their filters and callbacks are the owner's functions)
    if (m !== BEV_NORMAL) {
      Atomics.or(this.a.i32, (this.h + O_FLUSHREQ) >>> 2, (io & (EV_READ | EV_WRITE)) | (m << 8));
      this.post(RQ_FLUSH);
    }
    return 0;
  }
  override dropCallbacks(): void {
    this.post(RQ_FREE);
  }
  override getfd(): number {
    this.live();
    return this.sharedFd;
  }
  override setfd(_fd: net.Socket | number): number {
    this.live();
    this.ownerOnly('bufferevent_setfd');
    return -1;
  }
  override replacefd(_fd: net.Socket | number): number {
    this.live();
    this.ownerOnly('bufferevent_replacefd');
    return -1;
  }
  override prioritySet(_pri: number): number {
    this.live();
    this.ownerOnly('bufferevent_priority_set');
    return -1;
  }
  override getUnderlying(): Bufferevent | null {
    this.live();
    return this.sharedType === TYPE_CODES.filter && this.sharedLink !== 0 ? attachBev(this.a, this.sharedLink) : null;
  }
  /** bufferevent_pair_get_partner on an imported pair element. */
  override getPartner(): Bufferevent | null {
    this.live();
    if (this.sharedType !== TYPE_CODES.pair) return null;
    this.lockRaw();
    const link = this.sharedLink;
    this.unlockRaw();
    return link !== 0 ? attachBev(this.a, link) : null;
  }
}

const imported = new WeakMap<Arena, Map<number, WeakRef<Bufferevent>>>();

function attachBev(a: Arena, h: number): Bufferevent {
  if (a.i32[(h + O_OWNER) >>> 2] === THREAD_TAG) {
    const own = ownedObject(h);
    if (own instanceof Bufferevent) return own;
  }
  let m = imported.get(a);
  if (!m) imported.set(a, (m = new Map()));
  const known = m.get(h)?.deref();
  if (known && !known.dead) return known;
  const bev = new ImportedBufferevent(a, h);
  m.set(h, new WeakRef(bev));
  return bev;
}

/** Register a bufferevent (and its buffers, partner or underlying) so the owner's mailbox can reach them. */
function registerTree(bev: Bufferevent): void {
  registerOwned(bev.h, bev.h + O_NOTIFY, bev);
  registerOwned(bev.input.h, bev.input.h + S.H_NOTIFY, bev.input);
  registerOwned(bev.output.h, bev.output.h + S.H_NOTIFY, bev.output);
}

/** A handle of a THREADSAFE bufferevent to post to another thread, where bufferevent_import makes it usable (not in libevent). */
export function bufferevent_export(bevArg: Bufferevent): SharedBufferevent {
  const bev = checkBev(bevArg);
  bev.live();
  if (bev.lockOff === 0) {
    throw codedError('ERR_BEV_NOT_THREADSAFE', 'only a bufferevent made with BEV_OPT_THREADSAFE can be shared between threads');
  }
  if (!bev.remote) {
    registerTree(bev);
    if (bev instanceof PairBufferevent && bev.partner) registerTree(bev.partner);
    const u = bev.getUnderlying();
    if (u && !u.remote) registerTree(u);
  }
  return { __bufferevent: 1, sab: bev.a.sab, h: bev.h, gen: bev.gen };
}

/** The bufferevent behind a handle from bufferevent_export, usable on this thread (not in libevent). */
export function bufferevent_import(shared: SharedBufferevent): Bufferevent {
  const d = shared as Partial<SharedBufferevent> | null;
  if (!d || typeof d !== 'object' || d.__bufferevent !== 1 || !(d.sab instanceof SharedArrayBuffer) || typeof d.h !== 'number') {
    throw typeError('shared', 'a value returned by bufferevent_export', shared);
  }
  const a = Arena.attach(d.sab);
  a.sync();
  checkGen(a, d.h + O_GEN, d.gen, 'bufferevent');
  const bev = attachBev(a, d.h);
  bev.live();
  return bev;
}

/** A handle of a locking evbuffer to post to another thread, where evbuffer_import makes it usable (not in libevent). */
export function evbuffer_export(bufArg: Evbuffer): SharedEvbuffer {
  if (!Evbuffer.isReal(bufArg)) throw typeError('buf', 'an Evbuffer', bufArg);
  bufArg.live();
  if (bufArg.lockOff === 0) {
    throw codedError('ERR_BEV_NOT_THREADSAFE', 'call evbuffer_enable_locking(buf, null) before sharing an evbuffer');
  }
  if (!bufArg.remote) registerOwned(bufArg.h, bufArg.h + S.H_NOTIFY, bufArg);
  return { __evbuffer: 1, sab: bufArg.a.sab, h: bufArg.h, gen: bufArg.gen };
}

/** The evbuffer behind a handle from evbuffer_export, usable on this thread (not in libevent). */
export function evbuffer_import(shared: SharedEvbuffer): Evbuffer {
  const d = shared as Partial<SharedEvbuffer> | null;
  if (!d || typeof d !== 'object' || d.__evbuffer !== 1 || !(d.sab instanceof SharedArrayBuffer) || typeof d.h !== 'number') {
    throw typeError('shared', 'a value returned by evbuffer_export', shared);
  }
  const a = Arena.attach(d.sab);
  a.sync();
  checkGen(a, d.h + S.H_GEN, d.gen, 'evbuffer');
  if (a.i32[(d.h + S.H_OWNER) >>> 2] === THREAD_TAG) {
    const own = ownedObject(d.h);
    if (own instanceof Evbuffer) {
      own.live();
      return own;
    }
  }
  const buf = new Evbuffer(a, d.h);
  buf.live();
  return buf;
}

