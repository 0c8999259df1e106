import { abortError, abortSignalOption } from './event/base.ts';
import { Bufferevent } from './bufferevent/core.ts';
import { Evbuffer } from './evbuffer/evbuffer.ts';
import { rlockLockAsync, rlockUnlock } from './shm/rlock.ts';
import { codedError } from './errors.ts';

/**
 * Lock guards for `using` (not in libevent): `bev.lock()` / `buf.lock()` take the lock as bufferevent_lock /
 * evbuffer_lock do and return a guard whose `[Symbol.dispose]()` (or `unlock()`) releases it once; `lockAsync({ signal })`
 * waits without blocking the thread's event loop (Atomics.waitAsync) and resolves to such a guard, or rejects with an
 * AbortError when the signal aborts first (not holding the lock). Where bufferevent_lock throws ERR_BEV_OWNER_DIED
 * (the last holder died; the lock is yours and the data may need repair), a guard is returned with `ownerDied` set.
 *
 *     {
 *       using _ = bev.lock();
 *       bev.write(header);
 *       bev.write(body); // no other thread's write lands between the two
 *     }
 */
export interface LockGuard extends Disposable {
  /** true when the previous holder died holding the lock (bufferevent_lock's ERR_BEV_OWNER_DIED) */
  readonly ownerDied: boolean;
  /** release now; the guard's dispose then does nothing. A second call throws ERR_BEV_LOCK_NOT_HELD. */
  unlock(): void;
}

type Lockable = { lockPublic(): void; unlockPublic(): void };

function takeGuard(x: Lockable): LockGuard {
  let ownerDied = false;
  try {
    x.lockPublic();
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_BEV_OWNER_DIED') throw e;
    ownerDied = true; // held now
  }
  let held = true;
  const unlock = (): void => {
    if (!held) throw codedError('ERR_BEV_LOCK_NOT_HELD', 'this lock guard was released already');
    held = false;
    x.unlockPublic();
  };
  return {
    ownerDied,
    unlock,
    [Symbol.dispose]() {
      if (held) unlock();
    },
  };
}

/**
 * Wait for the lock through Atomics.waitAsync, then take it as `lock()` does (the public acquisition, with its
 * reference and its checks, runs recursively inside the asynchronous one, which is then let go).
 */
async function takeGuardAsync(x: Lockable & { live(): void }, i32: () => Int32Array, lockOff: number, options: unknown): Promise<LockGuard> {
  x.live();
  const signal = abortSignalOption(options);
  if (signal?.aborted) throw abortError(signal);
  if (lockOff === 0) return takeGuard(x);
  try {
    await rlockLockAsync(i32(), lockOff, signal);
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw e;
  }
  try {
    return takeGuard(x);
  } finally {
    rlockUnlock(i32(), lockOff);
  }
}

declare module './bufferevent/core.ts' {
  interface Bufferevent {
    /** bufferevent_lock, as a guard for `using`. */
    lock(): LockGuard;
    /** bufferevent_unlock (after a `lock()` whose guard is not used). */
    unlock(): void;
    /** Wait for the lock without blocking the event loop; resolves to a guard. */
    lockAsync(options?: { signal?: AbortSignal }): Promise<LockGuard>;
  }
}
declare module './evbuffer/evbuffer.ts' {
  interface Evbuffer {
    /** evbuffer_lock, as a guard for `using`. */
    lock(): LockGuard;
    /** evbuffer_unlock. */
    unlock(): void;
    /** Wait for the lock without blocking the event loop; resolves to a guard. */
    lockAsync(options?: { signal?: AbortSignal }): Promise<LockGuard>;
  }
}

// the same three methods on both classes
for (const proto of [Bufferevent.prototype, Evbuffer.prototype] as Array<Lockable & { live(): void; a: { i32: Int32Array }; lockOff: number }>) {
  Object.assign(proto, {
    lock(this: typeof proto) {
      return takeGuard(this);
    },
    unlock(this: typeof proto) {
      this.unlockPublic();
    },
    lockAsync(this: typeof proto, options?: { signal?: AbortSignal }) {
      return takeGuardAsync(this, () => this.a.i32, this.lockOff, options);
    },
  });
}
