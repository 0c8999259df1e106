import { acquireUnlessCycle, CYCLE, HELD } from '../shm/lock-wait.ts';
import { rlockDepth } from '../shm/rlock.ts';
import type { Arena } from '../shm/arena.ts';
import * as S from './storage.ts';
import { writeDroppedChannel } from '../diagnostics.ts';

/**
 * Additions to an evbuffer from a thread that does not own it (a foreign handle, src/thread/export.ts).
 *
 * The writer takes the buffer's lock, blocking if need be, unless that would close a wait cycle: the lock's holder is
 * itself waiting for a lock this thread holds (two callbacks on two threads writing into each other's bufferevents,
 * libevent's AB-BA deadlock). Then the write is queued instead, and the queue is added, in order, as soon as the lock
 * is free (Atomics.waitAsync). Later writes of the same thread queue behind it, so its writes keep their order.
 *
 * A queued write has already returned 0 to its caller, as a C write into a socket buffer has. It is dropped only if
 * the buffer is freed or its end frozen before the lock comes free; the buffer then no longer accepts additions from
 * anyone, so nothing written after it is kept either. The drop is published on `bufferevent:write-dropped`
 * (src/diagnostics.ts). @thread the foreign thread
 */
export interface ForeignWritable {
  readonly a: Arena;
  readonly h: number;
  readonly lockOff: number;
  readonly gen: number;
  /** The queue, null when empty: owned by this module. */
  pendingWrites: Uint8Array[] | null;
  tryLock(): boolean;
  settle(r: number): void;
  lockAsyncRaw(): Promise<void>;
  flags(): number;
  invokeCallbacks(): void;
  unlockRaw(): void;
}

/** Take the lock for an addition; false when the addition must be queued (queueForeignWrite). True holding the lock. */
export function lockForForeignWrite(b: ForeignWritable): boolean {
  if (b.pendingWrites !== null) return false; // keep this thread's writes in order behind the queued ones
  if (b.tryLock()) return true;
  const r = acquireUnlessCycle(b.a, b.lockOff, b.h + S.H_GEN, b.gen);
  if (r === CYCLE) return false;
  if (r !== HELD) b.settle(r);
  return true;
}

/** Queue `bytes` (a copy the caller no longer changes) behind the lock. Returns 0, as the addition's result. */
export function queueForeignWrite(b: ForeignWritable, bytes: Uint8Array): number {
  if (b.pendingWrites !== null) {
    b.pendingWrites.push(bytes);
    return 0;
  }
  b.pendingWrites = [bytes];
  const flushQueued = (): void => {
    const list = b.pendingWrites ?? [];
    b.pendingWrites = null;
    if (rlockDepth(b.a.i32, b.lockOff) === 0) {
      // this thread freed its handle while the acquisition was settling: the free let go of every level it held
      dropped(list, 'freed');
      return;
    }
    try {
      const f = b.flags();
      if ((f & (S.F_FREED | S.F_DEAD | S.F_FROZEN_END)) !== 0) {
        dropped(list, (f & S.F_FROZEN_END) !== 0 && (f & (S.F_FREED | S.F_DEAD)) === 0 ? 'frozen' : 'freed');
        return;
      }
      for (const x of list) S.addBytes(b.a, b.h, x, x.length);
      b.invokeCallbacks(); // a foreign handle: posts the change to the owner
    } finally {
      b.unlockRaw();
    }
  };
  // lockAsyncRaw re-checks the generation: a buffer freed meanwhile (its header maybe reused) is never written
  b.lockAsyncRaw().then(flushQueued, () => {
    const list = b.pendingWrites ?? [];
    b.pendingWrites = null;
    dropped(list, 'freed');
  });
  return 0;
}

function dropped(list: Uint8Array[], reason: 'freed' | 'frozen'): void {
  if (list.length === 0 || !writeDroppedChannel.hasSubscribers) return;
  let bytes = 0;
  for (const x of list) bytes += x.length;
  writeDroppedChannel.publish({ writes: list.length, bytes, reason });
}
