import { rlockInit, rlockLock, rlockUnlock } from './rlock.ts';

/**
 * Mailbox: how another thread asks an object's owner thread to do what only the owner can (run callbacks, start
 * socket I/O, apply enable/disable, finalize). One per arena (= per thread), in the arena's shared memory.
 *
 * Each object (bufferevent or evbuffer header) has a notify word. A poster ORs its request bits into that word; only
 * the poster that turned it from 0 to non-0 enqueues the object, so any number of requests coalesce into one entry
 * (as uv_async_send coalesces). The owner takes the entries, exchanges each object's notify word with 0 and acts on
 * the bits. A request posted after that exchange finds the word 0 again and enqueues anew: none is lost.
 *
 * Queue layout (MAILBOX_BYTES, in the owner's arena):
 *
 * | byte | field    | protected by  | meaning                                                       |
 * |------|----------|---------------|---------------------------------------------------------------|
 * | 0    | lock     | (itself)      | RLock for the fields below                                    |
 * | 20   | head     | mailbox lock  | next entry to take                                            |
 * | 24   | count    | mailbox lock  | entries queued                                                |
 * | 28   | overflow | mailbox lock  | 1 when an entry did not fit: the owner rescans all its objects |
 * | 32.. | entries  | mailbox lock  | CAPACITY x {object offset: i32, kind: i32}                    |
 *
 * After enqueueing, the poster adds 1 to the arena's doorbell word and notifies it (src/thread/doorbell.ts waits on it).
 */
const CAPACITY = 1024;
export const MAILBOX_BYTES = 32 + CAPACITY * 8;
const M_HEAD = 20;
const M_COUNT = 24;
const M_OVERFLOW = 28;
const M_ENTRIES = 32;

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
