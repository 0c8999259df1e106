import { THREAD_TAG } from './thread-id.ts';
import { codedError } from '../errors.ts';
import type { FieldDef } from './layout.ts';
import { schedHook, SP_LOCK, SP_TRYLOCK, SP_UNLOCK, SP_RELEASED } from './sched-hook.ts';
import { lockContendedChannel } from '../diagnostics.ts';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * RLock: a recursive futex lock living in shared memory. The JS object holds no lock state; every thread that can see
 * the SharedArrayBuffer can build its own view and lock it.
 *
 * Shared layout: 5 Int32 words at a 4-aligned byte offset (NUMBYTES = 20).
 *
 * | word | field   | written by                  | read by      | meaning                                             |
 * |------|---------|-----------------------------|--------------|-----------------------------------------------------|
 * | 0    | state   | any thread, Atomics CAS/xchg| any          | 0 free, 1 held and no waiters, 2 held with waiters  |
 * | 1    | owner   | the holder (Atomics.store)  | any          | THREAD_TAG of the holder; 0 while free              |
 * | 2    | depth   | the holder only             | the holder   | recursion depth, >= 1 while held                    |
 * | 3    | refs    | Atomics.add by users        | any          | objects using this lock (bufferevent, evbuffers...) |
 * | 4    | flags   | Atomics.or / and            | any          | bit 0 OWNER_DIED: recovered from a dead holder      |
 *
 * Protocol (Drepper, "Futexes are tricky", mutex #2): acquire by CAS 0->1; if contended, spin briefly re-trying the
 * CAS, then exchange the state to 2 and `Atomics.wait` on it while it is 2; release by decrementing: if the old value
 * was 2, store 0 and notify the waiters (all of them: see rlockUnlock). No wake-up is lost: a waiter only sleeps
 * while the word is still 2, and every release from 2 notifies.
 * The owner word is published with Atomics.store after the CAS, and read with Atomics.load: a thread compares it to
 * its own tag to detect recursion, which is exact because only the holder ever writes its own tag there.
 *
 * Waits are sliced (WAIT_SLICE_MS) so a blocked thread re-checks the lock word regularly: a wait never blocks a
 * thread forever on a lost notification. After a slice that timed out, the waiter asks the holder check
 * (`setHolderCheck`, installed by src/shm/robust.ts) whether the holder's thread still exists; if it is gone, the
 * waiter recovers the lock itself. So a thread blocked here learns of a dead holder even when it is the only thread
 * that could have been told (the dead worker's parent, whose 'exit' event cannot run while it is blocked).
 *
 * Lifetime: the memory of a lock made by Arena.newLock is type-stable (the rule is at Arena.newLock): a lock word
 * stays a lock word after its object is freed, and `rlockReuse` never rewrites state, owner or depth. Whoever acquires
 * a lock on behalf of an object must re-check that the object is still alive before touching it.
 */
export const RLOCK_NUMBYTES = 20;
/** The lock's words as layout fields, for the structs that embed a lock at their start (see rlockFields). */
export const RLOCK_FIELDS: readonly FieldDef[] = [
  { name: 'state', type: 'i32', guard: 'Atomics (the futex word)', meaning: '0 free, 1 held, 2 held with waiters (rlock.ts)' },
  { name: 'owner', type: 'i32', guard: 'the holder', meaning: 'THREAD_TAG of the holder, 0 while free' },
  { name: 'depth', type: 'i32', guard: 'the holder', meaning: 'recursion depth' },
  { name: 'refs', type: 'i32', guard: 'Atomics, users', meaning: 'objects using the lock' },
  { name: 'flags', type: 'i32', guard: 'Atomics', meaning: 'OWNER_DIED, VALIDATED' },
];
/** RLOCK_FIELDS for a struct that embeds its lock first, each field's meaning naming the lock (`arena lock: ...`). */
export function rlockFields(lock: string): FieldDef[] {
  return RLOCK_FIELDS.map((f) => ({ ...f, meaning: `${lock}: ${f.meaning}` }));
}
const STATE = 0;
const OWNER = 1;
const DEPTH = 2;
const REFS = 3;
const FLAGS = 4;
export const RLOCK_FLAG_OWNER_DIED = 1;
/** Set (with OWNER_DIED) once an internal operation has validated the data after a recovery. */
export const RLOCK_FLAG_VALIDATED = 2;
const WAIT_SLICE_MS = 50;
/** Reads of the lock word before a contended acquire sleeps (about a microsecond or two). */
const SPIN = 200;

let lockDebugging = process.env.BUFFEREVENT_LOCK_DEBUG === '1';

/** Turn on lock debugging (libevent's evthread_enable_lock_debugging): holds are asserted where code requires them. */
export function enableLockDebugging(): void {
  lockDebugging = true;
}
export function lockDebuggingEnabled(): boolean {
  return lockDebugging;
}

/** Initialize the words of a new lock (refs = 1). Call once, before the offset is published to anyone. */
export function rlockInit(i32: Int32Array, off: number): void {
  const w = off >>> 2;
  i32[w + STATE] = 0;
  i32[w + OWNER] = 0;
  i32[w + DEPTH] = 0;
  i32[w + REFS] = 1;
  i32[w + FLAGS] = 0;
}

/**
 * Hand a retired lock out again: a fresh reference count and no flags. The protocol words are left as they are: a
 * stale thread may be inside the lock at this moment, and its own release must still balance.
 */
export function rlockReuse(i32: Int32Array, off: number): void {
  const w = off >>> 2;
  Atomics.store(i32, w + REFS, 1);
  Atomics.store(i32, w + FLAGS, 0);
}

let waits = 0;
let waitMs = 0;
/** The last contended acquisition's wait on this thread, in milliseconds (read by the bufferevent's stats). */
let lastWait = 0;
let histogram: RecordableHistogram | null = null;
let sliceTimeouts = 0;

/** Total milliseconds this thread waited in contended acquisitions. */
export function threadLockWaitMs(): number {
  return waitMs;
}
/** The wait of this thread's last contended acquisition, in milliseconds. */
export function lastLockWaitMs(): number {
  return lastWait;
}
/** A histogram (perf_hooks, nanoseconds) of this thread's contended waits, made at the first call. */
export function lockWaitHistogram(): RecordableHistogram {
  return (histogram ??= createHistogram());
}
function waited(t0: number, i32: Int32Array, off: number): void {
  const ms = performance.now() - t0;
  waitMs += ms;
  lastWait = ms;
  if (histogram !== null) histogram.record(Math.max(1, Math.round(ms * 1e6)));
  if (lockContendedChannel.hasSubscribers) lockContendedChannel.publish({ lock: { sab: i32.buffer, offset: off }, waitMs: ms });
}
/** Lock acquisitions on this thread that found the lock held by another thread and had to wait. */
export function threadLockWaits(): number {
  return waits;
}
/** Synchronous wait slices on this thread that ended by timing out rather than by a release's notify. */
export function rlockSliceTimeouts(): number {
  return sliceTimeouts;
}

type HolderCheck = (i32: Int32Array, off: number, holder: number) => void;
let holderCheck: HolderCheck | null = null;
/** Install the check a waiter runs after each timed-out slice (src/shm/robust.ts recovers dead holders). */
export function setHolderCheck(fn: HolderCheck): void {
  holderCheck = fn;
}
function checkHolder(i32: Int32Array, w: number): void {
  const holder = Atomics.load(i32, w + OWNER);
  if (holder !== 0 && holderCheck !== null) holderCheck(i32, w << 2, holder);
}

/** Acquire (recursive). Blocks this thread while another holds it. True when it had to wait (lastLockWaitMs says how long). @thread any */
export function rlockLock(i32: Int32Array, off: number): boolean {
  const w = off >>> 2;
  // A plain read is enough to detect recursion: only this thread ever writes its own tag into the word, and it
  // clears it itself before releasing, so the word can equal our tag only while we hold the lock.
  if (i32[w + OWNER] === THREAD_TAG) {
    i32[w + DEPTH]!++;
    return false;
  }
  if (schedHook !== null) schedHook(SP_LOCK, i32, off);
  let c = Atomics.compareExchange(i32, w + STATE, 0, 1);
  if (c !== 0) {
    waits++;
    const t0 = performance.now();
    // Critical sections are short (a few stores, an append): spin a little before sleeping, as glibc's adaptive
    // mutexes do; a futex sleep and wake-up costs tens of microseconds.
    // The holder is named in the same step that takes the lock, before any loop back-edge: V8 can terminate a worker
    // (Worker.terminate) at a back-edge, and a lock taken but not yet named could never be recovered from it.
    for (let k = 0; k < SPIN; k++) {
      if (Atomics.load(i32, w + STATE) === 0 && Atomics.compareExchange(i32, w + STATE, 0, 1) === 0) {
        i32[w + OWNER] = THREAD_TAG;
        i32[w + DEPTH] = 1;
        waited(t0, i32, off);
        return true;
      }
    }
    if (c !== 2) c = Atomics.exchange(i32, w + STATE, 2);
    while (c !== 0) {
      if (Atomics.wait(i32, w + STATE, 2, WAIT_SLICE_MS) === 'timed-out') {
        sliceTimeouts++;
        checkHolder(i32, w);
      }
      c = Atomics.exchange(i32, w + STATE, 2);
      if (c === 0) {
        i32[w + OWNER] = THREAD_TAG; // named before the back-edge (see above)
        i32[w + DEPTH] = 1;
        waited(t0, i32, off);
        return true;
      }
    }
  }
  i32[w + OWNER] = THREAD_TAG; // inside the critical section: published to other threads by the release below
  i32[w + DEPTH] = 1;
  return false;
}

/** Try to acquire without blocking. Returns true when this thread now holds it (one more level if it already did). */
export function rlockTryLock(i32: Int32Array, off: number): boolean {
  const w = off >>> 2;
  if (Atomics.load(i32, w + OWNER) === THREAD_TAG) {
    i32[w + DEPTH]!++;
    return true;
  }
  if (schedHook !== null) schedHook(SP_TRYLOCK, i32, off);
  if (Atomics.compareExchange(i32, w + STATE, 0, 1) !== 0) return false;
  Atomics.store(i32, w + OWNER, THREAD_TAG);
  i32[w + DEPTH] = 1;
  return true;
}

/**
 * Acquire without blocking the thread's event loop: spins through `Atomics.waitAsync` until the lock is taken.
 * For threads that must stay responsive (the main thread, an event-base thread). With `signal`, an abort rejects
 * with the signal's reason, not holding the lock. @thread any
 */
export async function rlockLockAsync(i32: Int32Array, off: number, signal?: AbortSignal): Promise<void> {
  const w = off >>> 2;
  if (rlockTryLock(i32, off)) return;
  waits++;
  const t0 = performance.now();
  // an abort wakes this wait at once (a spurious wake-up for the others, who sleep again)
  const onAbort = (): void => void Atomics.notify(i32, w + STATE);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const c = Atomics.exchange(i32, w + STATE, 2);
      if (c === 0) break;
      const r = Atomics.waitAsync(i32, w + STATE, 2, WAIT_SLICE_MS);
      if ((r.async ? await r.value : r.value) === 'timed-out') checkHolder(i32, w);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  Atomics.store(i32, w + OWNER, THREAD_TAG);
  i32[w + DEPTH] = 1;
  waited(t0, i32, off);
}

/** Release one level. Throws ERR_BEV_LOCK_NOT_HELD when this thread does not hold it. @thread holder */
export function rlockUnlock(i32: Int32Array, off: number): void {
  const w = off >>> 2;
  if (i32[w + OWNER] !== THREAD_TAG || i32[w + DEPTH]! <= 0) {
    throw codedError('ERR_BEV_LOCK_NOT_HELD', 'unlock of a lock this thread does not hold');
  }
  if (--i32[w + DEPTH]! > 0) return;
  if (schedHook !== null) schedHook(SP_UNLOCK, i32, off);
  i32[w + OWNER] = 0; // ordered before the release by the Atomics.sub below
  // Release: the old value tells whether anyone may be sleeping.
  if (Atomics.sub(i32, w + STATE, 1) !== 1) {
    Atomics.store(i32, w + STATE, 0);
    // Wake every waiter, not one: a waiter may be an Atomics.waitAsync of a thread that is itself blocked in a
    // synchronous wait on this lock (an owner's loop waiting asynchronously, then its callback locking the same
    // bufferevent). Waking only that one would leave the blocked thread asleep for a whole wait slice. Waiters are
    // at most a few threads; the ones that lose the race sleep again.
    Atomics.notify(i32, w + STATE);
  }
  if (schedHook !== null) schedHook(SP_RELEASED, i32, off);
}

/** The THREAD_TAG of the lock's holder, 0 while it is free (a moment old as soon as it is read). */
export function rlockHolder(i32: Int32Array, off: number): number {
  return Atomics.load(i32, (off >>> 2) + OWNER);
}

/** True when this thread holds the lock. */
export function rlockHeldByMe(i32: Int32Array, off: number): boolean {
  return Atomics.load(i32, (off >>> 2) + OWNER) === THREAD_TAG;
}

/** Current recursion depth as seen by the holder (0 if this thread does not hold it). */
export function rlockDepth(i32: Int32Array, off: number): number {
  const w = off >>> 2;
  return Atomics.load(i32, w + OWNER) === THREAD_TAG ? i32[w + DEPTH]! : 0;
}

/** Lock debugging: throw unless this thread holds the lock (EVLOCK_ASSERT_LOCKED). No-op when debugging is off. */
export function rlockAssertHeld(i32: Int32Array, off: number): void {
  if (lockDebugging && Atomics.load(i32, (off >>> 2) + OWNER) !== THREAD_TAG) {
    throw codedError('ERR_BEV_LOCK_ASSERT', 'internal operation ran without the lock it requires');
  }
}

export function rlockRef(i32: Int32Array, off: number): void {
  Atomics.add(i32, (off >>> 2) + REFS, 1);
}
/** Drop one reference; returns true when it was the last (the caller then frees the lock's memory). */
export function rlockUnref(i32: Int32Array, off: number): boolean {
  return Atomics.sub(i32, (off >>> 2) + REFS, 1) === 1;
}
export function rlockFlags(i32: Int32Array, off: number): number {
  return Atomics.load(i32, (off >>> 2) + FLAGS);
}

/**
 * True while another thread is blocked in (or about to block in) an acquire of this lock. Only for handshakes in tests
 * and diagnostics: the answer can change at once.
 */
export function rlockHasWaiters(i32: Int32Array, off: number): boolean {
  return Atomics.load(i32, off >>> 2) === 2;
}

/**
 * Recover the lock from a dead holder (src/shm/robust.ts): only if `deadTag` still owns it, mark it OWNER_DIED, clear
 * owner and depth, release it and wake every waiter. Returns true when it recovered the lock. @thread any live thread
 */
export function recoverLockFrom(i32: Int32Array, off: number, deadTag: number): boolean {
  const w = off >>> 2;
  if (Atomics.compareExchange(i32, w + OWNER, deadTag, 0) !== deadTag) return false;
  Atomics.and(i32, w + FLAGS, ~RLOCK_FLAG_VALIDATED);
  Atomics.or(i32, w + FLAGS, RLOCK_FLAG_OWNER_DIED);
  i32[w + DEPTH] = 0;
  Atomics.store(i32, w + STATE, 0); // release: published after the flag, so the next holder sees OWNER_DIED
  Atomics.notify(i32, w + STATE);
  return true;
}

/**
 * After acquiring: the OWNER_DIED state of the lock. `consume` (the user-facing lock calls) clears it: that caller is
 * the one told. Internal callers pass false and mark it VALIDATED once they have checked their data.
 * @locks requires the lock
 */
export function rlockOwnerDied(i32: Int32Array, off: number, consume: boolean): number {
  const w = off >>> 2;
  const f = i32[w + FLAGS]!;
  if ((f & RLOCK_FLAG_OWNER_DIED) === 0) return 0;
  if (consume) Atomics.and(i32, w + FLAGS, ~(RLOCK_FLAG_OWNER_DIED | RLOCK_FLAG_VALIDATED));
  return f;
}

export function rlockMarkValidated(i32: Int32Array, off: number): void {
  Atomics.or(i32, (off >>> 2) + FLAGS, RLOCK_FLAG_VALIDATED);
}
