/**
 * The library's synchronization points, for a scheduler that serializes threads (the controlled mode of
 * `bufferevent stress`, src/stress/scheduler.ts).
 *
 * Every shared-memory protocol of the package goes through the recursive lock of src/shm/rlock.ts (the mailbox and
 * the arena allocator included), and every Atomics operation in JavaScript is sequentially consistent; so a
 * scheduler that decides which thread runs at each lock acquire and release controls every interleaving the library
 * can show. With no hook installed (the normal case) each point costs one comparison with null.
 *
 * Points, with what the hook may do there:
 * - SP_LOCK, before a first-level acquire (rlockLock): yield; it must return only when the lock word is free, since
 *   the acquire that follows is a plain compare-and-swap that must then succeed. It may throw to abandon the call
 *   (nothing was changed yet).
 * - SP_TRYLOCK, before a first-level try (rlockTryLock): yield; the try may fail.
 * - SP_UNLOCK, before the last-level release (rlockUnlock), while the lock is still held: yield (a thread stopped
 *   here holds the lock, which is where a scheduler injects a holder's death).
 * - SP_RELEASED, right after that release: bookkeeping only (a release may unblock waiters), no yield.
 *
 * @thread each thread installs its own hook (module state is per thread)
 */
export const SP_LOCK = 1;
export const SP_TRYLOCK = 2;
export const SP_UNLOCK = 3;
export const SP_RELEASED = 4;

export type SchedHook = (point: number, i32: Int32Array, off: number) => void;

/** The installed hook of this thread, or null. Read at each point (an ES live binding). */
export let schedHook: SchedHook | null = null;

/** Install (or with null remove) this thread's scheduler hook. */
export function setSchedHook(hook: SchedHook | null): void {
  schedHook = hook;
}
