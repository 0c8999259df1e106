import { EventBase, EvCallback, EV_READ, EV_WRITE } from '../event/base.ts';
import { Evbuffer, EVBUFFER_CB_ENABLED, EVBUFFER_CB_NODEFER, type EvbufferCbEntry } from '../evbuffer/evbuffer.ts';
import { Arena, localArena, lockCounters } from '../shm/arena.ts';
import { rlockLock, rlockTryLock, rlockRef, rlockUnlock, rlockUnref, rlockOwnerDied, rlockAssertHeld } from '../shm/rlock.ts';
import { acquire, afterDeadHolder, GONE, REPAIR } from '../shm/lock-wait.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { postToOwner, unregisterOwned } from '../shm/owner.ts';
import { codedError, freedError, typeError, cloneGuard } from '../errors.ts';
import { groupHead, groupMember, setGroupHead, GROUP_BUFFEREVENT } from '../shm/lock-group.ts';
import { rateLimitCancel, type BevRateLimit } from './ratelim.ts';
import { eventChannel, freeChannel, debugWhy } from '../diagnostics.ts';
import { fnOrNull, intArg, maskArg, objOrNull, sizeArg, timeoutArg, inputSize, type Timeval } from '../validate.ts';
import type net from 'node:net';
import {
  HDR,
  O_STAT,
  ST_READ,
  ST_WRITTEN,
  ST_READCB,
  ST_WRITECB,
  ST_EVENTCB,
  O_MAXREAD,
  O_MAXWRITE,
  O_GROUPNEXT,
  O_HOLDREF,
  O_REF,
  O_ENABLED,
  O_RSUSP,
  O_WSUSP,
  O_OPTIONS,
  O_STATE,
  O_OWNER,
  O_WM_RLOW,
  O_WM_RHIGH,
  O_WM_WLOW,
  O_WM_WHIGH,
  O_TO_READ,
  O_TO_WRITE,
  O_INPUT,
  O_OUTPUT,
  O_CBPEND,
  O_EVPEND,
  O_DNSERR,
  O_ERRNO,
  O_NOTIFY,
  O_FD,
  O_TYPE,
  O_LINK,
  O_PRIO,
  O_GEN,
  O_FLUSHREQ,
  RQ_RECONCILE,
  RQ_WM,
  RQ_TIMEOUTS,
  RQ_FLUSH,
  RQ_DEFERRED,
  RQ_FREE,
  RQ_FINALIZE,
  TYPE_CODES,
  S_DEAD,
  S_FINALIZED,
  S_FREEING,
  PEND_READ,
  PEND_WRITE,
  markDead,
} from './header.ts';

// ---- constants (bufferevent.h) ---------------------------------------------------------------------------------------
export const BEV_EVENT_READING = 0x01;
export const BEV_EVENT_WRITING = 0x02;
export const BEV_EVENT_EOF = 0x10;
export const BEV_EVENT_ERROR = 0x20;
export const BEV_EVENT_TIMEOUT = 0x40;
export const BEV_EVENT_CONNECTED = 0x80;
export const BEV_OPT_CLOSE_ON_FREE = 1;
export const BEV_OPT_THREADSAFE = 2;
export const BEV_OPT_DEFER_CALLBACKS = 4;
export const BEV_OPT_UNLOCK_CALLBACKS = 8;
const BEV_OPT_ALL = 15;
export const BEV_TRIG_IGNORE_WATERMARKS = 1 << 16;
export const BEV_TRIG_DEFER_CALLBACKS = BEV_OPT_DEFER_CALLBACKS;
export const BEV_NORMAL = 0;
export const BEV_FLUSH = 1;
export const BEV_FINISHED = 2;

/** Suspend reasons, OR-ed into the read/write suspend words (bufferevent-internal.h). */
export const BEV_SUSPEND_WM = 0x01; // read: input at/above the high watermark; a filter's choked output
export const BEV_SUSPEND_BW = 0x02; // its own rate limit's bucket is empty (src/bufferevent/ratelim.ts)
export const BEV_SUSPEND_BW_GROUP = 0x04; // its rate-limit group's bucket is empty
/** libevent's defaults for bufferevent_set_max_single_read / _write */
export const MAX_SINGLE_READ_DEFAULT = 16384;
export const MAX_SINGLE_WRITE_DEFAULT = 16384;
export const BEV_SUSPEND_LOOKUP = 0x08; // DNS lookup in progress (socket, connect_hostname)
export const BEV_SUSPEND_FILT_READ = 0x10; // set on an underlying by its filter while the filter does not read

export type BevDataCb = (bev: Bufferevent, ctx: unknown) => void;
export type BevEventCb = (bev: Bufferevent, what: number, ctx: unknown) => void;

/** The per-type operations table (libevent's `struct bufferevent_ops`). */
export interface BevOps {
  readonly type: 'socket' | 'pair' | 'filter';
  enable(bev: Bufferevent, ev: number): number;
  disable(bev: Bufferevent, ev: number): number;
  /** Run when the refcount reaches 0. */
  unlink(bev: Bufferevent): void;
  /** Run at finalization, from the loop. */
  destruct(bev: Bufferevent): void;
  adjTimeouts(bev: Bufferevent): number;
  flush(bev: Bufferevent, iotype: number, mode: number): number;
}

let lastSocketErrno = 0;
/** EVUTIL_SOCKET_ERROR(): the last socket error seen on this thread (a positive errno). */
export function socketError(): number {
  return lastSocketErrno;
}
export function setSocketError(e: number): void {
  lastSocketErrno = e;
}

const BEV_CLONE_GUARD = cloneGuard(
  'a bufferevent',
  'post bufferevent_export(bev) (made with BEV_OPT_THREADSAFE) and call bufferevent_import() there',
);

/**
 * The generic bufferevent (bufferevent.c). One class per type extends it and supplies `ops`.
 *
 * Thread contract: callbacks and every call that takes a callback run on the base's thread. Everything else takes
 * the bufferevent lock (when THREADSAFE) and may be called from any thread that has a handle (threads issue).
 * Public methods check liveness first (ERR_BEV_FREED once the last reference went).
 */
export abstract class Bufferevent {
  /** A brand that only real instances carry (an object made from the prototype or a Proxy does not). */
  readonly #real = true;
  /** @internal Makes postMessage(this) fail with a message naming what to post instead (errors.ts cloneGuard). */
  readonly cloneGuard = BEV_CLONE_GUARD;
  /** @internal True for an instance built by this class's constructor. */
  static isReal(v: unknown): v is Bufferevent {
    return typeof v === 'object' && v !== null && #real in v;
  }
  /** @internal */ readonly a: Arena;
  /** @internal */ readonly h: number;
  /** @internal */ base: EventBase;
  /** @internal */ readonly input: Evbuffer;
  /** @internal */ readonly output: Evbuffer;
  /** @internal */ abstract readonly ops: BevOps;
  /** @internal */ readcb: BevDataCb | null = null;
  /** @internal */ writecb: BevDataCb | null = null;
  /** @internal */ errorcb: BevEventCb | null = null;
  /** @internal */ cbarg: unknown = null;
  /** @internal The deferred-callback runner (one per bufferevent). */ readonly deferred: EvCallback;
  /** @internal */ private inbufWmEntry: EvbufferCbEntry | null = null;
  /** @internal Called after the last reference goes and finalization ran. */ finalizer: EvCallback | null = null;

  /** @internal Header generation this handle refers to. */ readonly gen: number;
  /** @internal True for a handle imported into a thread that does not own the bufferevent. */ readonly remote: boolean;
  /** @internal Request bits from other threads, waiting for remoteEv to run. */ remoteBits = 0;
  /** @internal */ private finalized = false;
  /** The event that applies other threads' requests on the owner (made by the first request). */
  private remoteEvent: EvCallback | null = null;

  /** @internal With `attach`, a handle on an existing header (bufferevent_import); otherwise a new bufferevent. */
  constructor(base: EventBase, options: number, lockOff: number, attach?: { a: Arena; h: number }) {
    if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase (bufferevents come from bufferevent_*_new)', base);
    if (attach) {
      const { a, h } = attach;
      this.a = a;
      this.h = h;
      this.base = base;
      this.gen = Atomics.load(a.i32, (h + O_GEN) >>> 2);
      this.remote = a.i32[(h + O_OWNER) >>> 2] !== THREAD_TAG;
      this.input = new Evbuffer(a, a.i32[(h + O_INPUT) >>> 2]! >>> 0);
      this.output = new Evbuffer(a, a.i32[(h + O_OUTPUT) >>> 2]! >>> 0);
      this.deferred = new EvCallback(base, noop, 0);
      return;
    }
    const a = localArena();
    this.a = a;
    this.base = base;
    this.remote = false;
    const h = a.alloc(HDR);
    this.h = h;
    a.u8.fill(0, h, h + O_GEN); // the generation survives reuse of the block
    this.gen = a.i32[(h + O_GEN) >>> 2]!;
    a.i32[(h + O_FD) >>> 2] = -1;
    a.i32[(h + O_PRIO) >>> 2] = Math.floor(base.npriorities / 2);
    const threadsafe = (options & BEV_OPT_THREADSAFE) !== 0;
    if (threadsafe && lockOff === 0) {
      lockOff = a.newLock();
    } else if (lockOff !== 0) {
      rlockRef(a.i32, lockOff);
    }
    const i32 = a.i32;
    i32[(h + O_REF) >>> 2] = 1;
    i32[(h + O_ENABLED) >>> 2] = EV_WRITE; // libevent: writing on, reading off
    i32[(h + O_OPTIONS) >>> 2] = options;
    i32[(h + O_OWNER) >>> 2] = THREAD_TAG;
    a.f64[(h + O_TO_READ) >>> 3] = -1;
    a.f64[(h + O_TO_WRITE) >>> 3] = -1;
    a.f64.fill(0, (h + O_STAT) >>> 3, (h + HDR) >>> 3);
    a.f64[(h + O_MAXREAD) >>> 3] = MAX_SINGLE_READ_DEFAULT;
    a.f64[(h + O_MAXWRITE) >>> 3] = MAX_SINGLE_WRITE_DEFAULT;
    this.input = Evbuffer.create(lockOff);
    this.output = Evbuffer.create(lockOff);
    if (lockOff !== 0 && !threadsafe) rlockUnref(a.i32, lockOff); // the buffers hold it; the header's ref was temporary
    i32[(h + O_INPUT) >>> 2] = this.input.h;
    i32[(h + O_OUTPUT) >>> 2] = this.output.h;
    if (lockOff !== 0) this.joinLockGroup(lockOff);
    const unlocked = (options & BEV_OPT_UNLOCK_CALLBACKS) !== 0;
    // the unlocked runner releases the lock around user calls, so the base must not hold it for the whole run
    this.deferred = new EvCallback(base, () => this.runDeferred(unlocked), Math.floor(base.npriorities / 2), unlocked ? null : this.lockOfFn);
  }

  /**
   * @internal The lock for EvCallback.lockOf: the loop takes it without blocking before running our callbacks. One
   * tuple per bufferevent, refreshed at each call (the loop asks before every callback: no allocation per callback).
   */
  readonly lockOfFn = (): [Int32Array, number] => {
    const t = this.lockTuple;
    t[0] = this.a.i32;
    t[1] = this.dead ? 0 : this.lockOff;
    return t;
  };
  private readonly lockTuple: [Int32Array, number] = [null as never, 0];

  /** @internal Take one more reference (a pending lookup, a filter on its underlying). @locks held */
  addRef(): void {
    this.a.i32[(this.h + O_REF) >>> 2]!++;
  }
  /** @internal The reference count (libevent's refcnt). */
  refCount(): number {
    return this.a.i32[(this.h + O_REF) >>> 2]!;
  }
  /**
   * @internal Give an unlocked bufferevent (and its evbuffers) the lock at `lockOff`, as libevent's
   * bufferevent_enable_locking_ pushes a THREADSAFE filter's lock down to its underlying. The header's reference to
   * the lock is released at finalization, as for any THREADSAFE bufferevent.
   */
  adoptLock(lockOff: number): void {
    this.a.i32[(this.h + O_OPTIONS) >>> 2]! |= BEV_OPT_THREADSAFE;
    this.input.adoptLock(lockOff);
    this.output.adoptLock(lockOff);
    this.joinLockGroup(lockOff);
  }

  /** @internal Become a member of the lock's group (src/shm/lock-group.ts), for recovery after a holder died. */
  private joinLockGroup(lockOff: number): void {
    const i32 = this.a.i32;
    rlockLock(i32, lockOff);
    i32[(this.h + O_GROUPNEXT) >>> 2] = groupHead(this.a, lockOff);
    setGroupHead(this.a, lockOff, groupMember(this.h, GROUP_BUFFEREVENT));
    rlockUnlock(i32, lockOff);
  }

  /** @internal Leave the lock's group (at finalization). @locks held */
  private leaveLockGroup(lockOff: number): void {
    const a = this.a;
    const me = groupMember(this.h, GROUP_BUFFEREVENT);
    let prev = 0;
    for (let m = groupHead(a, lockOff); m !== 0; m = a.i32[((m & ~7) + O_GROUPNEXT) >>> 2]! >>> 0) {
      if (m === me) {
        const next = a.i32[(this.h + O_GROUPNEXT) >>> 2]! >>> 0;
        if (prev === 0) setGroupHead(a, lockOff, next);
        else a.i32[((prev & ~7) + O_GROUPNEXT) >>> 2] = next;
        return;
      }
      prev = m;
    }
  }

  /** @internal Record the type and link (partner / underlying) in the header, for importers. */
  setShared(type: 'socket' | 'pair' | 'filter', link: Bufferevent | null): void {
    this.a.i32[(this.h + O_TYPE) >>> 2] = TYPE_CODES[type];
    this.a.i32[(this.h + O_LINK) >>> 2] = link ? link.h : 0;
  }
  /** @internal */ get sharedType(): number { return this.a.i32[(this.h + O_TYPE) >>> 2]!; }
  /** @internal */ get sharedLink(): number { return this.a.i32[(this.h + O_LINK) >>> 2]! >>> 0; }
  /** @internal */ set sharedFd(fd: number) { this.a.i32[(this.h + O_FD) >>> 2] = fd; }
  /** @internal */ get sharedFd(): number { return this.a.i32[(this.h + O_FD) >>> 2]!; }
  /** @internal */ set sharedPriority(p: number) { this.a.i32[(this.h + O_PRIO) >>> 2] = p; }
  /** @internal */ get sharedPriority(): number { return this.a.i32[(this.h + O_PRIO) >>> 2]!; }
  /** @internal */ get freeing(): boolean { return (this.a.i32[(this.h + O_STATE) >>> 2]! & S_FREEING) !== 0; }

  /** @internal Ask the owner thread to act (mailbox + doorbell). @thread any */
  post(bits: number): void {
    postToOwner(this.a, this.h + O_NOTIFY, this.h, bits);
  }

  /** @internal Throw unless this thread owns the bufferevent (a foreign handle's override throws). */
  ownerOnly(_what: string): void {}

  /** @internal The mailbox delivered request bits for this bufferevent. @thread owner */
  remoteRequest(bits: number): void {
    this.remoteBits |= bits;
    this.base.activate((this.remoteEvent ??= new EvCallback(this.base, () => this.onRemote(), Math.floor(this.base.npriorities / 2), this.lockOfFn)), 0);
  }

  /** Owner side of requests made in other threads. @thread owner */
  private onRemote(): void {
    const bits = this.remoteBits;
    this.remoteBits = 0;
    if (bits & RQ_FINALIZE) {
      this.lockRaw();
      this.readcb = this.writecb = this.errorcb = null;
      this.cancelPendingWork();
      this.startFinalize();
      return;
    }
    if (this.dead) return;
    this.increfAndLock();
    try {
      if (bits & RQ_FREE) {
        this.readcb = this.writecb = this.errorcb = null;
        this.cbarg = null;
        this.cancelPendingWork();
      }
      if (bits & RQ_WM) this.applyWatermarks();
      if (bits & RQ_RECONCILE) {
        const en = this.enabled;
        const off = ~en & (EV_READ | EV_WRITE);
        if (off) this.ops.disable(this, off);
        const on = this.inEffect(en);
        if (on) this.ops.enable(this, on);
      }
      if (bits & RQ_TIMEOUTS) this.ops.adjTimeouts(this);
      if (bits & RQ_FLUSH) {
        const req = Atomics.exchange(this.a.i32, (this.h + O_FLUSHREQ) >>> 2, 0);
        const mode = req >>> 8;
        if (req & (EV_READ | EV_WRITE)) this.ops.flush(this, req & 0xff, mode > BEV_FINISHED ? BEV_FINISHED : mode);
      }
      if (bits & RQ_DEFERRED && !this.freeing) this.scheduleDeferred();
    } finally {
      this.decrefAndUnlock();
    }
  }

  // ---- shared fields -----------------------------------------------------------------------------------------------
  /**
   * @internal The lock, as this handle knows it (the same as its evbuffers'): read from the handle, never from the
   * header, whose words are recycled once the bufferevent is freed.
   */
  get lockOff(): number { return this.input.lockOff; }
  /** @internal */ get options(): number { return this.a.i32[(this.h + O_OPTIONS) >>> 2]!; }
  /** @internal */ get enabled(): number { return this.a.i32[(this.h + O_ENABLED) >>> 2]!; }
  /** @internal */ set enabled(v: number) { this.a.i32[(this.h + O_ENABLED) >>> 2] = v; }
  /**
   * @internal What the read high watermark leaves for an input of `len` bytes: Infinity without a watermark, <= 0 at
   * or past it (then reading is suspended). The caller reads the length as its lock discipline allows.
   */
  readRoom(len: number): number {
    const high = this.wmReadHigh;
    return high === 0 ? Infinity : high - len;
  }
  /** @internal The directions of `events` (EV_READ, EV_WRITE) that are in effect: asked for and not suspended. */
  inEffect(events: number): number {
    return events & ~(this.readSuspended ? EV_READ : 0) & ~(this.writeSuspended ? EV_WRITE : 0);
  }
  /** @internal */ get readSuspended(): number { return this.a.i32[(this.h + O_RSUSP) >>> 2]!; }
  /** @internal */ get maxSingleRead(): number { return this.a.f64[(this.h + O_MAXREAD) >>> 3]!; }
  /** @internal */ set maxSingleRead(v: number) { this.a.f64[(this.h + O_MAXREAD) >>> 3] = v; }
  /** @internal */ get maxSingleWrite(): number { return this.a.f64[(this.h + O_MAXWRITE) >>> 3]!; }
  /** @internal */ set maxSingleWrite(v: number) { this.a.f64[(this.h + O_MAXWRITE) >>> 3] = v; }
  /** @internal The rate-limit state (src/bufferevent/ratelim.ts), made by the first rate-limit call. @thread owner */
  rateLimit: BevRateLimit | null = null;
  /** @internal */ get writeSuspended(): number { return this.a.i32[(this.h + O_WSUSP) >>> 2]!; }
  /** @internal */ get wmReadLow(): number { return this.a.f64[(this.h + O_WM_RLOW) >>> 3]!; }
  /** @internal */ get wmReadHigh(): number { return this.a.f64[(this.h + O_WM_RHIGH) >>> 3]!; }
  /** @internal */ get wmWriteLow(): number { return this.a.f64[(this.h + O_WM_WLOW) >>> 3]!; }
  /** @internal */ get wmWriteHigh(): number { return this.a.f64[(this.h + O_WM_WHIGH) >>> 3]!; }
  /** @internal read timeout in ms or null */ get timeoutRead(): number | null { const v = this.a.f64[(this.h + O_TO_READ) >>> 3]!; return v < 0 ? null : v; }
  /** @internal */ get timeoutWrite(): number | null { const v = this.a.f64[(this.h + O_TO_WRITE) >>> 3]!; return v < 0 ? null : v; }
  /** @internal */ get dnsError(): number { return this.a.i32[(this.h + O_DNSERR) >>> 2]!; }
  /** @internal */ set dnsError(v: number) { this.a.i32[(this.h + O_DNSERR) >>> 2] = v; }
  /** @internal */ get dead(): boolean {
    const i32 = this.a.i32; // plain reads, as in Evbuffer.live()
    return i32[(this.h + O_GEN) >>> 2] !== this.gen || (i32[(this.h + O_STATE) >>> 2]! & S_DEAD) !== 0;
  }

  // ---- lock + reference ---------------------------------------------------------------------------------------------
  /** @internal */
  live(): void {
    this.a.sync();
    if (this.dead) throw freedError('bufferevent');
  }
  /**
   * @internal Take the lock. On the first level, re-checks that the header is still this handle's (the lock's memory
   * is type-stable, so waiting was safe even if the bufferevent was freed meanwhile; its header must not be touched):
   * throws ERR_BEV_FREED without the lock. A dead bufferevent (S_DEAD) still locks, for its own finalization.
   */
  lockRaw(): void {
    const l = this.lockOff;
    if (l === 0) return;
    const r = acquire(this.a, l, this.h + O_GEN, this.gen); // src/shm/lock-wait.ts: remap, generation, dead holder
    if (r === GONE) throw freedError('bufferevent');
    if (r === REPAIR) this.input.repairAlone(); // a lock without a group: repair what this handle knows
  }
  /** @internal The lock for a public call: also refuses a bufferevent that died while this thread waited. */
  lockLive(): void {
    this.lockRaw();
    if (this.dead) {
      this.unlockRaw();
      throw freedError('bufferevent');
    }
  }
  /** @internal */ unlockRaw(): void { const l = this.lockOff; if (l !== 0) rlockUnlock(this.a.i32, l); }
  /**
   * @internal Take the lock only if it is free (or already this thread's); no liveness or recovery check beyond the
   * acquisition's own. For the owner's housekeeping, which must not block its loop. True when held.
   */
  tryLockOwn(): boolean {
    const l = this.lockOff;
    if (l === 0) return true;
    if (!rlockTryLock(this.a.i32, l)) return false;
    this.a.sync();
    if (afterDeadHolder(this.a, l) === REPAIR) this.input.repairAlone();
    return true;
  }
  /** @internal Lock debugging (evthread_enable_lock_debugging): throw unless this thread holds the lock. */
  assertLocked(): void {
    const l = this.lockOff;
    if (l !== 0) rlockAssertHeld(this.a.i32, l);
  }
  /**
   * @internal bufferevent_incref_and_lock_. The reference is counted as held by the lock holder (holdRefs) until the
   * matching decrefAndUnlock: if the thread dies in between, recovery drops it.
   */
  increfAndLock(): void {
    this.lockRaw();
    this.increfHeld();
  }
  private increfHeld(): void {
    const i32 = this.a.i32; // the refcount changes only under the lock (or in the one thread of an unlocked bev)
    i32[(this.h + O_REF) >>> 2]!++;
    i32[(this.h + O_HOLDREF) >>> 2]!++;
  }
  /** @internal increfAndLock for a public call (lockLive's check). */
  increfAndLockLive(): void {
    this.lockLive();
    this.increfHeld();
  }
  /** @internal bufferevent_decref_and_unlock_ for a reference taken by increfAndLock: 1 when it was the last. */
  decrefAndUnlock(): number {
    this.a.i32[(this.h + O_HOLDREF) >>> 2]!--;
    return this.dropRefAndUnlock();
  }
  /**
   * @internal Drop a reference that was not taken by increfAndLock (the user's, a scheduled runner's, a lookup's),
   * the caller holding the lock; releases it. Returns 1 when this dropped the last reference.
   */
  dropRefAndUnlock(): number {
    const left = --this.a.i32[(this.h + O_REF) >>> 2]!;
    if (left > 0) {
      this.unlockRaw();
      return 0;
    }
    // Last reference: dead at once, then unlink and finalize from the loop.
    markDead(this.a, this.h);
    this.lastRefGone();
    return 1;
  }

  /** @internal The last reference went (the bufferevent is marked dead, the lock held): unlink and finalize. */
  lastRefGone(): void {
    this.startFinalize();
  }

  /** @internal unlink now, queue the finalizer; releases the lock the caller holds. @thread owner */
  private startFinalize(): void {
    try {
      this.ops.unlink(this);
      this.cancelAll();
      const fin = new EvCallback(this.base, () => this.finalize(), 0, () => [this.a.i32, this.finalized ? 0 : this.lockOff]);
      this.finalizer = fin;
      this.base.finalizers.add(fin);
      this.base.activate(fin, 0);
    } finally {
      this.unlockRaw();
    }
  }

  /** @internal Cancel internal events and the deferred runner (event_callback_finalize_many_). */
  cancelAll(): void {
    rateLimitCancel(this);
    this.base.deactivate(this.deferred);
    if (this.remoteEvent !== null) this.base.deactivate(this.remoteEvent);
    unregisterOwned(this.a, this.h); // its evbuffers unregister when they are freed (Evbuffer.release)
  }

  /** @internal bufferevent_finalize_cb_: destruct, free the buffers, release the lock. Runs on the loop. */
  finalize(): void {
    if (this.finalizer) this.base.finalizers.delete(this.finalizer);
    if (this.finalized) return;
    this.finalized = true;
    const i32 = this.a.i32;
    this.lockRaw();
    const lockOff = this.lockOff;
    try {
      if (lockOff !== 0) this.leaveLockGroup(lockOff);
      this.ops.destruct(this);
      if (this.inbufWmEntry) this.inbufWmEntry = null;
      this.input.dropCallbacks();
      this.output.dropCallbacks();
      this.input.release();
      this.output.release();
      Atomics.or(i32, (this.h + O_STATE) >>> 2, S_FINALIZED);
    } finally {
      this.unlockRaw();
    }
    // The lock's memory goes back once nothing uses it; the header's generation is bumped before its block is reused,
    // so stale handles in any thread throw ERR_BEV_FREED instead of reading recycled memory.
    const threadsafe = (this.options & BEV_OPT_THREADSAFE) !== 0;
    this.afterFinalize();
    Atomics.add(i32, (this.h + O_GEN) >>> 2, 1);
    this.a.free(this.h);
    if (lockOff !== 0 && threadsafe) this.a.unrefLock(lockOff);
    const hooks = this.finalizeHooks;
    this.finalizeHooks = null;
    if (hooks) for (const fn of hooks) fn();
  }

  private finalizeHooks: Array<() => void> | null = null;
  /** @internal Run `fn` on the owner once this bufferevent is finalized (the runtime registry drops its entry). */
  onFinalize(fn: () => void): void {
    (this.finalizeHooks ??= []).push(fn);
  }

  /** @internal Hook for types (a filter drops its reference on the underlying here). */
  afterFinalize(): void {}

  // ---- callbacks ---------------------------------------------------------------------------------------------------
  /** @internal Schedule the deferred runner for the pending bits (a foreign handle asks the owner to). */
  scheduleDeferred(): void {
    if (this.base.scheduleDeferred(this.deferred)) this.a.i32[(this.h + O_REF) >>> 2]!++;
  }

  /** @internal bufferevent_run_readcb_ @locks held */
  runReadcb(options: number): void {
    if (this.runDataCb(this.readcb, PEND_READ, options)) this.inbufWmCheck();
  }

  /** @internal bufferevent_run_writecb_ @locks held */
  runWritecb(options: number): void {
    this.runDataCb(this.writecb, PEND_WRITE, options);
  }

  /**
   * Run a read or write callback now, or mark it pending for the deferred runner (a foreign handle always does:
   * callbacks are the owner's functions). Returns true when it ran the callback here. @locks held
   */
  runDataCb(cb: BevDataCb | null, pendBit: number, options: number): boolean {
    if (cb === null || this.freeing) return false;
    if ((this.options | options) & BEV_OPT_DEFER_CALLBACKS) {
      this.pendDataCb(pendBit);
      return false;
    }
    this.count(pendBit === PEND_READ ? ST_READCB : ST_WRITECB, 1);
    if (this.base.cbHist === null) cb!(this, this.cbarg);
    else this.runTimed(cb!, 0, false);
    return true;
  }

  /** A read/write (or, with `isEvent`, the event) callback run from I/O while the base records durations. */
  private runTimed(cb: BevDataCb | BevEventCb, what: number, isEvent: boolean): void {
    const t0 = this.base.cbStart();
    try {
      if (isEvent) (cb as BevEventCb)(this, what, this.cbarg);
      else (cb as BevDataCb)(this, this.cbarg);
    } finally {
      this.base.cbEnd(t0);
    }
  }

  /** @internal Mark a read or write callback pending and schedule the deferred runner. @locks held */
  pendDataCb(pendBit: number): void {
    this.a.i32[(this.h + O_CBPEND) >>> 2]! |= pendBit;
    this.scheduleDeferred();
  }

  /** @internal Mark events pending for the deferred runner (with the errno they carry) and schedule it. @locks held */
  pendEvent(what: number, errno: number): void {
    this.a.i32[(this.h + O_EVPEND) >>> 2]! |= what;
    this.a.i32[(this.h + O_ERRNO) >>> 2] = errno;
    this.scheduleDeferred();
  }

  /** @internal Add to one of the stats counters (table above). @locks held (or the bufferevent has no lock) */
  count(stat: number, n: number): void {
    this.a.f64[(this.h + O_STAT + stat) >>> 3]! += n;
  }
  /** @internal The bufferevent's I/O moved bytes into its input (or out of its output). */
  countRead(n: number): void {
    this.count(ST_READ, n);
  }
  countWritten(n: number): void {
    this.count(ST_WRITTEN, n);
  }

  /**
   * Counters of this bufferevent (not in libevent), from any thread with a handle: bytes its I/O read and wrote,
   * callbacks run, acquisitions of its lock (by any thread, through the bufferevent or its evbuffers) and how many of
   * them waited, for how long, and the current input and output lengths. The counters are read without the lock (each a moment old at most).
   */
  stats(): { bytesRead: number; bytesWritten: number; readCallbacks: number; writeCallbacks: number; eventCallbacks: number; lockAcquisitions: number; lockWaits: number; lockWaitMs: number; inputLength: number; outputLength: number } {
    this.live();
    const f = this.a.f64;
    const st = (this.h + O_STAT) >>> 3;
    const lk = this.lockOff !== 0 ? lockCounters(this.a, this.lockOff) : { acquired: 0, waited: 0, waitMs: 0 };
    return {
      bytesRead: f[st + (ST_READ >>> 3)]!,
      bytesWritten: f[st + (ST_WRITTEN >>> 3)]!,
      readCallbacks: f[st + (ST_READCB >>> 3)]!,
      writeCallbacks: f[st + (ST_WRITECB >>> 3)]!,
      eventCallbacks: f[st + (ST_EVENTCB >>> 3)]!,
      lockAcquisitions: lk.acquired,
      lockWaits: lk.waited,
      lockWaitMs: lk.waitMs,
      inputLength: this.input.getLength(),
      outputLength: this.output.getLength(),
    };
  }

  /** @internal incref_and_lock, run `fn`, decref_and_unlock (the shape of every libevent entry point). */
  withRef(fn: () => void): void {
    this.increfAndLock();
    try {
      fn();
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** @internal Observers of every event reported on the owner (a connect promise), before the event callback. */
  eventTaps: Array<(what: number, errno: number) => void> | null = null;

  /** @internal bufferevent_run_eventcb_ @locks held */
  runEventcb(what: number, options: number, errno = lastSocketErrno): void {
    if (this.eventTaps !== null) for (const tap of this.eventTaps.slice()) tap(what, errno);
    if (eventChannel.hasSubscribers) eventChannel.publish({ bev: this, what });
    if (this.errorcb === null || this.freeing) return;
    if ((this.options | options) & BEV_OPT_DEFER_CALLBACKS) {
      this.pendEvent(what, errno);
    } else {
      lastSocketErrno = errno;
      this.count(ST_EVENTCB, 1);
      if (this.base.cbHist === null) this.errorcb(this, what, this.cbarg);
      else this.runTimed(this.errorcb, what, true);
    }
  }

  /** @internal bufferevent_trigger_nolock_ @locks held */
  triggerNolock(iotype: number, options: number): void {
    this.assertLocked();
    if (iotype & EV_READ && (options & BEV_TRIG_IGNORE_WATERMARKS || this.input.lengthLocked() >= this.wmReadLow)) {
      this.runReadcb(options);
    }
    if (iotype & EV_WRITE && (options & BEV_TRIG_IGNORE_WATERMARKS || this.output.lengthLocked() <= this.wmWriteLow)) {
      this.runWritecb(options);
    }
  }

  /** @internal bufferevent_inbuf_wm_check: re-run the read callback (deferred) while input stays at/above high. */
  private inbufWmCheck(): void {
    if ((this.enabled & EV_READ) === 0 || this.readRoom(this.input.lengthLocked()) > 0) return;
    this.increfAndLock();
    this.triggerNolock(EV_READ, BEV_OPT_DEFER_CALLBACKS);
    this.decrefAndUnlock();
  }

  /** The deferred runner (bufferevent_run_deferred_callbacks_locked / _unlocked, by BEV_OPT_UNLOCK_CALLBACKS). */
  private runDeferred(unlocked: boolean): void {
    this.lockRaw();
    try {
      this.runPendingCallbacks(unlocked);
    } finally {
      this.dropRefAndUnlock(); // the scheduling reference
    }
  }

  /** Steps 1-4 of libevent's deferred runner; `unlocked` releases the lock around each user call. */
  private runPendingCallbacks(unlocked: boolean): void {
    // `this.a.i32` is re-read at every access: a user callback may grow (and so remap) the arena.
    const cbw = (this.h + O_CBPEND) >>> 2;
    const evw = (this.h + O_EVPEND) >>> 2;
    const call = (f: () => void): void => {
      if (!unlocked) return f();
      this.unlockRaw();
      try {
        // re-checked right before the call: a free in another thread after this point is the one in-flight call a
        // user of UNLOCK_CALLBACKS must tolerate (libevent C7)
        if (!this.freeing) f();
      } finally {
        this.lockRaw();
      }
    };
    if (this.freeing) return; // freed in another thread: nothing starts (Decision 5)
    if (this.a.i32[evw]! & BEV_EVENT_CONNECTED && this.errorcb) {
      this.a.i32[evw]! &= ~BEV_EVENT_CONNECTED;
      const cb = this.errorcb;
      const arg = this.cbarg;
      this.count(ST_EVENTCB, 1);
      call(() => cb(this, BEV_EVENT_CONNECTED, arg));
    }
    if (this.a.i32[cbw]! & PEND_READ && this.readcb && !this.freeing) {
      this.a.i32[cbw]! &= ~PEND_READ;
      const cb = this.readcb;
      const arg = this.cbarg;
      this.count(ST_READCB, 1);
      call(() => cb(this, arg));
      this.inbufWmCheck();
    }
    if (this.a.i32[cbw]! & PEND_WRITE && this.writecb && !this.freeing) {
      this.a.i32[cbw]! &= ~PEND_WRITE;
      const cb = this.writecb;
      const arg = this.cbarg;
      this.count(ST_WRITECB, 1);
      call(() => cb(this, arg));
    }
    if (this.a.i32[evw]! !== 0 && this.errorcb && !this.freeing) {
      const what = this.a.i32[evw]!;
      this.a.i32[evw] = 0;
      lastSocketErrno = this.a.i32[(this.h + O_ERRNO) >>> 2]!;
      const cb = this.errorcb;
      const arg = this.cbarg;
      this.count(ST_EVENTCB, 1);
      call(() => cb(this, what, arg));
    }
  }

  // ---- suspend / unsuspend -----------------------------------------------------------------------------------------
  /** @internal bufferevent_suspend_read_ @locks held */
  suspendRead(what: number): void {
    this.assertLocked();
    const w = (this.h + O_RSUSP) >>> 2;
    const was = this.a.i32[w]!;
    this.a.i32[w] = was | what;
    if (was === 0) this.ops.disable(this, EV_READ);
  }
  /** @internal */
  unsuspendRead(what: number): void {
    const w = (this.h + O_RSUSP) >>> 2;
    this.a.i32[w]! &= ~what;
    if (this.a.i32[w] === 0 && this.enabled & EV_READ) this.ops.enable(this, EV_READ);
  }
  /** @internal */
  suspendWrite(what: number): void {
    this.assertLocked();
    const w = (this.h + O_WSUSP) >>> 2;
    const was = this.a.i32[w]!;
    this.a.i32[w] = was | what;
    if (was === 0) this.ops.disable(this, EV_WRITE);
  }
  /** @internal */
  unsuspendWrite(what: number): void {
    const w = (this.h + O_WSUSP) >>> 2;
    this.a.i32[w]! &= ~what;
    if (this.a.i32[w] === 0 && this.enabled & EV_WRITE) this.ops.enable(this, EV_WRITE);
  }

  // ---- public API (bufferevent.c) ----------------------------------------------------------------------------------
  /** bufferevent_setcb: set the read, write and event callbacks and their argument (null turns one off). Owner thread only. */
  setcb(readcb: BevDataCb | null, writecb: BevDataCb | null, eventcb: BevEventCb | null, cbarg: unknown): void {
    this.live();
    const r = fnOrNull<BevDataCb>(readcb, 'readcb');
    const w = fnOrNull<BevDataCb>(writecb, 'writecb');
    const e = fnOrNull<BevEventCb>(eventcb, 'eventcb');
    if (THREAD_TAG !== this.a.i32[(this.h + O_OWNER) >>> 2]) {
      throw codedError('ERR_BEV_WRONG_THREAD', 'bufferevent_setcb must run on the thread that owns the bufferevent');
    }
    this.lockLive();
    this.readcb = r;
    this.writecb = w;
    this.errorcb = e;
    this.cbarg = cbarg;
    this.unlockRaw();
  }

  /** bufferevent_getcb: write the callbacks and their argument into `out`. Owner thread only. */
  getcb(out: { readcb?: BevDataCb | null; writecb?: BevDataCb | null; eventcb?: BevEventCb | null; cbarg?: unknown } | null): void {
    this.live();
    this.ownerOnly('bufferevent_getcb');
    const o = objOrNull<{ readcb?: unknown; writecb?: unknown; eventcb?: unknown; cbarg?: unknown }>(out, 'out');
    if (!o) return;
    this.lockLive();
    const got = { readcb: this.readcb, writecb: this.writecb, eventcb: this.errorcb, cbarg: this.cbarg };
    this.unlockRaw();
    // the caller's object is written after the lock is released: a throwing setter cannot leave it held
    o.readcb = got.readcb;
    o.writecb = got.writecb;
    o.eventcb = got.eventcb;
    o.cbarg = got.cbarg;
  }

  /** bufferevent_enable: start reading and/or writing (EV_READ, EV_WRITE). 0, or -1 on failure. */
  enable(event: number): number {
    this.live();
    const ev = maskArg(event, 'event') & (EV_READ | EV_WRITE);
    this.increfAndLockLive();
    const before = this.enabled;
    this.enabled = before | ev;
    let r = 0;
    const impl = this.inEffect(ev);
    if (impl && this.ops.enable(this, impl) < 0) r = -1;
    this.decrefAndUnlock();
    return r;
  }

  /** bufferevent_disable: stop reading and/or writing (EV_READ, EV_WRITE). 0, or -1 on failure. */
  disable(event: number): number {
    this.live();
    const ev = maskArg(event, 'event') & (EV_READ | EV_WRITE);
    this.increfAndLockLive();
    this.enabled = this.enabled & ~ev;
    const r = ev && this.ops.disable(this, ev) < 0 ? -1 : 0;
    this.decrefAndUnlock();
    return r;
  }

  getEnabled(): number {
    this.live();
    this.lockLive();
    const e = this.enabled;
    this.unlockRaw();
    return e;
  }

  /** bufferevent_setwatermark: set the read and/or write low and high watermarks (0 for none). */
  setwatermark(events: number, lowmark: number, highmark: number): void {
    this.live();
    const ev = maskArg(events, 'events');
    const low = sizeArg(lowmark, 'lowmark');
    const high = sizeArg(highmark, 'highmark');
    this.increfAndLockLive();
    const f64 = this.a.f64;
    if (ev & EV_WRITE) {
      f64[(this.h + O_WM_WLOW) >>> 3] = low;
      f64[(this.h + O_WM_WHIGH) >>> 3] = high;
    }
    if (ev & EV_READ) {
      f64[(this.h + O_WM_RLOW) >>> 3] = low;
      f64[(this.h + O_WM_RHIGH) >>> 3] = high;
      this.readWatermarkChanged();
    }
    this.decrefAndUnlock();
  }

  /** @internal The read watermarks changed: re-apply them (a foreign handle asks the owner to). @locks held */
  readWatermarkChanged(): void {
    this.applyWatermarks();
  }

  /** Install or disable the read-high-watermark callback and re-evaluate suspension. @thread owner @locks held */
  private applyWatermarks(): void {
    {
      const high = this.wmReadHigh;
      if (high) {
        if (this.inbufWmEntry === null) {
          this.inbufWmEntry = this.input.addCbInternal(
            () => this.inbufWmCb(),
            null,
            EVBUFFER_CB_ENABLED | EVBUFFER_CB_NODEFER,
          );
        } else {
          this.inbufWmEntry.flags |= EVBUFFER_CB_ENABLED;
        }
        if (this.input.lengthLocked() >= high) this.suspendRead(BEV_SUSPEND_WM);
        else this.unsuspendRead(BEV_SUSPEND_WM);
      } else {
        if (this.inbufWmEntry) this.inbufWmEntry.flags &= ~EVBUFFER_CB_ENABLED;
        this.unsuspendRead(BEV_SUSPEND_WM);
      }
      this.readLimitChanged();
    }
  }

  /** @internal The read high watermark changed: a socket re-sizes the region its next read lands in. */
  readLimitChanged(): void {}

  /** bufferevent_inbuf_wm_cb: any change to the input re-evaluates the read high watermark. @locks held */
  private inbufWmCb(): void {
    const room = this.readRoom(this.input.lengthLocked());
    if (room === Infinity) return;
    if (room <= 0) this.suspendRead(BEV_SUSPEND_WM);
    else this.unsuspendRead(BEV_SUSPEND_WM);
  }

  /** bufferevent_getwatermark: write one direction's watermarks into `out`. 0, or -1 when `events` names both or none. */
  getwatermark(events: number, out: { lowmark?: number; highmark?: number } | null): number {
    this.live();
    const ev = maskArg(events, 'events');
    const o = objOrNull<{ low?: number; high?: number }>(out, 'out');
    if (ev !== EV_READ && ev !== EV_WRITE) return -1;
    this.lockLive();
    const low = ev === EV_READ ? this.wmReadLow : this.wmWriteLow;
    const high = ev === EV_READ ? this.wmReadHigh : this.wmWriteHigh;
    this.unlockRaw();
    if (o) {
      // written after the lock is released: a throwing setter cannot leave it held
      o.low = low;
      o.high = high;
    }
    return 0;
  }

  getInput(): Evbuffer {
    this.live();
    return this.input;
  }
  getOutput(): Evbuffer {
    this.live();
    return this.output;
  }
  getBase(): EventBase {
    this.live();
    return this.base;
  }

  /** bufferevent_write: append bytes (a string is UTF-8) to the output. 0, or -1. */
  write(data: Uint8Array | string, size?: number): number {
    this.live();
    inputSize(data, size);
    return this.output.add(data, size) === 0 ? 0 : -1;
  }

  /** bufferevent_write_buffer: move all of `buf` to the end of the output. 0, or -1. */
  writeBuffer(buf: Evbuffer): number {
    this.live();
    if (!Evbuffer.isReal(buf)) throw typeError('buf', 'an Evbuffer', buf);
    return this.output.addBuffer(buf) === 0 ? 0 : -1;
  }

  /** bufferevent_read: returns the byte count, 0 when empty or on failure (libevent's trap, C16). */
  read(data: Uint8Array, size?: number): number {
    this.live();
    const r = this.input.remove(data, size);
    return r < 0 ? 0 : r;
  }

  /** bufferevent_read_buffer: move all of the input to the end of `buf`. 0, or -1. */
  readBuffer(buf: Evbuffer): number {
    this.live();
    if (!Evbuffer.isReal(buf)) throw typeError('buf', 'an Evbuffer', buf);
    return buf.addBuffer(this.input) === 0 ? 0 : -1;
  }

  /** bufferevent_set_timeouts: the read and write timeouts (null or a zero timeval for none). 0, or -1. */
  setTimeouts(tvRead: Timeval | null, tvWrite: Timeval | null): number {
    this.live();
    const r = timeoutArg(tvRead, 'timeout_read');
    const w = timeoutArg(tvWrite, 'timeout_write');
    this.increfAndLockLive();
    this.a.f64[(this.h + O_TO_READ) >>> 3] = r;
    this.a.f64[(this.h + O_TO_WRITE) >>> 3] = w;
    const res = this.ops.adjTimeouts(this);
    this.decrefAndUnlock();
    return res;
  }

  /** bufferevent_flush: push data through (BEV_NORMAL, BEV_FLUSH, BEV_FINISHED). -1 failed, 0 nothing, 1 something was flushed. */
  flush(iotype: number, mode: number): number {
    this.live();
    const io = maskArg(iotype, 'iotype');
    const m = intArg(mode, 'mode');
    if (m !== BEV_NORMAL && m !== BEV_FLUSH && m !== BEV_FINISHED) return -1;
    return this.flushChecked(io, m);
  }

  /** @internal flush after its checks (a foreign handle asks the owner to). */
  flushChecked(io: number, m: number): number {
    this.increfAndLockLive();
    const r = this.ops.flush(this, io, m);
    this.decrefAndUnlock();
    return r;
  }

  /** bufferevent_priority_set: only socket bufferevents support it (-1 otherwise). */
  prioritySet(pri: number): number {
    this.live();
    intArg(pri, 'pri');
    return -1;
  }
  getPriority(): number {
    this.live();
    return this.sharedPriority;
  }

  /** bufferevent_setfd: give the bufferevent a socket. -1 for types that have none. */
  setfd(_fd: net.Socket | number): number {
    this.live();
    return -1;
  }
  /** bufferevent_replacefd: like setfd, closing the old socket under BEV_OPT_CLOSE_ON_FREE. -1 for types that have none. */
  replacefd(_fd: net.Socket | number): number {
    this.live();
    return -1;
  }
  getfd(): number {
    this.live();
    return -1;
  }
  /** bufferevent_get_underlying: the bufferevent a filter is built on, or null (a filter's override). */
  getUnderlying(): Bufferevent | null {
    this.live();
    return null;
  }
  /** bufferevent_pair_get_partner: the other end of a pair, or null for other types (a pair's override). */
  getPartner(): Bufferevent | null {
    this.live();
    return null;
  }
  /** @internal The Node socket under the bufferevent (a socket's override), for the Duplex's addresses and half-close. */
  get sock(): net.Socket | null {
    return null;
  }

  /** bufferevent_lock: recursive; takes a reference too (so the object outlives a free while locked). */
  lockPublic(): void {
    this.live();
    this.increfAndLockLive();
    const l = this.lockOff;
    if (l !== 0 && rlockOwnerDied(this.a.i32, l, true) !== 0) {
      // the caller holds the lock (and a reference) now: check the data, then bufferevent_unlock
      throw codedError('ERR_BEV_OWNER_DIED', 'the thread that held this bufferevent lock died; the lock is now yours');
    }
  }
  unlockPublic(): void {
    this.live();
    const l = this.lockOff;
    if (l !== 0) {
      // validate before dropping the reference: unlock by a non-holder must not decrement anything
      if (this.a.i32[(l >>> 2) + 1] !== THREAD_TAG) {
        throw codedError('ERR_BEV_LOCK_NOT_HELD', 'bufferevent_unlock by a thread that does not hold the lock');
      }
    }
    this.decrefAndUnlock();
  }

  incref(): void {
    this.live();
    this.lockLive();
    this.a.i32[(this.h + O_REF) >>> 2]!++; // the user's reference: not held by the lock
    this.unlockRaw();
  }
  decref(): number {
    this.live();
    this.lockLive();
    return this.dropRefAndUnlock();
  }

  /** bufferevent_trigger: run the read and/or write callback as if data had moved (BEV_TRIG_* options). */
  trigger(iotype: number, options: number): void {
    this.live();
    const io = maskArg(iotype, 'iotype');
    const opt = maskArg(options, 'options');
    this.increfAndLockLive();
    try {
      this.triggerNolock(io, opt); // a foreign handle's callbacks are always deferred to the owner (runDataCb)
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** bufferevent_trigger_event: run the event callback with `what` (BEV_EVENT_* bits). */
  triggerEvent(what: number, options: number): void {
    this.live();
    const w = maskArg(what, 'what');
    const opt = maskArg(options, 'options');
    this.increfAndLockLive();
    try {
      this.runEventcb(w, opt); // a foreign handle's are deferred to the owner (runEventcb)
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** `using bev = ...`: bufferevent_free at the end of the scope (nothing when it was freed already). On an imported
   * handle this frees the shared bufferevent, as bufferevent_free does. */
  [Symbol.dispose](): void {
    if (!this.dead) this.free();
  }

  /** bufferevent_free: drop the callbacks and the user's reference; finalization follows from the loop. */
  free(): void {
    this.live();
    if (freeChannel.hasSubscribers) freeChannel.publish({ bev: this });
    this.lockLive();
    Atomics.or(this.a.i32, (this.h + O_STATE) >>> 2, S_FREEING); // no user callback starts from now on, in any thread
    this.dropCallbacks();
    this.dropRefAndUnlock(); // the user's reference
  }

  /** @internal bufferevent_free: no callback runs any more, pending work is cancelled (a foreign handle asks the owner to). @locks held */
  dropCallbacks(): void {
    this.readcb = null;
    this.writecb = null;
    this.errorcb = null;
    this.cancelPendingWork();
    this.cbarg = null;
  }

  /** @internal ctrl(CANCEL_ALL): types cancel what they started (a DNS lookup). */
  cancelPendingWork(): void {}

  /** @internal */
  static checkOptions(options: unknown): number | null {
    const o = maskArg(options, 'options');
    if (o & ~BEV_OPT_ALL) {
      debugWhy('bufferevent not made: unknown option bits 0x%s', (o & ~BEV_OPT_ALL).toString(16));
      return null;
    }
    if (o & BEV_OPT_UNLOCK_CALLBACKS && !(o & BEV_OPT_DEFER_CALLBACKS)) {
      debugWhy('bufferevent not made: UNLOCK_CALLBACKS requires DEFER_CALLBACKS'); // libevent logs the same and returns NULL
      return null;
    }
    return o;
  }
}

export function checkBase(base: unknown): EventBase {
  if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase', base);
  base.live();
  base.inThread();
  return base;
}

export function checkBev(bev: unknown, name = 'bev'): Bufferevent {
  if (!Bufferevent.isReal(bev)) throw typeError(name, 'a Bufferevent', bev);
  return bev;
}


function noop(): void {}
