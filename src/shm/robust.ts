import { BroadcastChannel } from 'node:worker_threads';
import { knownArenas, arenaOfThread, type Arena, W_MAILBOX, W_TID } from './arena.ts';
import { recoverLockFrom, setHolderCheck } from './rlock.ts';
import { threadGone } from './threads.ts';
import { ownerDiedChannel } from '../diagnostics.ts';

/**
 * Robust locks: when a thread dies holding a lock, the lock is recovered as soon as a live thread that loaded this
 * package learns of the death.
 *
 * - The thread that created a worker sees its 'exit' (Node's `process.on('worker')` tells every thread about the
 *   workers it creates). It recovers the locks the dead thread held in every arena it knows, then tells the other
 *   threads over a BroadcastChannel, and each does the same with the arenas it knows.
 * - Recovery (rlock.ts `recoverLockFrom`): mark the lock OWNER_DIED, clear the owner, release it and wake every waiter.
 *   The next `bufferevent_lock`/`evbuffer_lock` caller (or a waiter already blocked in it) then gets
 *   ERR_BEV_OWNER_DIED while holding the lock; internal operations validate (and repair) the buffer and go on.
 * - Waits are sliced (rlock.ts), and recovery notifies the lock word, so a waiter in a third thread wakes at once.
 * - A waiter that sleeps through a whole slice checks whether the holder's OS thread still exists (src/shm/threads.ts)
 *   and, if not, recovers that thread's locks itself and tells the others. This is how a parent blocked in a lock
 *   held by its own worker learns of the worker's death: its 'exit' event cannot run while it is blocked.
 */
const channel = new BroadcastChannel('bufferevent:owner-died');
channel.unref();
channel.onmessage = (e: unknown) => {
  const tag = (e as { data?: unknown }).data;
  if (typeof tag === 'number') recoverThread(tag);
};

/** Locks outside any arena that recovery covers too (the runtime's registry lock). */
const extraLocks: Array<{ i32: Int32Array; off: number }> = [];

/** Make recovery cover a lock that lives outside the arenas (once per lock and thread). @thread any */
export function registerRecoverableLock(i32: Int32Array, off: number): void {
  if (!extraLocks.some((l) => l.i32.buffer === i32.buffer && l.off === off)) extraLocks.push({ i32, off });
}

/** Recover every lock held by the thread with this tag, in the arenas this thread knows. Returns how many. */
export function recoverThread(tag: number): number {
  let n = 0;
  for (const a of knownArenas) n += recoverArena(a, tag);
  for (const l of extraLocks) if (recoverLockFrom(l.i32, l.off, tag)) n++;
  if (n > 0 && ownerDiedChannel.hasSubscribers) ownerDiedChannel.publish({ thread: tag, locks: n });
  return n;
}

function recoverArena(a: Arena, tag: number): number {
  let n = 0;
  if (recoverLockFrom(a.i32, 0, tag)) n++; // the arena lock itself
  a.sync();
  if (recoverLockFrom(a.i32, a.i32[W_MAILBOX]! >>> 0, tag)) n++;
  for (const off of a.locks()) if (recoverLockFrom(a.i32, off, tag)) n++;
  return n;
}

function watch(worker: { threadId: number; once(ev: 'exit', fn: () => void): unknown }): void {
  const tag = worker.threadId + 1;
  worker.once('exit', () => {
    recoverThread(tag);
    channel.postMessage(tag);
  });
}

/** The waiter's check between wait slices (rlock.ts). @thread any, while blocked in an acquire */
function checkHolderAlive(_i32: Int32Array, _off: number, holder: number): void {
  const a = arenaOfThread(holder);
  if (!threadGone(holder, a !== null ? a.i32[W_TID]! : 0)) return;
  if (recoverThread(holder) > 0) channel.postMessage(holder);
}

let installed = false;
/** Install the 'worker' hook once per thread (done when the package loads). */
export function installOwnerDeathWatch(): void {
  if (installed) return;
  installed = true;
  process.on('worker', watch);
  setHolderCheck(checkHolderAlive);
}
installOwnerDeathWatch();
