import fs from 'node:fs';
import { processWideSab } from '../shm/process-sab.ts';
import { defineLayout } from '../shm/layout.ts';

/**
 * File segments (evbuffer_file_segment_new): a range of an open file that evbuffers can hold without reading it.
 * A buffer holds a segment's bytes as *file chains* (src/evbuffer/storage.ts), which are read from the file only
 * when something needs the bytes themselves, a window at a time (a socket write reads what it sends).
 *
 * Every thread may read or drain such a buffer, so a segment's reference count lives in one process-wide table in a
 * SharedArrayBuffer (passed down through worker_threads environment data, as src/shm/threads.ts does): the user's
 * handle holds one reference and every file chain one more. When the last goes, the fd is closed if the segment was
 * made with EVBUF_FS_CLOSE_ON_FREE (evbuffer_add_file's are), on whichever thread dropped it.
 *
 * Table: SLOTS slots of SEGMENT_SLOT (below).
 */
export const EVBUF_FS_CLOSE_ON_FREE = 0x01;
export const EVBUF_FS_DISABLE_MMAP = 0x02;
export const EVBUF_FS_DISABLE_SENDFILE = 0x04;
export const EVBUF_FS_DISABLE_LOCKING = 0x08;

const SLOTS = 4096;
const ENV_KEY = 'bufferevent:file-segments';
/**
 * One slot of the process-wide segment table.
 *
 * | byte | type | field | protected by, written by  | meaning                                    |
 * |------|------|-------|---------------------------|--------------------------------------------|
 * | 0    | i32  | refs  | Atomics, any thread       | references; 0 a free slot, -1 being set up |
 * | 4    | i32  | fd    | the creator, before refs  | the file descriptor                        |
 * | 8    | i32  | flags | the creator, before refs  | EVBUF_FS_* given at creation               |
 * | 12   | i32  | gen   | the creator (Atomics.add) | bumped at each reuse of the slot           |
 */
export const SEGMENT_SLOT = defineLayout('file segment slot', 16, [
  { name: 'refs', type: 'i32', guard: 'Atomics, any thread', meaning: 'references; 0 a free slot, -1 being set up' },
  { name: 'fd', type: 'i32', guard: 'the creator, before refs', meaning: 'the file descriptor' },
  { name: 'flags', type: 'i32', guard: 'the creator, before refs', meaning: 'EVBUF_FS_* given at creation' },
  { name: 'gen', type: 'i32', guard: 'the creator (Atomics.add)', meaning: 'bumped at each reuse of the slot' },
]);
const SW = SEGMENT_SLOT.size >>> 2;
const W_REFS = SEGMENT_SLOT.off('refs') >>> 2;
const W_FD = SEGMENT_SLOT.off('fd') >>> 2;
const W_FLAGS = SEGMENT_SLOT.off('flags') >>> 2;
const W_GEN = SEGMENT_SLOT.off('gen') >>> 2;

const table = new Int32Array(processWideSab(ENV_KEY, SLOTS * SEGMENT_SLOT.size));

/** Take a free slot for a new segment (one reference: the user's). -1 when the table is full. */
export function segmentAlloc(fd: number, flags: number): number {
  for (let s = 0; s < SLOTS; s++) {
    const w = SW * s;
    if (Atomics.load(table, w + W_REFS) !== 0) continue;
    // claim it: 0 -> -1 (being set up), then publish with refs = 1
    if (Atomics.compareExchange(table, w + W_REFS, 0, -1) !== 0) continue;
    table[w + W_FD] = fd;
    table[w + W_FLAGS] = flags;
    Atomics.add(table, w + W_GEN, 1);
    Atomics.store(table, w + W_REFS, 1);
    return s;
  }
  return -1;
}

export function segmentFd(slot: number): number {
  return Atomics.load(table, SW * slot + W_FD);
}

export function segmentRef(slot: number): void {
  Atomics.add(table, SW * slot + W_REFS, 1);
}

/** Drop a reference; at the last, close the fd when the segment was made to, and free the slot. @thread any */
export function segmentUnref(slot: number): void {
  const w = SW * slot;
  if (Atomics.sub(table, w + W_REFS, 1) !== 1) return;
  const fd = table[w + W_FD]!;
  const flags = table[w + W_FLAGS]!;
  Atomics.store(table, w + W_REFS, 0);
  if (flags & EVBUF_FS_CLOSE_ON_FREE) {
    try {
      fs.closeSync(fd);
    } catch {
      // closed already by its owner: nothing more to release
    }
  }
}

/** Read `n` bytes of the file at `pos` into dst[at..]; what the file no longer has reads as zeros. @thread any */
export function segmentRead(slot: number, dst: Uint8Array, at: number, n: number, pos: number): void {
  const fd = segmentFd(slot);
  let done = 0;
  while (done < n) {
    let k: number;
    try {
      k = fs.readSync(fd, dst, at + done, n - done, pos + done);
    } catch {
      k = 0;
    }
    if (k <= 0) break;
    done += k;
  }
  if (done < n) dst.fill(0, at + done, at + n); // the file shrank since the segment was made
}

/** Give a slot back without closing its fd (a segment that was never used, libevent's failed evbuffer_add_file). */
export function segmentForget(slot: number): void {
  Atomics.store(table, SW * slot + W_REFS, 0);
}
