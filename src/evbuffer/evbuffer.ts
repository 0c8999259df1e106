import { Arena, localArena } from '../shm/arena.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { rlockAssertHeld, rlockLock, rlockRef, rlockUnlock, rlockMarkValidated, rlockOwnerDied, rlockDepth } from '../shm/rlock.ts';
import { acquire, tryAcquire, acquireAsync, HELD, GONE, BUSY } from '../shm/lock-wait.ts';
import { lockForForeignWrite, queueForeignWrite } from './remote-write.ts';
import { defineGroupKind, groupHead, groupMember, setGroupHead, GROUP_EVBUFFER } from '../shm/lock-group.ts';
import * as S from './storage.ts';
import { codedError, freedError, isFreedError, rangeError, typeError, cloneGuard } from '../errors.ts';
import { postToOwner, reportDeliveryError, unregisterOwned } from '../shm/owner.ts';
import { KIND_EVBUF } from '../shm/mailbox.ts';
import { inputSize, outBytes, sizeArg, ssizeArg, fnOrNull, objOrNull, intArg, isBytes, bytesOf } from '../validate.ts';
import { searchEol, searchRange, ptrSet, peek, eolStyle, ptrPos, type EvbufferPtr, type IoVec } from './search.ts';
import { formatPrintf } from './printf.ts';

/** Constants of buffer.h. */
export { EVBUFFER_EOL_ANY, EVBUFFER_EOL_CRLF, EVBUFFER_EOL_CRLF_STRICT, EVBUFFER_EOL_LF, EVBUFFER_EOL_NUL } from './eol.ts';
import { findEol, foundEolLength } from './eol.ts';
export { EVBUFFER_PTR_SET, EVBUFFER_PTR_ADD, type EvbufferPtr, type IoVec } from './search.ts';
export const EVBUFFER_CB_ENABLED = 1;
/** Internal: the callback must run at once, never deferred (libevent's EVBUFFER_CB_NODEFER). */
export const EVBUFFER_CB_NODEFER = 2;
const EVBUFFER_CB_OBSOLETE = 0x40000;

export interface EvbufferCbInfo {
  orig_size: number;
  n_added: number;
  n_deleted: number;
}
export type EvbufferCbFunc = (buf: Evbuffer, info: EvbufferCbInfo, arg: unknown) => void;
export type EvbufferObsoleteCb = (buf: Evbuffer, oldLen: number, newLen: number, arg: unknown) => void;

/** A registered callback (`struct evbuffer_cb_entry`). Opaque to users. */
export class EvbufferCbEntry {
  /** @internal */ cb: EvbufferCbFunc | EvbufferObsoleteCb;
  /** @internal */ arg: unknown;
  /** @internal */ flags: number;
  /** @internal */ removed = false;
  /** @internal */ constructor(cb: EvbufferCbFunc | EvbufferObsoleteCb, arg: unknown, flags: number) {
    if (typeof cb !== 'function') throw typeError('cb', 'a function (entries come from evbuffer_add_cb)', cb);
    this.cb = cb;
    this.arg = arg;
    this.flags = flags;
  }
}

/** The callback list of every evbuffer that has none: most buffers never get one (a copy is made on the first). */
const NO_CBS: EvbufferCbEntry[] = Object.freeze([]) as unknown as EvbufferCbEntry[];


type CleanupFn = (data: Uint8Array, size: number, arg: unknown) => void;
interface RefCleanup {
  end: number;
  fn: CleanupFn;
  data: Uint8Array;
  size: number;
  arg: unknown;
}

defineGroupKind(GROUP_EVBUFFER, (a, h) => {
  S.repair(a, h);
  return 0;
});

/** Run every cleanup even if some throw; the first error is rethrown after the last one ran. */
function runCleanups(list: RefCleanup[]): void {
  let first: { err: unknown } | null = null;
  for (const r of list) {
    try {
      r.fn(r.data, r.size, r.arg);
    } catch (err) {
      first ??= { err };
    }
  }
  if (first !== null) throw first.err;
}

/** A change notice for a buffer that another thread freed after its change has nothing to deliver; other errors go to
 * the running loop. */
function reportUnlessFreed(e: unknown): void {
  if (!isFreedError(e)) reportDeliveryError(e);
}

const EVBUFFER_CLONE_GUARD = cloneGuard(
  'an evbuffer',
  'post evbuffer_export(buf) (made with evbuffer_enable_locking) and call evbuffer_import() there',
);

/**
 * Evbuffer: a handle on a byte queue in shared memory (layout in storage.ts).
 *
 * Thread contract: an evbuffer without a lock must be used by one thread at a time. With a lock (its bufferevent is
 * THREADSAFE, or `evbuffer_enable_locking` was called) every method takes it, so any thread holding a handle may
 * call any method. Callbacks added with `add_cb` are functions of the thread that added them; they run in the
 * thread that made the change, with the lock held (libevent's rule), and only in a thread that has them.
 */
export class Evbuffer {
  /** A brand that only real instances carry (an object made from the prototype or a Proxy does not). */
  readonly #real = true;
  /** @internal Makes postMessage(this) fail with a message naming what to post instead (errors.ts cloneGuard). */
  readonly cloneGuard = EVBUFFER_CLONE_GUARD;
  /** @internal True for an instance built by this class's constructor. */
  static isReal(v: unknown): v is Evbuffer {
    return typeof v === 'object' && v !== null && #real in v;
  }
  /** @internal */ readonly a: Arena;
  /** @internal */ readonly h: number;
  /** @internal */ lockOff: number;
  /** @internal The callbacks, newest first; NO_CBS (shared, frozen) until the first is added. */ cbs: EvbufferCbEntry[] = NO_CBS;
  /** @internal */ refCleanups: RefCleanup[] | null = null;
  /** @internal */ reservation: { chain: number; at: number; len: number } | null = null;
  /** @internal */ freed = false;
  /** @internal Set while a callback pass runs, to count nested changes. */ inCallbacks = 0;

  /** @internal */
  /** @internal generation of the header this handle refers to (a stale handle throws ERR_BEV_FREED) */ readonly gen: number;
  /** @internal true when this thread is not the buffer's owner (changes are posted to the owner's mailbox) */ readonly remote: boolean;

  constructor(a: Arena, h: number) {
    if (!(a instanceof Arena) || typeof h !== 'number') throw typeError('Evbuffer', 'built by evbuffer_new()', a);
    this.a = a;
    this.h = h;
    this.gen = Atomics.load(a.i32, (h + S.H_GEN) >>> 2);
    this.remote = a.i32[(h + S.H_OWNER) >>> 2] !== THREAD_TAG;
    this.lockOff = a.i32[(h + S.H_LOCK) >>> 2]! >>> 0;
  }

  /** A new empty buffer in this thread's arena, optionally sharing the lock at `lockOff` (which gains a reference). */
  static create(lockOff = 0): Evbuffer {
    const a = localArena();
    const h = a.alloc(S.HDR_BYTES);
    if (lockOff !== 0) rlockRef(a.i32, lockOff);
    S.hdrInit(a, h, lockOff, THREAD_TAG);
    return new Evbuffer(a, h);
  }

  // ---- lock and liveness -------------------------------------------------------------------------------------------

  /** @internal Throw ERR_BEV_FREED when the buffer is gone (checked in shared memory: any thread may free it). */
  live(): void {
    this.a.sync();
    // Plain reads: the check is for calls made after a free (every such call sees the new generation or flag once the
    // freeing thread released the lock). A free racing with a call in flight is not excluded by an atomic read either:
    // that is the use-after-free race libevent documents (C4), and the generation keeps it from touching reused memory.
    const i32 = this.a.i32;
    if (this.freed || i32[(this.h + S.H_GEN) >>> 2] !== this.gen || (i32[(this.h + S.H_FLAGS) >>> 2]! & (S.F_FREED | S.F_DEAD)) !== 0) {
      this.freed = true;
      throw freedError('evbuffer');
    }
  }

  /**
   * @internal Take the buffer's lock (no effect on an unlocked buffer). On the first level, re-checks that this
   * handle's buffer still exists: the buffer may have been freed while this thread waited, and the lock's memory is
   * type-stable (src/shm/arena.ts newLock), so the wait itself was safe but the header must not be touched. Throws
   * ERR_BEV_FREED then, without the lock. Buffers of a dead bufferevent (F_DEAD) are still there for their owner to free.
   */
  lockRaw(): void {
    const l = this.lockOff;
    if (l === 0) return;
    const r = acquire(this.a, l, this.h + S.H_GEN, this.gen);
    if (r !== HELD) this.settle(r);
  }

  /** @internal What an acquisition (src/shm/lock-wait.ts) left to do: GONE throws ERR_BEV_FREED, REPAIR repairs this buffer. */
  settle(r: number): void {
    if (r === GONE) {
      this.freed = true;
      throw freedError('evbuffer');
    }
    this.repairAlone();
  }

  /** @internal Take the lock if it is free (or already ours); true when held. An unlocked buffer always succeeds. */
  tryLock(): boolean {
    const l = this.lockOff;
    if (l === 0) return true;
    const r = tryAcquire(this.a, l, this.h + S.H_GEN, this.gen);
    if (r === BUSY) return false;
    if (r !== HELD) this.settle(r);
    return true;
  }

  /** @internal Acquire without blocking this thread's loop; rejects with ERR_BEV_FREED as `lock` throws. */
  async lockAsyncRaw(): Promise<void> {
    const l = this.lockOff;
    if (l === 0) return;
    const r = await acquireAsync(this.a, l, this.h + S.H_GEN, this.gen);
    if (r !== HELD) this.settle(r);
  }

  /**
   * @internal Run `locked` holding the lock, then `after` without it (also when the buffer was freed meanwhile: then
   * `locked` does not run). Now if the lock is free; else once an asynchronous acquire gets it, so this thread's loop
   * never blocks on another thread's hold. Either way the acquisition makes its checks (src/shm/lock-wait.ts). On the
   * asynchronous path an error thrown by `locked` or `after` goes to `onError`. True when it ran synchronously.
   */
  whenLocked(locked: () => void, after: (() => void) | null, onError: (e: unknown) => void): boolean {
    if (this.tryLock()) {
      try {
        locked();
      } finally {
        this.unlockRaw();
      }
      after?.();
      return true;
    }
    this.lockAsyncRaw()
      .then(
        () => {
          try {
            locked();
          } finally {
            this.unlockRaw();
          }
        },
        (e: unknown) => {
          if (!isFreedError(e)) throw e;
        },
      )
      .then(after ?? undefined)
      .catch(onError);
    return false;
  }

  /**
   * @internal A thread died holding our lock, and the lock has no group to repair (src/shm/lock-group.ts; the
   * acquisition tried it): check and repair this buffer, then mark the lock validated. @locks held
   */
  repairAlone(): void {
    S.repair(this.a, this.h);
    rlockMarkValidated(this.a.i32, this.lockOff);
  }
  /** @internal */
  unlockRaw(): void {
    if (this.lockOff !== 0) rlockUnlock(this.a.i32, this.lockOff);
  }
  /** @internal Lock debugging: assert the lock is held (no-op for unlocked buffers). */
  assertLocked(): void {
    if (this.lockOff !== 0) rlockAssertHeld(this.a.i32, this.lockOff);
  }

  /** evbuffer_enable_locking(buf, NULL): give the buffer its own recursive lock. -1 if it already has one. */
  enableLocking(): number {
    this.live();
    if (this.lockOff !== 0) return -1;
    const off = this.a.newLock();
    this.a.i32[(this.h + S.H_LOCK) >>> 2] = off;
    this.lockOff = off;
    rlockLock(this.a.i32, off);
    setGroupHead(this.a, off, groupMember(this.h, GROUP_EVBUFFER));
    rlockUnlock(this.a.i32, off);
    return 0;
  }

  /** @internal Install a shared lock (a bufferevent's) on a buffer that has none. */
  adoptLock(lockOff: number): void {
    if (this.lockOff !== 0 || lockOff === 0) return;
    rlockRef(this.a.i32, lockOff);
    this.a.i32[(this.h + S.H_LOCK) >>> 2] = lockOff;
    this.lockOff = lockOff;
  }

  /** evbuffer_lock: recursive; no effect on an unlocked buffer. @thread any */
  lockPublic(): void {
    this.live();
    this.lockRaw();
    if (this.lockOff !== 0 && rlockOwnerDied(this.a.i32, this.lockOff, true) !== 0) {
      // held now, by us: the caller should check the data, then evbuffer_unlock (pthread's EOWNERDEAD)
      throw codedError('ERR_BEV_OWNER_DIED', 'the thread that held this evbuffer lock died; the lock is now yours');
    }
  }
  unlockPublic(): void {
    this.live();
    this.unlockRaw();
  }

  /** `using buf = evbuffer_new()`: evbuffer_free at the end of the scope (nothing when it was freed already). */
  [Symbol.dispose](): void {
    if (this.freed) return;
    try {
      this.free();
    } catch (e) {
      if (!isFreedError(e)) throw e; // freed meanwhile, by another handle
    }
  }

  /** evbuffer_free. Drops the user's reference; the memory goes back to the arena when nothing else holds it. */
  free(): void {
    this.live();
    const l = this.lockOff;
    const i32 = this.a.i32;
    // evbuffer_free inside evbuffer_lock of a buffer with a lock of its own: the caller's levels end with the buffer
    // (no handle can unlock it any more), so a thread waiting for the lock wakes and sees the buffer gone
    const held = l !== 0 && rlockDepth(i32, l) > 0 && groupHead(this.a, l) === groupMember(this.h, GROUP_EVBUFFER);
    this.release();
    if (held) while (rlockDepth(this.a.i32, l) > 0) rlockUnlock(this.a.i32, l);
  }

  /** @internal Drop a reference without the liveness check (a bufferevent's finalization frees its dead buffers). */
  release(): void {
    this.lockRaw();
    const i32 = this.a.i32;
    const last = Atomics.sub(i32, (this.h + S.H_REFCNT) >>> 2, 1) === 1;
    if (!last) {
      this.unlockRaw();
      this.freed = true;
      return;
    }
    Atomics.or(i32, (this.h + S.H_FLAGS) >>> 2, S.F_FREED); // publish: every handle now throws ERR_BEV_FREED
    unregisterOwned(this.a, this.h);
    S.freeAll(this.a, this.h);
    const cleanups = this.refCleanups;
    this.refCleanups = null;
    this.cbs = NO_CBS;
    this.freed = true;
    const lockOff = this.lockOff;
    this.unlockRaw();
    Atomics.add(i32, (this.h + S.H_GEN) >>> 2, 1); // publish: every handle in every thread is now stale
    this.a.free(this.h);
    if (lockOff !== 0) this.a.unrefLock(lockOff);
    // reference cleanups run last, with the memory already returned: one that throws loses nothing
    if (cleanups !== null) runCleanups(cleanups);
  }

  /** @internal Take a reference on the header (an evbuffer handle shared by another object). */
  incref(): void {
    Atomics.add(this.a.i32, (this.h + S.H_REFCNT) >>> 2, 1);
  }

  // ---- callbacks ---------------------------------------------------------------------------------------------------

  /** @internal Run the callbacks for the changes since the last pass (evbuffer_invoke_callbacks_). @locks held */
  invokeCallbacks(): void {
    this.assertLocked();
    // Every change ends here (also the raw storage moves and drains of pair.ts and socket.ts): reference cleanups
    // whose bytes have been drained run first, as libevent frees the chain inside the drain.
    if (this.refCleanups !== null) this.runRefCleanups(false);
    const a = this.a;
    const h = this.h;
    const nadd = a.f64[(h + S.H_NADD) >>> 3]!;
    const ndel = a.f64[(h + S.H_NDEL) >>> 3]!;
    if (nadd === 0 && ndel === 0) return;
    if (this.remote) {
      // Callbacks belong to the owner thread: leave the counts accumulating and ask the owner to run them.
      postToOwner(a, h + S.H_NOTIFY, h, 1, KIND_EVBUF);
      return;
    }
    a.f64[(h + S.H_NADD) >>> 3] = 0;
    a.f64[(h + S.H_NDEL) >>> 3] = 0;
    const cbs = this.cbs;
    if (cbs.length === 0) return;
    const newSize = S.length(a, h);
    const info: EvbufferCbInfo = { orig_size: newSize - nadd + ndel, n_added: nadd, n_deleted: ndel };
    // Entries added during this pass are not called in it; removed ones are skipped. One entry (a bufferevent's
    // own callback, the common case) needs no snapshot: anything added meanwhile comes after it.
    if (cbs.length === 1) {
      this.callEntry(cbs[0]!, info, newSize);
      return;
    }
    const snapshot = cbs.slice();
    for (let i = 0; i < snapshot.length; i++) this.callEntry(snapshot[i]!, info, newSize);
  }

  private callEntry(e: EvbufferCbEntry, info: EvbufferCbInfo, newSize: number): void {
    if (e.removed || (e.flags & EVBUFFER_CB_ENABLED) === 0) return;
    if (e.flags & EVBUFFER_CB_OBSOLETE) (e.cb as EvbufferObsoleteCb)(this, info.orig_size, newSize, e.arg);
    else (e.cb as EvbufferCbFunc)(this, info, e.arg);
  }

  /** @internal End of every modifying operation: callbacks, reference cleanups, unlock. */
  private done(): void {
    try {
      this.invokeCallbacks();
    } finally {
      this.unlockRaw();
    }
  }

  /**
   * @internal Run a modification holding the lock (the caller took it): refuses a buffer freed while we waited for
   * the lock (ERR_BEV_FREED), and always releases the lock, even when the storage throws (e.g. the arena is full).
   * `refused` is what to return when a freeze flag in `frozen` is set. Callbacks run after a successful change.
   */
  /** Under the lock: throw ERR_BEV_FREED if the buffer was freed while we waited; true when `frozen` is set. */
  private frozenLocked(frozen: number): boolean {
    const f = this.flags();
    if (f & (S.F_FREED | S.F_DEAD) || this.a.i32[(this.h + S.H_GEN) >>> 2] !== this.gen) throw freedError('evbuffer');
    return (f & frozen) !== 0;
  }

  private modifyLocked<T>(frozen: number, refused: T, fn: () => T): T {
    let ok = false;
    try {
      if (this.frozenLocked(frozen)) return refused;
      const r = fn();
      ok = true;
      return r;
    } finally {
      if (ok) this.done();
      else this.unlockRaw();
    }
  }

  /** @internal The mailbox: another thread changed this buffer; run the callbacks for it. @thread owner */
  remoteRequest(_bits: number): void {
    if (this.freed) return;
    try {
      this.whenLocked(() => this.freed || this.invokeCallbacks(), null, reportUnlessFreed); // the loop does not block on it
    } catch (e) {
      reportUnlessFreed(e);
    }
  }

  /** @internal Writes of a foreign handle queued behind a lock it could not wait for (remote-write.ts). */
  pendingWrites: Uint8Array[] | null = null;

  /** Take the lock for an addition: false when a foreign writer must queue it instead (remote-write.ts). */
  private lockToAdd(): boolean {
    if (this.remote && this.lockOff !== 0) return lockForForeignWrite(this);
    this.lockRaw();
    return true;
  }

  /** @internal Callbacks are functions of the owner thread. */
  private ownerOnly(what: string): void {
    if (this.remote) throw codedError('ERR_BEV_WRONG_THREAD', `${what} must run on the thread that owns the evbuffer`);
  }

  /** evbuffer_add_cb: call `cb` after each change of the length; returns the entry that removes it. */
  addCb(cb: EvbufferCbFunc, arg: unknown): EvbufferCbEntry {
    this.live();
    this.ownerOnly('evbuffer_add_cb');
    const f = fnOrNull<EvbufferCbFunc>(cb, 'cb');
    if (f === null) throw typeError('cb', 'a function', cb);
    return this.addCbInternal(f, arg, EVBUFFER_CB_ENABLED);
  }

  /** @internal Forget every callback (the bufferevent is finalized). */
  dropCallbacks(): void {
    this.cbs = NO_CBS;
  }

  /** @internal */
  addCbInternal(cb: EvbufferCbFunc, arg: unknown, flags: number): EvbufferCbEntry {
    const e = new EvbufferCbEntry(cb, arg, flags);
    this.lockRaw();
    if (this.cbs === NO_CBS) this.cbs = [];
    this.cbs.unshift(e); // libevent inserts at the head: callbacks run in reverse order of registration
    this.unlockRaw();
    return e;
  }

  /** evbuffer_remove_cb_entry: remove a callback by its entry. 0, or -1. */
  removeCbEntry(ent: EvbufferCbEntry): number {
    this.live();
    this.ownerOnly('evbuffer_remove_cb_entry');
    if (!(ent instanceof EvbufferCbEntry)) throw typeError('ent', 'an EvbufferCbEntry', ent);
    this.lockRaw();
    const i = this.cbs.indexOf(ent);
    if (i >= 0) {
      this.cbs.splice(i, 1);
      ent.removed = true;
    }
    this.unlockRaw();
    return i >= 0 ? 0 : -1;
  }

  /** evbuffer_remove_cb: remove the first callback added with this function and argument. 0, or -1. */
  removeCb(cb: EvbufferCbFunc, arg: unknown): number {
    this.live();
    this.ownerOnly('evbuffer_remove_cb');
    fnOrNull(cb, 'cb');
    this.lockRaw();
    const i = this.cbs.findIndex((e) => e.cb === cb && e.arg === arg);
    if (i >= 0) {
      this.cbs[i]!.removed = true;
      this.cbs.splice(i, 1);
    }
    this.unlockRaw();
    return i >= 0 ? 0 : -1;
  }

  /** evbuffer_cb_set_flags: set flags (EVBUFFER_CB_ENABLED) on a callback entry. 0. */
  cbSetFlags(ent: EvbufferCbEntry, flags: number): number {
    this.live();
    if (!(ent instanceof EvbufferCbEntry)) throw typeError('ent', 'an EvbufferCbEntry', ent);
    const f = intArg(flags, 'flags') & ~EVBUFFER_CB_OBSOLETE;
    this.lockRaw();
    ent.flags |= f;
    this.unlockRaw();
    return 0;
  }

  /** evbuffer_cb_clear_flags: clear flags (EVBUFFER_CB_ENABLED) of a callback entry. 0. */
  cbClearFlags(ent: EvbufferCbEntry, flags: number): number {
    this.live();
    if (!(ent instanceof EvbufferCbEntry)) throw typeError('ent', 'an EvbufferCbEntry', ent);
    const f = intArg(flags, 'flags') & ~EVBUFFER_CB_OBSOLETE;
    this.lockRaw();
    ent.flags &= ~f;
    this.unlockRaw();
    return 0;
  }

  /** Obsolete evbuffer_setcb: removes every callback (a bufferevent's internal ones too, as libevent does). */
  setcbObsolete(cb: EvbufferObsoleteCb | null, arg: unknown): void {
    this.live();
    this.ownerOnly('evbuffer_setcb');
    const f = fnOrNull<EvbufferObsoleteCb>(cb, 'cb');
    this.lockRaw();
    for (const e of this.cbs) e.removed = true;
    this.cbs = f ? [new EvbufferCbEntry(f, arg, EVBUFFER_CB_ENABLED | EVBUFFER_CB_OBSOLETE)] : NO_CBS;
    this.unlockRaw();
  }

  // ---- size and freezing -------------------------------------------------------------------------------------------

  getLength(): number {
    this.live();
    if (this.lockOff === 0) return S.length(this.a, this.h);
    this.lockRaw();
    const n = S.length(this.a, this.h);
    this.unlockRaw();
    return n;
  }

  /** @internal The length, the caller holding the lock. */
  lengthLocked(): number {
    this.assertLocked();
    return S.length(this.a, this.h);
  }

  /** @internal */
  flags(): number {
    return this.a.i32[(this.h + S.H_FLAGS) >>> 2]!;
  }

  /** evbuffer_freeze: refuse changes at the front (true) or the end (false). 0. */
  freeze(atFront: number | boolean): number {
    this.live();
    this.lockRaw();
    Atomics.or(this.a.i32, (this.h + S.H_FLAGS) >>> 2, atFront ? S.F_FROZEN_START : S.F_FROZEN_END);
    this.unlockRaw();
    return 0;
  }

  /** evbuffer_unfreeze: allow changes at the front (true) or the end (false) again. 0. */
  unfreeze(atFront: number | boolean): number {
    this.live();
    this.lockRaw();
    Atomics.and(this.a.i32, (this.h + S.H_FLAGS) >>> 2, ~(atFront ? S.F_FROZEN_START : S.F_FROZEN_END));
    this.unlockRaw();
    return 0;
  }

  // ---- adding ------------------------------------------------------------------------------------------------------

  /** evbuffer_add: append bytes (a string is UTF-8). 0, or -1 when the end is frozen. */
  add(data: Uint8Array | string, size?: number): number {
    this.live();
    const n = inputSize(data, size);
    const b = typeof data === 'string' && n >= 0 ? bytesOf(data, n) : null;
    if (b !== null && n > b.length) throw rangeError('size', `<= ${b.length} (the UTF-8 length of data)`, n);
    if (!this.lockToAdd()) {
      return queueForeignWrite(this, b ?? (typeof data === 'string' ? bytesOf(data, n) : (data as Uint8Array).slice(0, n)));
    }
    // the hot path: modifyLocked without a closure per call
    let ok = false;
    try {
      if (this.frozenLocked(S.F_FROZEN_END)) return -1;
      if (typeof data === 'string' && b === null) S.addString(this.a, this.h, data);
      else S.addBytes(this.a, this.h, b ?? (data as Uint8Array), n);
      ok = true;
      return 0;
    } finally {
      if (ok) this.done();
      else this.unlockRaw();
    }
  }

  /** evbuffer_prepend: put bytes (a string is UTF-8) in front. 0, or -1 when the front is frozen. */
  prepend(data: Uint8Array | string, size?: number): number {
    this.live();
    let n = inputSize(data, size);
    const b = bytesOf(data as Uint8Array | string, n);
    if (n < 0) n = b.length;
    if (n > b.length) throw rangeError('size', `<= ${b.length} (the UTF-8 length of data)`, n);
    if (n === 0) return 0;
    this.lockRaw();
    return this.modifyLocked(S.F_FROZEN_START, -1, () => {
      S.prependBytes(this.a, this.h, b, n);
      return 0;
    });
  }

  /** evbuffer_add_vprintf: append the C printf formatting of `args`. The bytes added, or -1. */
  addPrintf(format: string, args: readonly unknown[]): number {
    this.live();
    if (typeof format !== 'string') throw typeError('format', 'of type string', format);
    const text = formatPrintf(format, args);
    if (text === null) return -1;
    this.lockRaw();
    return this.modifyLocked(S.F_FROZEN_END, -1, () => S.addString(this.a, this.h, text));
  }

  /**
   * evbuffer_add_reference. The bytes are copied into shared memory (another thread may read this buffer, and
   * a plain Uint8Array cannot be shared); `cleanupfn` still runs exactly once, when the referenced bytes have been
   * drained from the buffer or the buffer is freed, as libevent promises.
   */
  addReference(data: Uint8Array, size: number, cleanupfn: ((data: Uint8Array, size: number, arg: unknown) => void) | null, cleanupArg: unknown): number {
    this.live();
    if (!isBytes(data)) throw typeError('data', 'of type Uint8Array', data);
    const n = outBytes(data, size);
    const fn = fnOrNull<CleanupFn>(cleanupfn, 'cleanupfn');
    this.lockRaw();
    return this.modifyLocked(S.F_FROZEN_END, -1, () => {
      S.addBytes(this.a, this.h, data, n);
      if (fn) {
        const end = this.a.f64[(this.h + S.H_FRONT) >>> 3]! + S.length(this.a, this.h);
        (this.refCleanups ??= []).push({ end, fn, data, size: n, arg: cleanupArg });
      }
      return 0;
    });
  }

  private runRefCleanups(all: boolean): void {
    const list = this.refCleanups;
    if (list === null) return;
    const front = this.a.f64[(this.h + S.H_FRONT) >>> 3]!;
    const keep: RefCleanup[] = [];
    const run: RefCleanup[] = [];
    for (const r of list) (all || r.end <= front ? run : keep).push(r);
    this.refCleanups = keep.length ? keep : null;
    runCleanups(run);
  }

  /** @internal Stream position of the first byte (reference cleanups are kept in these coordinates). */
  front(): number {
    return this.a.f64[(this.h + S.H_FRONT) >>> 3]!;
  }

  /**
   * @internal The first `n` bytes of this buffer (its front was `srcFront`) have just moved to `dst` (to its front
   * when `toFront`, else to its end): cleanups of references that lay wholly inside them now belong to `dst`, as the
   * chains do in libevent; they run when `dst` drains those bytes. Stale entries (bytes already drained) run now.
   * Raw storage moves elsewhere (pair.ts) must call this too. @locks requires both buffers' locks
   */
  handRefCleanups(dst: Evbuffer, srcFront: number, n: number, toFront: boolean): void {
    const list = this.refCleanups!;
    const base = dst.front() + (toFront ? 0 : S.length(dst.a, dst.h) - n);
    const keep: RefCleanup[] = [];
    const stale: RefCleanup[] = [];
    for (const r of list) {
      const rel = r.end - srcFront;
      if (rel <= 0) stale.push(r);
      else if (rel <= n) (dst.refCleanups ??= []).push({ ...r, end: base + rel });
      else keep.push(r);
    }
    this.refCleanups = keep.length ? keep : null;
    for (const r of stale) r.fn(r.data, r.size, r.arg);
  }

  /** evbuffer_add_buffer(dst = this, src): move everything from src to the end. */
  addBuffer(src: Evbuffer): number {
    return this.moveFrom(src, false);
  }
  /** evbuffer_prepend_buffer(dst = this, src). */
  prependBuffer(src: Evbuffer): number {
    return this.moveFrom(src, true);
  }

  private moveFrom(src: unknown, toFront: boolean): number {
    this.live();
    if (!Evbuffer.isReal(src)) throw typeError('src', 'an Evbuffer', src);
    src.live();
    if (src === this) return 0;
    lock2(this, src);
    try {
      const n = S.length(src.a, src.h);
      if (n === 0) return 0;
      const sf = src.flags();
      const df = this.flags();
      if (toFront ? (sf | df) & S.F_FROZEN_START : sf & S.F_FROZEN_START || df & S.F_FROZEN_END) return -1;
      const srcFront = src.front();
      S.moveAll(this.a, this.h, src.a, src.h, toFront);
      if (src.refCleanups !== null) src.handRefCleanups(this, srcFront, n, toFront);
      src.invokeCallbacks();
      this.invokeCallbacks();
      return 0;
    } finally {
      unlock2(this, src);
    }
  }

  /** evbuffer_remove_buffer(src = this, dst, n): move up to n bytes; returns the count. */
  removeBuffer(dst: Evbuffer, size: number): number {
    this.live();
    if (!Evbuffer.isReal(dst)) throw typeError('dst', 'an Evbuffer', dst);
    dst.live();
    const n = sizeArg(size, 'size');
    if (dst === this) return 0;
    lock2(this, dst);
    try {
      const len = S.length(this.a, this.h);
      if (len === 0 || n === 0) return 0;
      if (this.flags() & S.F_FROZEN_START || dst.flags() & S.F_FROZEN_END) return -1;
      const srcFront = this.front();
      const moved = S.moveN(dst.a, dst.h, this.a, this.h, n);
      if (this.refCleanups !== null) this.handRefCleanups(dst, srcFront, moved, false);
      dst.invokeCallbacks();
      this.invokeCallbacks();
      return moved;
    } finally {
      unlock2(this, dst);
    }
  }

  // ---- removing ----------------------------------------------------------------------------------------------------

  /** evbuffer_remove: move up to `size` bytes (default: data.length) from the front into `data`. The count, or -1. */
  remove(data: Uint8Array, size?: number): number {
    this.live();
    const n = outBytes(data, size);
    return this.takeFront(n, data as Uint8Array);
  }

  /** evbuffer_copyout: copy up to `size` bytes from the front into `data`, leaving them. The count, or -1. */
  copyout(data: Uint8Array, size?: number): number {
    return this.copyoutFrom(null, data, size);
  }

  /** evbuffer_copyout_from: like copyout, starting at `pos` (null: the front). The count, or -1. */
  copyoutFrom(pos: EvbufferPtr | null, data: Uint8Array, size?: number): number {
    this.live();
    const p = objOrNull<EvbufferPtr>(pos, 'pos');
    const n = outBytes(data, size);
    const start = p === null ? 0 : ptrPos(p);
    this.lockRaw();
    try {
      const len = S.length(this.a, this.h);
      if (start < 0 || start > len) return -1;
      if (n === 0 || len === start) return 0;
      if (this.flags() & S.F_FROZEN_START) return -1;
      return S.copyOut(this.a, this.h, start, data as Uint8Array, 0, n);
    } finally {
      this.unlockRaw();
    }
  }

  /** evbuffer_drain: discard up to `size` bytes from the front. 0, or -1 when the front is frozen. */
  drain(size: number): number {
    this.live();
    const r = this.takeFront(sizeArg(size, 'size'), null);
    return r < 0 ? r : 0;
  }

  /**
   * evbuffer_remove (copy into `out`) or evbuffer_drain (`out` null): up to `n` bytes off the front. Empty buffer or
   * n == 0: 0 before the freeze check, as libevent; a frozen front: -1. Returns the count taken.
   */
  private takeFront(n: number, out: Uint8Array | null): number {
    this.lockRaw();
    const len = S.length(this.a, this.h);
    if (len === 0 || n === 0) {
      this.unlockRaw();
      return 0;
    }
    // modifyLocked without a closure per call (hot path)
    let ok = false;
    try {
      if (this.frozenLocked(S.F_FROZEN_START)) return -1;
      const k = out === null ? Math.min(n, len) : S.copyOut(this.a, this.h, 0, out, 0, n);
      S.drain(this.a, this.h, k);
      ok = true;
      return k;
    } finally {
      if (ok) this.done();
      else this.unlockRaw();
    }
  }

  /** evbuffer_pullup: a view of the first `size` bytes (all when negative), valid until the buffer next changes. */
  pullup(size: number): Uint8Array | null {
    this.live();
    let n = ssizeArg(size, 'size');
    this.lockRaw();
    try {
      const len = S.length(this.a, this.h);
      if (n < 0) n = len;
      if (n === 0 || n > len) return null;
      const at = S.pullup(this.a, this.h, n);
      return this.a.u8.subarray(at, at + n);
    } finally {
      this.unlockRaw();
    }
  }

  // ---- lines and searching -----------------------------------------------------------------------------------------

  /** evbuffer_search_eol: the EOL at or after `start`; `eol_len_out.eol_len` receives its length. */
  searchEol(start: EvbufferPtr | null, eolLenOut: { eol_len?: number } | null, style: number): EvbufferPtr {
    return searchEol(this, start, eolLenOut, style);
  }

  /**
   * evbuffer_readln. `encoding` says what a line is returned as: 'utf8' (the default of this method), 'latin1' (one
   * char per byte, the flat API's default, as libevent's bytes) or 'buffer' (a Uint8Array copy). A line ends at an
   * EOL, so a UTF-8 character split across two reads is never cut in half. `n_read` is the line's length in bytes.
   */
  readln(nReadOut: { n_read?: number } | null, style: number, encoding?: 'utf8' | 'latin1'): string | null;
  readln(nReadOut: { n_read?: number } | null, style: number, encoding: 'buffer'): Uint8Array | null;
  readln(nReadOut: { n_read?: number } | null, style: number, encoding: unknown = 'utf8'): string | Uint8Array | null {
    this.live();
    const out = objOrNull<{ n_read?: number }>(nReadOut, 'n_read_out');
    const st = eolStyle(style);
    if (encoding !== 'utf8' && encoding !== 'latin1' && encoding !== 'buffer') {
      throw typeof encoding === 'string' ? rangeError('encoding', "'utf8', 'latin1' or 'buffer'", encoding) : typeError('encoding', "'utf8', 'latin1' or 'buffer'", encoding);
    }
    const line = this.readlnLocked(st, encoding);
    // the caller's object is written once the buffer is consistent and unlocked: a throwing setter loses nothing
    if (out) out.n_read = line === null ? 0 : this.lineBytes;
    return line;
  }

  /** The byte length of the line readlnLocked returned last (no object per call for it). */
  private lineBytes = 0;

  /** The next line, decoded (or a Uint8Array copy for 'buffer'), drained with its EOL; null when there is none. */
  private readlnLocked(st: number, encoding: 'utf8' | 'latin1' | 'buffer'): string | Uint8Array | null {
    this.lockRaw();
    let line: string | Uint8Array | null = null;
    try {
      if (this.flags() & S.F_FROZEN_START) return null;
      const pos = findEol(this.a, this.h, 0, st);
      if (pos < 0) return null;
      const elen = foundEolLength();
      const a = this.a;
      const first = a.i32[(this.h + S.H_FIRST) >>> 2]! >>> 0;
      if (encoding !== 'buffer' && S.chainLen(a, first) >= pos) {
        const at = S.chainStart(a, first);
        line = a.buf.toString(encoding, at, at + pos); // decoded in place: no copy
      } else {
        const tmp = Buffer.allocUnsafe(pos);
        S.copyOut(a, this.h, 0, tmp, 0, pos);
        line = encoding === 'buffer' ? tmp : tmp.toString(encoding, 0, pos);
      }
      S.drain(a, this.h, pos + elen);
      this.lineBytes = pos;
      return line;
    } finally {
      if (line !== null) this.done();
      else this.unlockRaw();
    }
  }

  /** evbuffer_search(buf, what, size, start) */
  search(what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null): EvbufferPtr {
    return this.searchRange(what, size, start, null);
  }

  /** evbuffer_search_range(buf, what, size, start, end): a match must end at or before `end.pos`. */
  searchRange(what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null, end: EvbufferPtr | null): EvbufferPtr {
    return searchRange(this, what, size, start, end);
  }

  /** evbuffer_ptr_set: position `ptr` at `position` (SET) or advance it (ADD). -1 (and pos -1) past the end. */
  ptrSet(ptr: EvbufferPtr, position: number, how: number): number {
    return ptrSet(this, ptr, position, how);
  }

  /** evbuffer_peek: views of up to `nVec` chains covering `len` bytes from `start` (-1 = all); returns chains needed. */
  peek(len: number, start: EvbufferPtr | null, vec: IoVec[] | null, nVec: number): number {
    return peek(this, len, start, vec, nVec);
  }

  /** evbuffer_reserve_space: one writable view of at least `size` bytes at the end; returns the number of vecs (1). */
  reserveSpace(size: number, vec: IoVec[] | null, nVec: number): number {
    this.live();
    const n = sizeArg(size, 'size');
    const nv = sizeArg(nVec, 'n_vec');
    if (!Array.isArray(vec)) throw typeError('vec', 'an array of { iov_base, iov_len } objects', vec);
    if (nv > vec.length) throw rangeError('n_vec', `<= ${vec.length} (the length of vec)`, nv);
    if (nv < 1) return -1; // libevent: n_vecs < 1 fails
    this.lockRaw();
    try {
      if (this.flags() & S.F_FROZEN_END) return -1;
      const a = this.a;
      const c = S.reserveTail(a, this.h, Math.max(n, 1));
      const at = S.chainStart(a, c) + S.chainLen(a, c);
      const space = S.tailSpace(a, this.h);
      const slot = ((vec as IoVec[])[0] ??= {});
      slot.iov_base = a.u8.subarray(at, at + space);
      slot.iov_len = space;
      this.reservation = { chain: c, at, len: space };
      return 1;
    } finally {
      this.unlockRaw();
    }
  }

  /** evbuffer_commit_space: count the bytes written into the reserved views (iov_len each) as added. */
  commitSpace(vec: IoVec[] | null, nVec: number): number {
    this.live();
    const nv = sizeArg(nVec, 'n_vec');
    if (nv > 0 && !Array.isArray(vec)) throw typeError('vec', 'an array of { iov_base, iov_len } objects', vec);
    if (nv > (vec as unknown[] | null)?.length!) throw rangeError('n_vec', `<= the length of vec`, nv);
    this.lockRaw();
    try {
      if (this.flags() & S.F_FROZEN_END) return -1;
      if (nv === 0) return 0;
      const r = this.reservation;
      const v = (vec as IoVec[])[0];
      if (nv > 1 || r === null || !v || !(v.iov_base instanceof Uint8Array)) return -1;
      const a = this.a;
      const last = a.i32[(this.h + S.H_LAST) >>> 2]! >>> 0;
      const len = typeof v.iov_len === 'number' ? v.iov_len : -1;
      if (
        last !== r.chain ||
        S.chainStart(a, last) + S.chainLen(a, last) !== r.at ||
        v.iov_base.buffer !== a.sab ||
        v.iov_base.byteOffset !== r.at ||
        len < 0 ||
        len > r.len ||
        !Number.isInteger(len)
      ) {
        return -1;
      }
      this.reservation = null;
      S.commitTail(a, this.h, len);
      this.invokeCallbacks();
      return 0;
    } finally {
      this.unlockRaw();
    }
  }

  // ---- obsolete ----------------------------------------------------------------------------------------------------

  /** evbuffer_find: offset of the first match, or -1. */
  find(what: Uint8Array | string, size?: number): number {
    return this.search(what, size, null).pos;
  }

  /** @internal Structure check (tests, lock debugging). */
  validate(): void {
    this.lockRaw();
    try {
      S.validate(this.a, this.h);
    } finally {
      this.unlockRaw();
    }
  }
}


/** Lock two buffers in one global order (arena, then lock offset); a shared lock is taken once (EVLOCK_LOCK2). */
export function lock2(x: Evbuffer, y: Evbuffer): void {
  if (x.lockOff === 0 && y.lockOff === 0) return;
  if (x.a === y.a && x.lockOff === y.lockOff) {
    x.lockRaw();
    return;
  }
  const xFirst = x.a.id < y.a.id || (x.a.id === y.a.id && x.lockOff < y.lockOff);
  if (xFirst) {
    x.lockRaw();
    y.lockRaw();
  } else {
    y.lockRaw();
    x.lockRaw();
  }
}
export function unlock2(x: Evbuffer, y: Evbuffer): void {
  if (x.a === y.a && x.lockOff === y.lockOff) {
    x.unlockRaw();
    return;
  }
  x.unlockRaw();
  y.unlockRaw();
}

