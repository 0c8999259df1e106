import { rlockInit, rlockLock, rlockUnlock, rlockFields } from './rlock.ts';
import { defineLayout } from './layout.ts';

/**
 * Mailbox: how another thread asks an object's owner thread to do what only the owner can (run callbacks, start
 * socket I/O, apply enable/disable, finalize). One per arena (= per thread), in the arena's shared memory.
 *
 * Each object (bufferevent or evbuffer header) has a notify word. A poster ORs its request bits into that word; only
 * the poster that turned it from 0 to non-0 enqueues the object, so any number of requests coalesce into one entry
 * (as uv_async_send coalesces). The owner takes the entries, exchanges each object's notify word with 0 and acts on
 * the bits. A request posted after that exchange finds the word 0 again and enqueues anew: none is lost.
 *
 * Queue layout: MAILBOX below, in the owner's arena.
 *
 * After enqueueing, the poster adds 1 to the arena's doorbell word and notifies it (src/thread/doorbell.ts waits on it).
 */
const CAPACITY = 1024;
/**
 * The mailbox queue.
 *
 * | byte | type      | field    | protected by, written by                     | meaning                                                        |
 * |------|-----------|----------|----------------------------------------------|----------------------------------------------------------------|
 * | 0    | i32       | state    | Atomics (the futex word)                     | mailbox lock: 0 free, 1 held, 2 held with waiters (rlock.ts)   |
 * | 4    | i32       | owner    | the holder                                   | mailbox lock: THREAD_TAG of the holder, 0 while free           |
 * | 8    | i32       | depth    | the holder                                   | mailbox lock: recursion depth                                  |
 * | 12   | i32       | refs     | Atomics, users                               | mailbox lock: objects using the lock                           |
 * | 16   | i32       | flags    | Atomics                                      | mailbox lock: OWNER_DIED, VALIDATED                            |
 * | 20   | i32       | head     | mailbox lock                                 | next entry to take                                             |
 * | 24   | i32       | count    | mailbox lock                                 | entries queued                                                 |
 * | 28   | i32       | overflow | mailbox lock                                 | 1 when an entry did not fit: the owner rescans all its objects |
 * | 32   | i32[2048] | entries  | mailbox lock; posters write, the owner takes | a ring of {object header offset, kind (KIND_*)}                |
 */
export const MAILBOX = defineLayout('mailbox', 32 + CAPACITY * 8, [
  ...rlockFields('mailbox lock'),
  { name: 'head', type: 'i32', guard: 'mailbox lock', meaning: 'next entry to take' },
  { name: 'count', type: 'i32', guard: 'mailbox lock', meaning: 'entries queued' },
  { name: 'overflow', type: 'i32', guard: 'mailbox lock', meaning: '1 when an entry did not fit: the owner rescans all its objects' },
  { name: 'entries', type: 'i32', count: CAPACITY * 2, guard: 'mailbox lock; posters write, the owner takes', meaning: 'a ring of {object header offset, kind (KIND_*)}' },
]);
export const MAILBOX_BYTES = MAILBOX.size;
const M_HEAD = MAILBOX.off('head');
const M_COUNT = MAILBOX.off('count');
const M_OVERFLOW = MAILBOX.off('overflow');
const M_ENTRIES = MAILBOX.off('entries');

export const KIND_BEV = 1;
export const KIND_EVBUF = 2;

export function mailboxInit(i32: Int32Array, mb: number): void {
  rlockInit(i32, mb);
  i32[(mb + M_HEAD) >>> 2] = 0;
  i32[(mb + M_COUNT) >>> 2] = 0;
  i32[(mb + M_OVERFLOW) >>> 2] = 0;
}

/**
 * Post `bits` for the object whose notify word is at byte `notifyOff`, header `h`. Returns true when this call
 * enqueued the object (the caller then rings the doorbell). @thread any
 */
export function mailboxPost(i32: Int32Array, mb: number, notifyOff: number, h: number, kind: number, bits: number): boolean {
  const old = Atomics.or(i32, notifyOff >>> 2, bits);
  if (old !== 0) return false; // already queued: the owner will see these bits with the others
  rlockLock(i32, mb);
  try {
    const count = i32[(mb + M_COUNT) >>> 2]!;
    if (count >= CAPACITY) {
      i32[(mb + M_OVERFLOW) >>> 2] = 1;
    } else {
      const slot = (i32[(mb + M_HEAD) >>> 2]! + count) % CAPACITY;
      i32[(mb + M_ENTRIES + slot * 8) >>> 2] = h;
      i32[(mb + M_ENTRIES + slot * 8 + 4) >>> 2] = kind;
      i32[(mb + M_COUNT) >>> 2] = count + 1;
    }
  } finally {
    rlockUnlock(i32, mb);
  }
  return true;
}

/** Take every queued entry: returns [h, kind] pairs and whether the queue overflowed. @thread owner */
export function mailboxTake(i32: Int32Array, mb: number): { entries: number[]; overflow: boolean } {
  const entries: number[] = [];
  rlockLock(i32, mb);
  try {
    let head = i32[(mb + M_HEAD) >>> 2]!;
    const count = i32[(mb + M_COUNT) >>> 2]!;
    for (let k = 0; k < count; k++) {
      entries.push(i32[(mb + M_ENTRIES + head * 8) >>> 2]!, i32[(mb + M_ENTRIES + head * 8 + 4) >>> 2]!);
      head = (head + 1) % CAPACITY;
    }
    i32[(mb + M_HEAD) >>> 2] = head;
    i32[(mb + M_COUNT) >>> 2] = 0;
    const overflow = i32[(mb + M_OVERFLOW) >>> 2] === 1;
    i32[(mb + M_OVERFLOW) >>> 2] = 0;
    return { entries, overflow };
  } finally {
    rlockUnlock(i32, mb);
  }
}
