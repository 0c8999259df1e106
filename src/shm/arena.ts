import { defineLayout } from './layout.ts';
import { rlockInit, rlockLock, rlockUnlock, rlockUnref, rlockReuse, lastLockWaitMs, RLOCK_FIELDS, rlockFields } from './rlock.ts';
import { MAILBOX_BYTES, mailboxInit } from './mailbox.ts';
import { codedError } from '../errors.ts';
import { THREAD_TAG } from './thread-id.ts';
import { OS_TID } from './threads.ts';

/**
 * Arena: a shared-memory heap in one growable SharedArrayBuffer. Every evbuffer chain, evbuffer header, bufferevent
 * header and lock lives in an arena, addressed by byte offset, so any thread that holds the arena's SAB (it travels
 * with an exported object) reads the same memory; a grow is visible to every thread at once (growable SABs never move).
 *
 * Each thread has one arena of its own (`localArena()`), made on first use. Blocks are never moved between arenas:
 * a buffer's chains always come from the buffer's home arena, whichever thread allocates them (under the arena lock).
 *
 * Header layout (ARENA_HEADER below, 256 bytes): its fields and their discipline are in the definition's table.
 *
 * Lock blocks (`newLock`, LOCK_BYTES) are type-stable: see the lifetime rule at `newLock`.
 *
 * Block layout: an 8-byte prefix {class: i32, tag: i32} then the payload; `alloc` returns the payload offset
 * (8-aligned). A free block's first payload word links to the next free block of its class (0 ends the list).
 * Sizes are powers of two from 32 bytes (class 5); a block freed at the very top lowers `top` instead of being
 * listed, so a buffer that grows and drains returns its memory to the arena. A SharedArrayBuffer cannot shrink, so
 * memory is given back to the arena for reuse by any object, not to the operating system.
 */
const ARENA_MAGIC = 0x45564152; // "EVAR"
/**
 * The arena header.
 *
 * | byte | type    | field        | protected by, written by          | meaning                                                                     |
 * |------|---------|--------------|-----------------------------------|-----------------------------------------------------------------------------|
 * | 0    | i32     | state        | Atomics (the futex word)          | arena lock: 0 free, 1 held, 2 held with waiters (rlock.ts)                  |
 * | 4    | i32     | owner        | the holder                        | arena lock: THREAD_TAG of the holder, 0 while free                          |
 * | 8    | i32     | depth        | the holder                        | arena lock: recursion depth                                                 |
 * | 12   | i32     | refs         | Atomics, users                    | arena lock: objects using the lock                                          |
 * | 16   | i32     | flags        | Atomics                           | arena lock: OWNER_DIED, VALIDATED                                           |
 * | 20   | i32     | magic        | write-once, creator               | ARENA_MAGIC, published last (Atomics.store); checked when a thread attaches |
 * | 24   | u32     | top          | arena lock                        | bump pointer: first never-allocated byte                                    |
 * | 28   | i32     | liveBlocks   | arena lock (Atomics.load to read) | blocks allocated and not freed (leak checks in tests)                       |
 * | 32   | u32[32] | freeHead     | arena lock                        | head of the free list of size class k (block = 2^k bytes)                   |
 * | 160  | i32     | gid          | write-once, creator               | THREAD_TAG of the creating thread: process-wide unique id, orders locks     |
 * | 164  | u32     | length       | arena lock                        | byte length after the last grow: threads remap their views when it changes  |
 * | 168  | i32     | bell         | Atomics, any thread               | doorbell: other threads add 1 and notify to wake this arena's thread        |
 * | 172  | u32     | mailbox      | write-once, creator               | offset of the mailbox (mailbox.ts)                                          |
 * | 176  | u32     | locks        | arena lock                        | head of the list of locks allocated here (robust-lock recovery)             |
 * | 180  | i32     | waitGid      | Atomics, the creating thread      | wait-cycle check: the arena (gid) of the lock this thread waits for         |
 * | 184  | u32     | waitOff      | Atomics, the creating thread      | ... and its offset; 0 while this thread waits for nothing                   |
 * | 188  | u32     | retiredLocks | arena lock                        | head of the list of retired locks, ready for reuse as locks                 |
 * | 192  | i32     | osTid        | write-once, creator               | the creating thread's OS thread id (0 if unknown): death checks             |
 * | 196  | u32[15] | spare        | -                                 | unused                                                                      |
 */
export const ARENA_HEADER = defineLayout('arena header', 256, [
  ...rlockFields('arena lock'),
  { name: 'magic', type: 'i32', guard: 'write-once, creator', meaning: 'ARENA_MAGIC, published last (Atomics.store); checked when a thread attaches' },
  { name: 'top', type: 'u32', guard: 'arena lock', meaning: 'bump pointer: first never-allocated byte' },
  { name: 'liveBlocks', type: 'i32', guard: 'arena lock (Atomics.load to read)', meaning: 'blocks allocated and not freed (leak checks in tests)' },
  { name: 'freeHead', type: 'u32', count: 32, guard: 'arena lock', meaning: 'head of the free list of size class k (block = 2^k bytes)' },
  { name: 'gid', type: 'i32', guard: 'write-once, creator', meaning: 'THREAD_TAG of the creating thread: process-wide unique id, orders locks' },
  { name: 'length', type: 'u32', guard: 'arena lock', meaning: 'byte length after the last grow: threads remap their views when it changes' },
  { name: 'bell', type: 'i32', guard: 'Atomics, any thread', meaning: "doorbell: other threads add 1 and notify to wake this arena's thread" },
  { name: 'mailbox', type: 'u32', guard: 'write-once, creator', meaning: 'offset of the mailbox (mailbox.ts)' },
  { name: 'locks', type: 'u32', guard: 'arena lock', meaning: 'head of the list of locks allocated here (robust-lock recovery)' },
  { name: 'waitGid', type: 'i32', guard: 'Atomics, the creating thread', meaning: 'wait-cycle check: the arena (gid) of the lock this thread waits for' },
  { name: 'waitOff', type: 'u32', guard: 'Atomics, the creating thread', meaning: '... and its offset; 0 while this thread waits for nothing' },
  { name: 'retiredLocks', type: 'u32', guard: 'arena lock', meaning: 'head of the list of retired locks, ready for reuse as locks' },
  { name: 'osTid', type: 'i32', guard: 'write-once, creator', meaning: 'the creating thread\'s OS thread id (0 if unknown): death checks' },
  { name: 'spare', type: 'u32', count: 15, guard: '-', meaning: 'unused' },
]);
const HEADER_BYTES = ARENA_HEADER.size;
const word = (name: string): number => ARENA_HEADER.off(name) >>> 2;
const W_MAGIC = word('magic');
const W_GID = word('gid');
const W_LEN = word('length');
export const W_BELL = word('bell');
export const W_MAILBOX = word('mailbox');
export const W_LOCKS = word('locks');
export const W_WAIT_GID = word('waitGid');
export const W_WAIT_OFF = word('waitOff');
const W_RETIRED = word('retiredLocks');
export const W_TID = word('osTid');

/** The arena made by the thread with this tag, if this thread knows it. */
export function arenaOfThread(tag: number): Arena | null {
  for (const a of knownArenas) if (a.id === tag) return a;
  return null;
}
const W_TOP = word('top');
const W_LIVE = word('liveBlocks');
const W_FREE = word('freeHead');
const MIN_CLASS = 5;
const HEADER_CLASS_LIMIT = 10;
const MAX_CLASS = 31;
const TAG_LIVE = 0x11ee;
const TAG_FREE = 0x0f0f;
/** Growable SABs only reserve address space up front; 4 GiB keeps every offset in an unsigned 32-bit word. */
export const ARENA_MAX_BYTES = 2 ** 32 - 8;
const INITIAL_BYTES = 1 << 20;

/** One thread's growable SharedArrayBuffer of shared objects, with its allocator and lock list (layout above). */
export class Arena {
  readonly sab: SharedArrayBuffer;
  /**
   * Fixed-length views over the whole arena. V8 optimizes fixed-length views over a growable SAB like ordinary typed
   * arrays, while length-tracking views are about 10x slower per access (measured on Node 24), so each thread keeps
   * fixed views and remaps them when the arena has grown (`sync`). Never cache a view across a call that allocates.
   */
  i32: Int32Array;
  u8: Uint8Array;
  f64: Float64Array;
  buf: Buffer;
  private len = 0;
  /** Process-wide unique (the creating thread's tag): the first key of the global lock order. */
  readonly id: number;

  private constructor(sab: SharedArrayBuffer, id: number) {
    this.sab = sab;
    this.i32 = this.u8 = this.f64 = this.buf = null as never;
    this.remap();
    if (id !== 0) {
      this.i32[W_GID] = id;
      this.i32[W_LEN] = sab.byteLength | 0;
    }
    this.id = this.i32[W_GID]!;
  }

  static create(): Arena {
    const sab = new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: ARENA_MAX_BYTES });
    const a = new Arena(sab, THREAD_TAG);
    rlockInit(a.i32, 0);
    a.i32[W_TOP] = HEADER_BYTES;
    a.i32[W_LIVE] = 0;
    a.i32[W_TID] = OS_TID;
    a.i32[W_MAILBOX] = a.alloc(MAILBOX_BYTES);
    mailboxInit(a.i32, a.i32[W_MAILBOX]!);
    Atomics.store(a.i32, W_MAGIC, ARENA_MAGIC); // publish: the header is initialized
    arenasBySab.set(sab, a);
    knownArenas.add(a);
    return a;
  }

  /** The Arena object for a SAB received from another thread (one object per SAB per thread). */
  static attach(sab: SharedArrayBuffer): Arena {
    const known = arenasBySab.get(sab);
    if (known) return known;
    const a = new Arena(sab, 0);
    if (Atomics.load(a.i32, W_MAGIC) !== ARENA_MAGIC) throw new TypeError('not a bufferevent arena');
    arenasBySab.set(sab, a);
    knownArenas.add(a);
    return a;
  }

  private remap(): void {
    const len = this.sab.byteLength;
    this.len = len;
    this.i32 = new Int32Array(this.sab, 0, len >>> 2);
    this.u8 = new Uint8Array(this.sab, 0, len);
    this.f64 = new Float64Array(this.sab, 0, len >>> 3);
    this.buf = Buffer.from(this.sab, 0, len);
  }

  /**
   * Remap the views if another thread grew the arena. Call at the start of every operation that may touch memory
   * allocated by another thread (after taking the lock that published it). Cheap: one word compare.
   */
  sync(): void {
    if (this.i32[W_LEN]! >>> 0 !== this.len) this.remap();
  }

  /** Allocate `n` bytes (8-aligned payload offset). @thread any @locks takes the arena lock */
  alloc(n: number): number {
    const cls = classFor(n + 8);
    rlockLock(this.i32, 0); // the header page is mapped in every view, so any view can lock
    try {
      this.sync();
      let i32 = this.i32;
      let blk = i32[W_FREE + cls]! >>> 0;
      if (blk !== 0) {
        i32[W_FREE + cls] = i32[blk >>> 2]!; // pop: payload word 0 links to the next free block
      } else {
        const raw = i32[W_TOP]! >>> 0;
        const end = raw + 2 ** cls;
        if (end > this.len) {
          this.grow(end);
          i32 = this.i32;
        }
        i32[W_TOP] = end | 0;
        blk = raw + 8;
      }
      i32[(blk >>> 2) - 2] = cls;
      i32[(blk >>> 2) - 1] = TAG_LIVE;
      i32[W_LIVE]!++;
      return blk;
    } finally {
      rlockUnlock(this.i32, 0);
    }
  }

  /**
   * A new recursive lock in this arena (refs = 1), linked into the arena's lock list so that a thread that learns of
   * another thread's death can find the locks it held.
   *
   * Lifetime rule (type-stable lock memory): a block that has once been a lock is a lock for the life of the arena.
   * When its last reference goes (`unrefLock`) it is retired, not freed: it stays on the lock list, joins the
   * retired list (linked through L_RETIRED_NEXT, a word the lock protocol never touches) and is handed out again only
   * by `newLock`, which resets `refs`, `flags` and `group` but never the protocol words (state, owner, depth). So a
   * thread that read a lock offset before the object was freed (a waiter asleep in it, a caller between its liveness
   * check and its acquire) always finds a valid lock there: it acquires it, sees that its object's generation moved
   * (every holder re-checks liveness after acquiring), releases it and throws ERR_BEV_FREED. At worst it holds a
   * recycled lock for that instant, which delays its new user and breaks nothing. A retired lock that is still
   * held or waited for (state != 0) is not reused until it is quiet.
   * @thread any @locks takes the arena lock
   */
  newLock(): number {
    rlockLock(this.i32, 0);
    try {
      this.sync();
      const i32 = this.i32;
      const head = i32[W_RETIRED]! >>> 0;
      if (head !== 0 && Atomics.load(i32, head >>> 2) === 0) {
        i32[W_RETIRED] = i32[(head + L_RETIRED_NEXT) >>> 2]!;
        rlockReuse(i32, head);
        i32[(head + L_GROUP) >>> 2] = 0;
        zeroCounters(this, head);
        i32[W_LIVE]!++;
        return head;
      }
    } finally {
      rlockUnlock(this.i32, 0);
    }
    const off = this.alloc(LOCK_BYTES);
    rlockInit(this.i32, off);
    rlockLock(this.i32, 0);
    try {
      this.i32[(off + L_GROUP) >>> 2] = 0;
      zeroCounters(this, off);
      this.i32[(off + L_NEXT) >>> 2] = this.i32[W_LOCKS]!;
      this.i32[W_LOCKS] = off;
    } finally {
      rlockUnlock(this.i32, 0);
    }
    return off;
  }

  /** Drop a reference to a lock made by newLock; retires it at the last one (see the lifetime rule at newLock). */
  unrefLock(off: number): void {
    if (!rlockUnref(this.i32, off)) return;
    rlockLock(this.i32, 0);
    try {
      this.sync();
      const i32 = this.i32;
      i32[(off + L_RETIRED_NEXT) >>> 2] = i32[W_RETIRED]!;
      i32[W_RETIRED] = off;
      i32[W_LIVE]!--;
    } finally {
      rlockUnlock(this.i32, 0);
    }
  }

  /** Every lock allocated in this arena (offsets), retired ones included (a thread can die holding one). */
  locks(): number[] {
    const out: number[] = [];
    rlockLock(this.i32, 0);
    try {
      this.sync();
      for (let cur = this.i32[W_LOCKS]! >>> 0; cur !== 0; cur = this.i32[(cur + L_NEXT) >>> 2]! >>> 0) out.push(cur);
    } finally {
      rlockUnlock(this.i32, 0);
    }
    return out;
  }

  /**
   * Structure check for tests: every block on a free list is marked free and every lock on the lock list is inside
   * the arena; no list is cyclic. Returns a description of the first problem, or null.
   */
  validate(): string | null {
    rlockLock(this.i32, 0);
    try {
      this.sync();
      const i32 = this.i32;
      const top = i32[W_TOP]! >>> 0;
      const inside = (b: number): boolean => b >= HEADER_BYTES + 8 && b < top && (b & 7) === 0;
      for (let cls = MIN_CLASS; cls <= MAX_CLASS; cls++) {
        let n = 0;
        for (let b = i32[W_FREE + cls]! >>> 0; b !== 0; b = i32[b >>> 2]! >>> 0) {
          if (!inside(b)) return `free list ${cls}: block ${b} outside the arena`;
          if (i32[(b >>> 2) - 1] !== TAG_FREE || i32[(b >>> 2) - 2] !== cls) return `free list ${cls}: block ${b} not free`;
          if (++n > top >>> MIN_CLASS) return `free list ${cls}: cycle`;
        }
      }
      const all = new Set<number>();
      for (let l = i32[W_LOCKS]! >>> 0; l !== 0; l = i32[(l + L_NEXT) >>> 2]! >>> 0) {
        if (!inside(l) || i32[(l >>> 2) - 1] !== TAG_LIVE) return `lock list: bad lock ${l}`;
        if (all.has(l)) return 'lock list: cycle';
        all.add(l);
      }
      const retired = new Set<number>();
      for (let l = i32[W_RETIRED]! >>> 0; l !== 0; l = i32[(l + L_RETIRED_NEXT) >>> 2]! >>> 0) {
        if (!all.has(l)) return `retired list: ${l} is not a lock`;
        if (retired.has(l)) return 'retired list: cycle';
        retired.add(l);
      }
      return null;
    } finally {
      rlockUnlock(this.i32, 0);
    }
  }

  /** Payload bytes usable in the block at `blk`. */
  blockSize(blk: number): number {
    return 2 ** this.i32[(blk >>> 2) - 2]! - 8;
  }

  /** Return a block. @thread any @locks takes the arena lock */
  free(blk: number): void {
    rlockLock(this.i32, 0);
    try {
      this.sync();
      const i32 = this.i32;
      const w = blk >>> 2;
      if (i32[w - 1] !== TAG_LIVE) throw new Error(`arena: double free or bad block at ${blk}`);
      const cls = i32[w - 2]!;
      i32[w - 1] = TAG_FREE;
      i32[W_LIVE]!--;
      const raw = blk - 8;
      // Only data blocks give their space back to the bump region: header-sized blocks (< 1 KiB) are reused only as
      // blocks of the same class, so a header's generation word is never overwritten by other data.
      if (cls >= HEADER_CLASS_LIMIT && raw + 2 ** cls === i32[W_TOP]! >>> 0) {
        i32[W_TOP] = raw | 0; // the top block: give the space back to the bump region
      } else {
        i32[w] = i32[W_FREE + cls]!;
        i32[W_FREE + cls] = blk | 0;
      }
    } finally {
      rlockUnlock(this.i32, 0);
    }
  }

  /** Blocks allocated and not yet freed (diagnostics and leak tests). */
  liveBlocks(): number {
    return Atomics.load(this.i32, W_LIVE);
  }

  private grow(end: number): void {
    if (end > ARENA_MAX_BYTES) throw codedError('ERR_BEV_ARENA_FULL', 'shared-memory arena is full (4 GiB)');
    let len = Math.max(this.sab.byteLength, this.len);
    while (len < end) len = Math.min(ARENA_MAX_BYTES, len * 2);
    this.sab.grow(len);
    this.remap();
    this.i32[W_LEN] = len | 0; // under the arena lock; other threads remap when they see it change
  }
}

function classFor(bytes: number): number {
  if (bytes > 2 ** MAX_CLASS) throw codedError('ERR_BEV_ARENA_FULL', `allocation of ${bytes} bytes is too large`);
  return Math.max(MIN_CLASS, 32 - Math.clz32(bytes - 1)); // the smallest k with 2^k >= bytes
}

const arenasBySab = new WeakMap<SharedArrayBuffer, Arena>();
/** Every arena this thread has made or attached (for robust-lock recovery scans). */
export const knownArenas = new Set<Arena>();
/**
 * A lock made by Arena.newLock: the RLock's words (src/shm/rlock.ts), then the arena's bookkeeping and the counters.
 *
 * | byte | type | field       | protected by, written by | meaning                                                                    |
 * |------|------|-------------|--------------------------|----------------------------------------------------------------------------|
 * | 0    | i32  | state       | Atomics (the futex word) | 0 free, 1 held, 2 held with waiters (rlock.ts)                             |
 * | 4    | i32  | owner       | the holder               | THREAD_TAG of the holder, 0 while free                                     |
 * | 8    | i32  | depth       | the holder               | recursion depth                                                            |
 * | 12   | i32  | refs        | Atomics, users           | objects using the lock                                                     |
 * | 16   | i32  | flags       | Atomics                  | OWNER_DIED, VALIDATED                                                      |
 * | 20   | u32  | next        | arena lock               | next lock of this arena (every lock ever made here, retired ones included) |
 * | 24   | u32  | retiredNext | arena lock               | next retired lock (only while retired)                                     |
 * | 28   | u32  | group       | the lock                 | what the lock protects, for recovery after a holder died (lock-group.ts)   |
 * | 32   | f64  | acquired    | the lock                 | first-level acquisitions by the bufferevent and evbuffer code (stats)      |
 * | 40   | f64  | waited      | the lock                 | those that found it held and waited                                        |
 * | 48   | f64  | waitMs      | the lock                 | milliseconds spent in those waits                                          |
 */
export const LOCK_BLOCK = defineLayout('lock block', 56, [
  ...RLOCK_FIELDS,
  { name: 'next', type: 'u32', guard: 'arena lock', meaning: 'next lock of this arena (every lock ever made here, retired ones included)' },
  { name: 'retiredNext', type: 'u32', guard: 'arena lock', meaning: 'next retired lock (only while retired)' },
  { name: 'group', type: 'u32', guard: 'the lock', meaning: 'what the lock protects, for recovery after a holder died (lock-group.ts)' },
  { name: 'acquired', type: 'f64', guard: 'the lock', meaning: 'first-level acquisitions by the bufferevent and evbuffer code (stats)' },
  { name: 'waited', type: 'f64', guard: 'the lock', meaning: 'those that found it held and waited' },
  { name: 'waitMs', type: 'f64', guard: 'the lock', meaning: 'milliseconds spent in those waits' },
]);
export const LOCK_BYTES = LOCK_BLOCK.size;
const L_NEXT = LOCK_BLOCK.off('next');
const L_RETIRED_NEXT = LOCK_BLOCK.off('retiredNext');
export const L_GROUP = LOCK_BLOCK.off('group');
const L_ACQUIRED = LOCK_BLOCK.off('acquired');
const L_WAITED = LOCK_BLOCK.off('waited');
const L_WAIT_MS = LOCK_BLOCK.off('waitMs');

/** Count an acquisition of a lock made by newLock; `waited` is what rlockLock returned. @locks the lock */
export function countAcquired(a: Arena, lockOff: number, waited: boolean): void {
  const f = a.f64;
  f[(lockOff + L_ACQUIRED) >>> 3]!++;
  if (waited) {
    f[(lockOff + L_WAITED) >>> 3]!++;
    f[(lockOff + L_WAIT_MS) >>> 3]! += lastLockWaitMs();
  }
}

/** The counters of a lock made by newLock (a moment old: read without the lock). */
export function lockCounters(a: Arena, lockOff: number): { acquired: number; waited: number; waitMs: number } {
  const f = a.f64;
  return { acquired: f[(lockOff + L_ACQUIRED) >>> 3]!, waited: f[(lockOff + L_WAITED) >>> 3]!, waitMs: f[(lockOff + L_WAIT_MS) >>> 3]! };
}

function zeroCounters(a: Arena, lockOff: number): void {
  a.f64.fill(0, (lockOff + L_ACQUIRED) >>> 3, (lockOff + L_WAIT_MS + 8) >>> 3);
}

let local: Arena | null = null;
/** This thread's own arena. */
export function localArena(): Arena {
  return (local ??= Arena.create());
}
