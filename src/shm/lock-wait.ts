import { arenaOfThread, localArena, countAcquired, W_WAIT_GID, W_WAIT_OFF, type Arena } from './arena.ts';
import { rlockLock, rlockTryLock, rlockLockAsync, rlockUnlock, rlockDepth, rlockHolder, rlockOwnerDied, RLOCK_FLAG_OWNER_DIED } from './rlock.ts';
import { recoverGroup } from './lock-group.ts';
import { THREAD_TAG } from './thread-id.ts';

/**
 * Acquiring the lock of a shared object (a bufferevent's, an evbuffer's), by every path: blocking, try, and the
 * asynchronous wait of a thread whose event loop must not block. One home for what every acquisition must do and for
 * the wait-cycle test.
 *
 * After the lock word is taken (`settle`):
 * - remap the arena's views: another thread may have grown it while this one waited;
 * - on the first level, re-check the object's generation word (at byte `genOff`, against the handle's `gen`): the
 *   lock's memory is type-stable (arena.ts newLock), so waiting was safe even if the object was freed meanwhile, but
 *   its header must not be touched then. The lock is released and the result is GONE;
 * - if the previous holder died (robust.ts recovered the lock: OWNER_DIED set, not yet validated), check and repair
 *   everything the lock protects (its group, lock-group.ts). A lock without a group gives REPAIR: the caller repairs
 *   its own object, holding the lock, and marks the lock validated.
 *
 * The results are numbers, not objects, so the hot path allocates nothing. @thread any
 */
export const GONE = 0;
export const HELD = 1;
export const REPAIR = 2;

/** The checks after the lock word was taken: HELD, REPAIR (held) or GONE (released). @locks held */
export function settle(a: Arena, lockOff: number, genOff: number, gen: number): number {
  a.sync();
  const i32 = a.i32;
  if (i32[genOff >>> 2] !== gen && rlockDepth(i32, lockOff) === 1) {
    rlockUnlock(i32, lockOff);
    return GONE;
  }
  return afterDeadHolder(a, lockOff);
}

/**
 * The dead-holder part of settle alone (for a holder that needs no generation check): after a recovery not yet
 * validated, repair the lock's group; REPAIR when it has none (the caller repairs its object), else HELD. @locks held
 */
export function afterDeadHolder(a: Arena, lockOff: number): number {
  if (rlockOwnerDied(a.i32, lockOff, false) === RLOCK_FLAG_OWNER_DIED && !recoverGroup(a, lockOff)) return REPAIR;
  return HELD;
}

/** Blocking acquire, counted in the lock block's statistics: HELD, REPAIR or GONE (as settle). */
export function acquire(a: Arena, lockOff: number, genOff: number, gen: number): number {
  const waited = rlockLock(a.i32, lockOff);
  const r = settle(a, lockOff, genOff, gen);
  if (r !== GONE) countAcquired(a, lockOff, waited);
  return r;
}

/** Take the lock only if it is free or already this thread's: BUSY (not held), or as settle. */
export const BUSY = 3;
export function tryAcquire(a: Arena, lockOff: number, genOff: number, gen: number): number {
  if (!rlockTryLock(a.i32, lockOff)) return BUSY;
  return settle(a, lockOff, genOff, gen);
}

/** Acquire through Atomics.waitAsync (the thread's loop keeps running); resolves as settle. */
export async function acquireAsync(a: Arena, lockOff: number, genOff: number, gen: number, signal?: AbortSignal): Promise<number> {
  await rlockLockAsync(a.i32, lockOff, signal);
  return settle(a, lockOff, genOff, gen);
}

/**
 * Whether waiting for the lock at `lockOff` of arena `a` would close a wait cycle: its holder is itself waiting (in
 * acquireUnlessCycle) for a lock this thread holds. Two threads whose callbacks write into each other's bufferevents
 * would otherwise deadlock (libevent's AB-BA, C1).
 */
function closesCycle(a: Arena, lockOff: number): boolean {
  const holder = rlockHolder(a.i32, lockOff);
  const ha = holder !== 0 ? arenaOfThread(holder) : null;
  if (ha === null) return false;
  const wg = Atomics.load(ha.i32, W_WAIT_GID);
  const wo = Atomics.load(ha.i32, W_WAIT_OFF);
  const la = wo !== 0 ? arenaOfThread(wg) : null;
  return la !== null && rlockHolder(la.i32, wo) === THREAD_TAG;
}

/** acquireUnlessCycle's answer when waiting would deadlock: nothing is held. */
export const CYCLE = 4;

/**
 * Blocking acquire, unless the wait would close a cycle: then CYCLE at once (the caller queues its work behind an
 * asynchronous acquire). What this thread waits for is published in its arena's words first, then the holder's are
 * read (Dekker order: of two threads entering at once, at least one sees the other). Else as acquire.
 */
export function acquireUnlessCycle(a: Arena, lockOff: number, genOff: number, gen: number): number {
  const mine = localArena().i32;
  Atomics.store(mine, W_WAIT_GID, a.id);
  Atomics.store(mine, W_WAIT_OFF, lockOff);
  try {
    return closesCycle(a, lockOff) ? CYCLE : acquire(a, lockOff, genOff, gen);
  } finally {
    Atomics.store(mine, W_WAIT_OFF, 0);
  }
}
