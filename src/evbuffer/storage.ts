import type { Arena } from '../shm/arena.ts';
import { defineLayout } from '../shm/layout.ts';
import { segmentRead, segmentRef, segmentUnref } from './segments.ts';

/**
 * Evbuffer storage: a linked list of chains in an arena (libevent's evbuffer_chain list), all in shared memory.
 * Nothing here locks or runs callbacks; every function requires the buffer's lock when the buffer has one
 * (`@locks requires buffer lock`), and the caller (evbuffer.ts) checks freeze flags.
 *
 * The buffer header (in the buffer's home arena, 8-aligned) and the chain header (before each chain's data, the
 * payload of an arena block) are defined below; their tables are the definitions.
 *
 * Invariants (checked by validate()): the chain list from `first` ends at `last`; the sum of `off` equals `length`;
 * only the first chain may have `off == 0` when it is also the last (an empty reusable chain) or pinned;
 * misalign + off <= cap.
 * A pinned last chain never has its end (misalign + off) moved by a drain, so a read in flight into the space after
 * it stays valid; a pinned chain is never freed while pinned (a zero-copy socket write may still be reading it).
 */
const BUF_LOCK = 'buffer lock';
/**
 * The evbuffer header. The generation survives the block's reuse (header blocks are only ever reused as headers).
 *
 * | byte | type | field      | protected by, written by             | meaning                                                                   |
 * |------|------|------------|--------------------------------------|---------------------------------------------------------------------------|
 * | 0    | f64  | length     | buffer lock                          | bytes in the buffer                                                       |
 * | 8    | f64  | frontAbs   | buffer lock                          | stream position of the first byte (drains add, prepends subtract)         |
 * | 16   | u32  | first      | buffer lock                          | first chain (payload offset), 0 when there is none                        |
 * | 20   | u32  | last       | buffer lock                          | last chain, 0 when there is none                                          |
 * | 24   | i32  | flags      | buffer lock; Atomics for freeze/free | F_FROZEN_START, F_FROZEN_END, F_FREED, F_DEAD, F_DRAINS_TO_FD, F_HAS_FILE |
 * | 28   | i32  | lockOff    | write-once, creator                  | RLock offset in this arena, 0 for an unlocked buffer                      |
 * | 32   | f64  | nAddForCb  | buffer lock                          | bytes added since callbacks last ran                                      |
 * | 40   | f64  | nDelForCb  | buffer lock                          | bytes removed since callbacks last ran                                    |
 * | 48   | i32  | refcnt     | Atomics, any handle                  | handles keeping the header alive (evbuffer_free drops one)                |
 * | 52   | i32  | lastCap    | buffer lock                          | capacity of the most recent chain allocated (growth hint)                 |
 * | 56   | i32  | owner      | write-once, creator                  | THREAD_TAG of the thread whose loop runs this buffer's bufferevent        |
 * | 60   | i32  | spare      | -                                    | alignment                                                                 |
 * | 64   | i32  | notify     | Atomics, any thread                  | mailbox request bits from other threads (src/shm/mailbox.ts)              |
 * | 68   | i32  | generation | Atomics.add at free                  | never reset: a handle whose generation differs is stale                   |
 */
export const EVBUFFER_HEADER = defineLayout('evbuffer header', 72, [
  { name: 'length', type: 'f64', guard: BUF_LOCK, meaning: 'bytes in the buffer' },
  { name: 'frontAbs', type: 'f64', guard: BUF_LOCK, meaning: 'stream position of the first byte (drains add, prepends subtract)' },
  { name: 'first', type: 'u32', guard: BUF_LOCK, meaning: 'first chain (payload offset), 0 when there is none' },
  { name: 'last', type: 'u32', guard: BUF_LOCK, meaning: 'last chain, 0 when there is none' },
  { name: 'flags', type: 'i32', guard: `${BUF_LOCK}; Atomics for freeze/free`, meaning: 'F_FROZEN_START, F_FROZEN_END, F_FREED, F_DEAD, F_DRAINS_TO_FD, F_HAS_FILE' },
  { name: 'lockOff', type: 'i32', guard: 'write-once, creator', meaning: 'RLock offset in this arena, 0 for an unlocked buffer' },
  { name: 'nAddForCb', type: 'f64', guard: BUF_LOCK, meaning: 'bytes added since callbacks last ran' },
  { name: 'nDelForCb', type: 'f64', guard: BUF_LOCK, meaning: 'bytes removed since callbacks last ran' },
  { name: 'refcnt', type: 'i32', guard: 'Atomics, any handle', meaning: 'handles keeping the header alive (evbuffer_free drops one)' },
  { name: 'lastCap', type: 'i32', guard: BUF_LOCK, meaning: 'capacity of the most recent chain allocated (growth hint)' },
  { name: 'owner', type: 'i32', guard: 'write-once, creator', meaning: "THREAD_TAG of the thread whose loop runs this buffer's bufferevent" },
  { name: 'spare', type: 'i32', guard: '-', meaning: 'alignment' },
  { name: 'notify', type: 'i32', guard: 'Atomics, any thread', meaning: 'mailbox request bits from other threads (src/shm/mailbox.ts)' },
  { name: 'generation', type: 'i32', guard: 'Atomics.add at free', meaning: 'never reset: a handle whose generation differs is stale' },
]);
export const HDR_BYTES = EVBUFFER_HEADER.size;
export const H_LEN = EVBUFFER_HEADER.off('length');
export const H_FRONT = EVBUFFER_HEADER.off('frontAbs');
export const H_FIRST = EVBUFFER_HEADER.off('first');
export const H_LAST = EVBUFFER_HEADER.off('last');
export const H_FLAGS = EVBUFFER_HEADER.off('flags');
export const H_LOCK = EVBUFFER_HEADER.off('lockOff');
export const H_NADD = EVBUFFER_HEADER.off('nAddForCb');
export const H_NDEL = EVBUFFER_HEADER.off('nDelForCb');
export const H_REFCNT = EVBUFFER_HEADER.off('refcnt');
export const H_LASTCAP = EVBUFFER_HEADER.off('lastCap');
export const H_OWNER = EVBUFFER_HEADER.off('owner');
export const H_NOTIFY = EVBUFFER_HEADER.off('notify');
export const H_GEN = EVBUFFER_HEADER.off('generation');

/** The bits of the header's `flags` word. */
export const F_FROZEN_START = 1;
export const F_FROZEN_END = 2;
export const F_FREED = 4;
/** The buffer's bufferevent lost its last reference: user calls throw ERR_BEV_FREED; the owner frees it later. */
export const F_DEAD = 8;
/** evbuffer_set_flags(EVBUFFER_FLAG_DRAINS_TO_FD): recorded, as libevent; nothing here reads it yet */
export const F_DRAINS_TO_FD = 16;
/** The buffer has held a file chain (never cleared): without it, `materialize` has nothing to look for. */
export const F_HAS_FILE = 32;

/**
 * The chain header, before the data; the live region is [misalign, misalign + off) of the data area.
 *
 * | byte | type | field    | protected by, written by | meaning                                                                               |
 * |------|------|----------|--------------------------|---------------------------------------------------------------------------------------|
 * | 0    | u32  | next     | buffer lock              | next chain, 0 at the end                                                              |
 * | 4    | u32  | cap      | write-once, allocator    | data bytes the chain can hold                                                         |
 * | 8    | u32  | misalign | buffer lock              | offset of the first live byte in the data area                                        |
 * | 12   | u32  | off      | buffer lock              | live bytes (libevent's name)                                                          |
 * | 16   | i32  | pins     | buffer lock              | in-flight users of the chain's memory (a socket write or read); > 0 forbids moving it |
 * | 20   | i32  | dead     | buffer lock              | 1 when unlinked while pinned: the last unpin frees it                                 |
 */
export const CHAIN_HEADER = defineLayout('evbuffer chain', 24, [
  { name: 'next', type: 'u32', guard: BUF_LOCK, meaning: 'next chain, 0 at the end' },
  { name: 'cap', type: 'u32', guard: 'write-once, allocator', meaning: 'data bytes the chain can hold' },
  { name: 'misalign', type: 'u32', guard: BUF_LOCK, meaning: 'offset of the first live byte in the data area' },
  { name: 'off', type: 'u32', guard: BUF_LOCK, meaning: "live bytes (libevent's name)" },
  { name: 'pins', type: 'i32', guard: BUF_LOCK, meaning: "in-flight users of the chain's memory (a socket write or read); > 0 forbids moving it" },
  { name: 'dead', type: 'i32', guard: BUF_LOCK, meaning: '1 when unlinked while pinned: the last unpin frees it' },
]);
/**
 * A file chain (evbuffer_add_file, file segments) holds bytes that are still in a file: its `cap` is 0 (an ordinary
 * chain always has room), `misalign` is its segment's slot (src/evbuffer/segments.ts), `off` the bytes it stands
 * for, and the `pins`/`dead` words hold, as one f64, the file position of its first byte. It is never pinned.
 * `materialize` turns the part of it that something needs into ordinary chains, reading the file then.
 */
const FILE_POS = CHAIN_HEADER.off('pins');
const FILE_WINDOW = 1 << 20; // one read (and one ordinary chain) of a materialized file chain at the most
const C_NEXT = CHAIN_HEADER.off('next');
const C_CAP = CHAIN_HEADER.off('cap');
const C_MIS = CHAIN_HEADER.off('misalign');
const C_OFF = CHAIN_HEADER.off('off');
const C_PINS = CHAIN_HEADER.off('pins');
const C_DEAD = CHAIN_HEADER.off('dead');
export const CHAIN_HDR = CHAIN_HEADER.size;
/** The same fields as Int32 word indexes from the chain's first word (`c >>> 2`). */
const W_NEXT = C_NEXT >>> 2;
const W_CAP = C_CAP >>> 2;
const W_MIS = C_MIS >>> 2;
const W_OFF = C_OFF >>> 2;
const W_PINS = C_PINS >>> 2;
const W_DEAD = C_DEAD >>> 2;

const MIN_CHAIN = 1024 - 8 - CHAIN_HDR; // a 1 KiB block
const MAX_AUTO_CHAIN = 65536 - 8 - CHAIN_HDR; // growth stops doubling at 64 KiB blocks
/** A drained-empty last chain this big is freed instead of kept for reuse: memory goes back after large drains. */
const KEEP_EMPTY_MAX = 65536;

export function hdrInit(a: Arena, h: number, lockOff: number, owner: number): void {
  a.u8.fill(0, h, h + H_GEN); // the generation survives reuse of the block
  a.i32[(h + H_LOCK) >>> 2] = lockOff;
  a.i32[(h + H_REFCNT) >>> 2] = 1;
  a.i32[(h + H_OWNER) >>> 2] = owner;
}

export function length(a: Arena, h: number): number {
  return a.f64[h >>> 3]!;
}

function setLen(a: Arena, h: number, v: number): void {
  a.f64[h >>> 3] = v;
}

export function chainData(c: number): number {
  return c + CHAIN_HDR;
}
export function chainNext(a: Arena, c: number): number {
  return a.i32[(c + C_NEXT) >>> 2]! >>> 0;
}
export function chainStart(a: Arena, c: number): number {
  return c + CHAIN_HDR + a.i32[(c + C_MIS) >>> 2]!;
}
export function chainLen(a: Arena, c: number): number {
  return a.i32[(c + C_OFF) >>> 2]! >>> 0;
}

/**
 * A new chain of at least `atLeast` bytes: by default sized as libevent sizes them (1 KiB at least, doubling with the
 * buffer's last chain up to 64 KiB); `exact`: the smallest block that holds `atLeast`, and the doubling hint stays.
 */
function newChain(a: Arena, h: number, atLeast: number, exact = false): number {
  const hint = a.i32[(h + H_LASTCAP) >>> 2]! >>> 0;
  const want = exact ? atLeast : Math.max(atLeast, MIN_CHAIN, Math.min(hint * 2, MAX_AUTO_CHAIN));
  const c = a.alloc(want + CHAIN_HDR);
  const cap = a.blockSize(c) - CHAIN_HDR;
  const w = c >>> 2;
  const i32 = a.i32;
  i32[w + W_NEXT] = 0;
  i32[w + W_CAP] = cap;
  i32[w + W_MIS] = 0;
  i32[w + W_OFF] = 0;
  i32[w + W_PINS] = 0;
  i32[w + W_DEAD] = 0;
  if (!exact) i32[(h + H_LASTCAP) >>> 2] = Math.min(cap, MAX_AUTO_CHAIN);
  return c;
}

function linkLast(a: Arena, h: number, c: number): void {
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  if (last === 0) a.i32[(h + H_FIRST) >>> 2] = c;
  else a.i32[(last + C_NEXT) >>> 2] = c;
  a.i32[(h + H_LAST) >>> 2] = c;
}

export function isFileChain(a: Arena, c: number): boolean {
  return a.i32[(c + C_CAP) >>> 2] === 0;
}

/** Append a file chain standing for `n` bytes of the segment in `slot` from file position `pos` (takes a reference). */
export function addFileChain(a: Arena, h: number, slot: number, pos: number, n: number): void {
  const c = a.alloc(CHAIN_HDR);
  const i32 = a.i32;
  i32[(c + C_NEXT) >>> 2] = 0;
  i32[(c + C_CAP) >>> 2] = 0;
  i32[(c + C_MIS) >>> 2] = slot;
  i32[(c + C_OFF) >>> 2] = n;
  a.f64[(c + FILE_POS) >>> 3] = pos;
  segmentRef(slot);
  Atomics.or(i32, (h + H_FLAGS) >>> 2, F_HAS_FILE);
  // an empty, unpinned sole chain in front would break "only the sole chain may be empty": replace it
  const last = i32[(h + H_LAST) >>> 2]! >>> 0;
  if (last !== 0 && chainLen(a, last) === 0 && i32[(last + C_PINS) >>> 2] === 0 && i32[(h + H_FIRST) >>> 2] === last && !isFileChain(a, last)) {
    i32[(h + H_FIRST) >>> 2] = 0;
    i32[(h + H_LAST) >>> 2] = 0;
    a.free(last);
  }
  linkLast(a, h, c);
  setLen(a, h, length(a, h) + n);
  a.f64[(h + H_NADD) >>> 3]! += n;
}

/**
 * Read the file chains that cover positions [0, upTo) into ordinary chains (at most FILE_WINDOW per chain), in
 * place: the buffer's bytes and length do not change. Every function that reads bytes calls it first.
 * @locks requires buffer lock
 */
export function materialize(a: Arena, h: number, upTo: number): void {
  if ((a.i32[(h + H_FLAGS) >>> 2]! & F_HAS_FILE) === 0) return; // the common case: one flag read
  let prev = 0;
  let pos = 0;
  let c = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  while (c !== 0 && pos < upTo) {
    if (!isFileChain(a, c)) {
      pos += chainLen(a, c);
      prev = c;
      c = chainNext(a, c);
      continue;
    }
    const off = chainLen(a, c);
    const k = Math.min(off, upTo - pos, FILE_WINDOW);
    const m = newChain(a, h, k); // may grow (and remap) the arena: views are re-read below
    const slot = a.i32[(c + C_MIS) >>> 2]!;
    const fpos = a.f64[(c + FILE_POS) >>> 3]!;
    segmentRead(slot, a.u8, chainData(m), k, fpos);
    const i32 = a.i32;
    i32[(m + C_OFF) >>> 2] = k;
    i32[(m + C_NEXT) >>> 2] = c;
    if (prev === 0) i32[(h + H_FIRST) >>> 2] = m;
    else i32[(prev + C_NEXT) >>> 2] = m;
    if (k === off) {
      i32[(m + C_NEXT) >>> 2] = chainNext(a, c);
      if ((i32[(h + H_LAST) >>> 2]! >>> 0) === c) i32[(h + H_LAST) >>> 2] = m;
      a.free(c);
      segmentUnref(slot);
      c = chainNext(a, m);
    } else {
      i32[(c + C_OFF) >>> 2] = off - k;
      a.f64[(c + FILE_POS) >>> 3] = fpos + k;
    }
    pos += k;
    prev = m;
  }
}

/** Free or retire (when pinned) an unlinked chain. */
function dropChain(a: Arena, c: number): void {
  if (isFileChain(a, c)) {
    const slot = a.i32[(c + C_MIS) >>> 2]!;
    a.free(c);
    segmentUnref(slot);
    return;
  }
  if (a.i32[(c + C_PINS) >>> 2]! > 0) a.i32[(c + C_DEAD) >>> 2] = 1;
  else a.free(c);
}

export function pinChain(a: Arena, c: number): void {
  a.i32[(c + C_PINS) >>> 2]!++;
}
/** Drop a pin; frees the chain when it was unlinked meanwhile. @locks requires buffer lock */
export function unpinChain(a: Arena, c: number): void {
  const w = (c + C_PINS) >>> 2;
  if (--a.i32[w]! === 0 && a.i32[(c + C_DEAD) >>> 2] === 1) a.free(c);
}

/** Free space after the live bytes of the last chain. */
export function tailSpace(a: Arena, h: number): number {
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  if (last === 0) return 0;
  const w = last >>> 2;
  return (a.i32[w + W_CAP]! >>> 0) - (a.i32[w + W_MIS]! >>> 0) - (a.i32[w + W_OFF]! >>> 0);
}

/**
 * Make sure the last chain has at least `n` contiguous free bytes (a new chain may be linked, empty) and return the
 * chain; its free space starts at chainStart + chainLen. @locks requires buffer lock
 */
export function reserveTail(a: Arena, h: number, n: number, exact = false): number {
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  if (last !== 0) {
    const w = last >>> 2;
    const cap = a.i32[w + W_CAP]! >>> 0;
    const mis = a.i32[w + W_MIS]! >>> 0;
    const off = a.i32[w + W_OFF]! >>> 0;
    if (cap - mis - off >= n) return last;
    if (off === 0 && a.i32[w + W_PINS] === 0 && cap >= n) {
      a.i32[w + W_MIS] = 0; // an empty unpinned chain: realign instead of allocating
      return last;
    }
  }
  const c = newChain(a, h, n, exact);
  if (last !== 0 && chainLen(a, last) === 0 && a.i32[(last + C_PINS) >>> 2] === 0 && a.i32[(h + H_FIRST) >>> 2] === last) {
    // replace an empty, unpinned sole chain rather than leaving it in front
    a.i32[(h + H_FIRST) >>> 2] = 0;
    a.i32[(h + H_LAST) >>> 2] = 0;
    a.free(last);
  }
  linkLast(a, h, c);
  return c;
}

/** Count `n` bytes written into the tail space of the last chain as live. @locks requires buffer lock */
export function commitTail(a: Arena, h: number, n: number): void {
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  a.i32[(last + C_OFF) >>> 2] = (chainLen(a, last) + n) | 0;
  setLen(a, h, length(a, h) + n);
  a.f64[(h + H_NADD) >>> 3]! += n;
}

/** Append bytes. @locks requires buffer lock */
export function addBytes(a: Arena, h: number, src: Uint8Array, n: number): void {
  if (n === 0) return;
  let done = 0;
  const space = tailSpace(a, h);
  if (space > 0) {
    const k = Math.min(space, n);
    const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
    const at = chainStart(a, last) + chainLen(a, last);
    if (k === n && n <= 16) {
      const u8 = a.u8;
      for (let i = 0; i < n; i++) u8[at + i] = src[i]!;
    } else {
      a.u8.set(n === src.length && k === n ? src : src.subarray(0, k), at);
    }
    a.i32[(last + C_OFF) >>> 2] = (chainLen(a, last) + k) | 0;
    done = k;
  }
  if (done < n) {
    const rest = n - done;
    const c = reserveTail(a, h, rest);
    a.u8.set(src.subarray(done, n), chainStart(a, c) + chainLen(a, c));
    a.i32[(c + C_OFF) >>> 2] = (chainLen(a, c) + rest) | 0;
  }
  setLen(a, h, length(a, h) + n);
  a.f64[(h + H_NADD) >>> 3]! += n;
}

/**
 * addBytes for a socket read copied in from the thread's read slab. Into an empty buffer without room for it, the
 * read gets a chain of its own size rather than libevent's 1 KiB minimum: the chain stays with the connection (an
 * echo moves it to the output and back), so a connection that goes quiet after small messages keeps a block the
 * size of its last message, not 1 KiB. @locks requires buffer lock
 */
export function addRead(a: Arena, h: number, src: Uint8Array, n: number): void {
  if (n > 0 && length(a, h) === 0 && tailSpace(a, h) < n) reserveTail(a, h, n, true);
  addBytes(a, h, src, n);
}

/** Append a string as UTF-8; returns the byte count. @locks requires buffer lock */
export function addString(a: Arena, h: number, s: string): number {
  if (s.length === 0) return 0;
  const maxBytes = s.length * 3;
  let space = tailSpace(a, h);
  let n: number;
  if (space < maxBytes) {
    n = Buffer.byteLength(s, 'utf8');
    if (space < n) {
      reserveTail(a, h, n);
      space = tailSpace(a, h);
    }
  }
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  const at = chainStart(a, last) + chainLen(a, last);
  n = a.buf.write(s, at, space, 'utf8');
  a.i32[(last + C_OFF) >>> 2] = (chainLen(a, last) + n) | 0;
  setLen(a, h, length(a, h) + n);
  a.f64[(h + H_NADD) >>> 3]! += n;
  return n;
}

/** Insert bytes in front. @locks requires buffer lock */
export function prependBytes(a: Arena, h: number, src: Uint8Array, n: number): void {
  if (n === 0) return;
  const i32 = a.i32;
  let first = i32[(h + H_FIRST) >>> 2]! >>> 0;
  let remaining = n;
  if (first !== 0 && !isFileChain(a, first)) {
    const w = first >>> 2;
    if (i32[w + W_OFF] === 0 && i32[w + W_PINS] === 0) {
      // empty, unpinned: move its live area to the end so the prepend lands before it
      const cap = i32[w + W_CAP]! >>> 0;
      i32[w + W_MIS] = cap;
    }
    const mis = i32[w + W_MIS]! >>> 0;
    const k = Math.min(mis, remaining);
    if (k > 0) {
      const at = chainData(first) + mis - k;
      a.u8.set(src.subarray(n - k, n), at);
      i32[w + W_MIS] = mis - k;
      i32[w + W_OFF] = (i32[w + W_OFF]! >>> 0) + k;
      remaining -= k;
    }
  }
  if (remaining > 0) {
    const c = newChain(a, h, remaining);
    const i32 = a.i32; // newChain may have grown (and remapped) the arena
    const cw = c >>> 2;
    const cap = i32[cw + W_CAP]! >>> 0;
    a.u8.set(src.subarray(0, remaining), chainData(c) + cap - remaining);
    i32[cw + W_MIS] = cap - remaining;
    i32[cw + W_OFF] = remaining;
    i32[cw + W_NEXT] = first;
    i32[(h + H_FIRST) >>> 2] = c;
    if (first === 0) i32[(h + H_LAST) >>> 2] = c;
    first = c;
  }
  setLen(a, h, length(a, h) + n);
  a.f64[(h + H_FRONT) >>> 3]! -= n;
  a.f64[(h + H_NADD) >>> 3]! += n;
}

/** Copy up to `n` bytes starting at logical position `pos` into dst[dstOff..]; returns the count. */
export function copyOut(a: Arena, h: number, pos: number, dst: Uint8Array, dstOff: number, n: number): number {
  const len = length(a, h);
  if (pos >= len) return 0;
  n = Math.min(n, len - pos);
  materialize(a, h, pos + n);
  let c = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  let skip = pos;
  let done = 0;
  const u8 = a.u8;
  while (c !== 0 && done < n) {
    const clen = chainLen(a, c);
    if (skip >= clen) {
      skip -= clen;
    } else {
      const k = Math.min(clen - skip, n - done);
      const from = chainStart(a, c) + skip;
      if (k <= 16) {
        for (let i = 0; i < k; i++) dst[dstOff + done + i] = u8[from + i]!;
      } else {
        dst.set(u8.subarray(from, from + k), dstOff + done);
      }
      done += k;
      skip = 0;
    }
    c = chainNext(a, c);
  }
  return done;
}

/** Remove `n` bytes (at most the length) from the front. @locks requires buffer lock */
export function drain(a: Arena, h: number, n: number): number {
  const len = length(a, h);
  if (n > len) n = len;
  if (n <= 0) return 0;
  const i32 = a.i32;
  let remaining = n;
  let c = i32[(h + H_FIRST) >>> 2]! >>> 0;
  while (c !== 0) {
    const w = c >>> 2;
    const off = i32[w + W_OFF]! >>> 0;
    const next = i32[w + W_NEXT]! >>> 0;
    const file = i32[w + W_CAP] === 0;
    if (remaining < off) {
      if (file) a.f64[(c + FILE_POS) >>> 3]! += remaining; // drained without being read
      else i32[w + W_MIS] = (i32[w + W_MIS]! >>> 0) + remaining;
      i32[w + W_OFF] = off - remaining;
      remaining = 0;
      break;
    }
    remaining -= off;
    const isLast = next === 0;
    if (file && isLast) {
      i32[(h + H_FIRST) >>> 2] = 0;
      i32[(h + H_LAST) >>> 2] = 0;
      dropChain(a, c);
      c = 0;
      break;
    }
    const pinned = i32[w + W_PINS]! > 0;
    if (isLast) {
      if (pinned) {
        i32[w + W_MIS] = (i32[w + W_MIS]! >>> 0) + off; // keep the end where it is: a read may be landing after it
        i32[w + W_OFF] = 0;
      } else if ((i32[w + W_CAP]! >>> 0) <= KEEP_EMPTY_MAX) {
        i32[w + W_MIS] = 0;
        i32[w + W_OFF] = 0;
      } else {
        i32[(h + H_FIRST) >>> 2] = 0;
        i32[(h + H_LAST) >>> 2] = 0;
        a.free(c);
        c = 0;
        break;
      }
      i32[(h + H_FIRST) >>> 2] = c;
      break;
    }
    i32[(h + H_FIRST) >>> 2] = next;
    dropChain(a, c);
    c = next;
    if (remaining === 0) {
      // the next chain may be empty only if it is the last one; leave it
      break;
    }
  }
  setLen(a, h, len - n);
  a.f64[(h + H_FRONT) >>> 3]! += n;
  a.f64[(h + H_NDEL) >>> 3]! += n;
  return n;
}

/** Free every chain (the buffer is being destroyed). @locks requires buffer lock */
export function freeAll(a: Arena, h: number): void {
  const i32 = a.i32;
  let c = i32[(h + H_FIRST) >>> 2]! >>> 0;
  while (c !== 0) {
    const next = chainNext(a, c);
    dropChain(a, c);
    c = next;
  }
  i32[(h + H_FIRST) >>> 2] = 0;
  i32[(h + H_LAST) >>> 2] = 0;
  setLen(a, h, 0);
}

/**
 * Move all bytes of `src` to the end of `dst`. Same arena: chains are relinked, no copy. Different arenas: copied.
 * @locks requires both buffers' locks
 */
export function moveAll(a: Arena, dst: number, sa: Arena, src: number, toFront: boolean): number {
  const n = length(sa, src);
  if (n === 0) return 0;
  // Chains move between buffers of one arena. A pinned chain cannot move (a socket read or write is using its
  // memory), except that a reading socket's input usually ends in its empty, pinned read region: the chains before it
  // move and the region stays behind as the source's only chain. Anything else pinned: the bytes are copied.
  let keep = a === sa ? pinnedEmptyTail(sa, src) : -1;
  if (keep < 0) {
    if (toFront) {
      const tmp = new Uint8Array(n);
      copyOut(sa, src, 0, tmp, 0, n);
      drain(sa, src, n);
      prependBytes(a, dst, tmp, n);
    } else {
      appendCopy(a, dst, sa, src, n);
      drain(sa, src, n);
    }
    return n;
  }
  const i32 = a.i32;
  const sFirst = i32[(src + H_FIRST) >>> 2]! >>> 0;
  let sLast = i32[(src + H_LAST) >>> 2]! >>> 0;
  if (i32[(src + H_FLAGS) >>> 2]! & F_HAS_FILE) Atomics.or(i32, (dst + H_FLAGS) >>> 2, F_HAS_FILE); // its chains move here
  if (keep !== 0) {
    // move sFirst .. the chain before the kept region
    let prev = sFirst;
    while (chainNext(a, prev) !== keep) prev = chainNext(a, prev);
    i32[(prev + C_NEXT) >>> 2] = 0;
    sLast = prev;
  }
  // Skip empty chains at the ends of dst so the invariant "only the sole/pinned chain is empty" holds.
  if (toFront) {
    const dFirst = i32[(dst + H_FIRST) >>> 2]! >>> 0;
    if (dFirst !== 0 && chainLen(a, dFirst) === 0 && chainNext(a, dFirst) === 0 && i32[(dFirst + C_PINS) >>> 2] === 0) {
      i32[(dst + H_FIRST) >>> 2] = 0;
      i32[(dst + H_LAST) >>> 2] = 0;
      a.free(dFirst);
    }
    const dFirst2 = i32[(dst + H_FIRST) >>> 2]! >>> 0;
    i32[(sLast + C_NEXT) >>> 2] = dFirst2;
    i32[(dst + H_FIRST) >>> 2] = sFirst;
    if (dFirst2 === 0) i32[(dst + H_LAST) >>> 2] = sLast;
    a.f64[(dst + H_FRONT) >>> 3]! -= n;
  } else {
    const dLast = i32[(dst + H_LAST) >>> 2]! >>> 0;
    if (dLast !== 0 && chainLen(a, dLast) === 0 && i32[(dLast + C_PINS) >>> 2] === 0 && i32[(dst + H_FIRST) >>> 2] === dLast) {
      i32[(dst + H_FIRST) >>> 2] = 0;
      i32[(dst + H_LAST) >>> 2] = 0;
      // dst's empty chain goes to src, which is left without one: an echo's next message is added into it (no
      // allocation and free per message)
      if (keep === 0) {
        i32[(dLast + C_MIS) >>> 2] = 0;
        keep = dLast;
      } else {
        a.free(dLast);
      }
    } else if (dLast !== 0 && chainLen(a, dLast) === 0) {
      // a pinned empty chain cannot be dropped; copy instead to keep the list valid
      appendCopy(a, dst, sa, src, n);
      drain(sa, src, n);
      return n;
    }
    linkLast(a, dst, sFirst);
    i32[(dst + H_LAST) >>> 2] = sLast;
  }
  setLen(a, dst, length(a, dst) + n);
  a.f64[(dst + H_NADD) >>> 3]! += n;
  i32[(src + H_FIRST) >>> 2] = keep;
  i32[(src + H_LAST) >>> 2] = keep;
  setLen(sa, src, 0);
  sa.f64[(src + H_FRONT) >>> 3]! += n;
  sa.f64[(src + H_NDEL) >>> 3]! += n;
  return n;
}

/**
 * Whether all of a buffer's chains can move: 0 when none is pinned; the last chain when only it is pinned, it holds
 * no bytes and it is not the first (a socket's read region); -1 otherwise (the bytes must be copied).
 */
function pinnedEmptyTail(a: Arena, h: number): number {
  const last = a.i32[(h + H_LAST) >>> 2]! >>> 0;
  for (let c = a.i32[(h + H_FIRST) >>> 2]! >>> 0; c !== 0; c = chainNext(a, c)) {
    if (!isFileChain(a, c) && a.i32[(c + C_PINS) >>> 2]! > 0) {
      return c === last && chainLen(a, c) === 0 && c !== a.i32[(h + H_FIRST) >>> 2]! >>> 0 ? last : -1;
    }
  }
  return 0;
}

/**
 * Move up to `n` bytes from the front of `src` to the end of `dst`: whole chains are relinked when both are in one
 * arena, the partial rest is copied. Returns the count moved. @locks requires both buffers' locks
 */
export function moveN(a: Arena, dst: number, sa: Arena, src: number, n: number): number {
  const len = length(sa, src);
  if (n >= len) return moveAll(a, dst, sa, src, false);
  if (n <= 0) return 0;
  appendCopy(a, dst, sa, src, n);
  drain(sa, src, n);
  return n;
}

/**
 * Append a copy of the first `n` bytes of `src` (at most its length) to the end of `dst`, chain by chain from the
 * source's own memory: no intermediate array (a socket echo that cannot relink its input copies each message once).
 * `src` is left as it is. The buffers differ. @locks requires both buffers' locks
 */
function appendCopy(a: Arena, dst: number, sa: Arena, src: number, n: number): void {
  materialize(sa, src, n);
  let done = 0;
  for (let c = sa.i32[(src + H_FIRST) >>> 2]! >>> 0; c !== 0 && done < n; c = chainNext(sa, c)) {
    const k = Math.min(chainLen(sa, c), n - done);
    if (k === 0) continue;
    const from = chainStart(sa, c);
    // a view, not a copy: arena memory never moves (growth extends the SharedArrayBuffer in place), so it stays
    // valid while addBytes allocates in dst
    addBytes(a, dst, sa.u8.subarray(from, from + k), k);
    done += k;
  }
}

/**
 * Make the first `n` bytes contiguous and return the offset of the first byte in the arena. @locks requires buffer lock
 */
export function pullup(a: Arena, h: number, n: number): number {
  materialize(a, h, n);
  const first = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  if (chainLen(a, first) >= n) return chainStart(a, first);
  const c = a.alloc(Math.max(n, MIN_CHAIN) + CHAIN_HDR);
  const cap = a.blockSize(c) - CHAIN_HDR;
  const w = c >>> 2;
  copyOut(a, h, 0, a.u8, chainData(c), n);
  const nadd = a.f64[(h + H_NADD) >>> 3]!;
  const ndel = a.f64[(h + H_NDEL) >>> 3]!;
  const front = a.f64[(h + H_FRONT) >>> 3]!;
  drain(a, h, n);
  a.f64[(h + H_NDEL) >>> 3] = ndel; // a pullup is not a change the callbacks see
  a.f64[(h + H_NADD) >>> 3] = nadd;
  a.f64[(h + H_FRONT) >>> 3] = front;
  a.i32[w + W_NEXT] = 0;
  a.i32[w + W_CAP] = cap;
  a.i32[w + W_MIS] = 0;
  a.i32[w + W_OFF] = n;
  a.i32[w + W_PINS] = 0;
  a.i32[w + W_DEAD] = 0;
  const nf = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  if (nf !== 0 && chainLen(a, nf) === 0 && chainNext(a, nf) === 0 && a.i32[(nf + C_PINS) >>> 2] === 0) {
    a.free(nf); // the remaining chain is empty and unpinned: drop it
    a.i32[(h + H_FIRST) >>> 2] = 0;
    a.i32[(h + H_LAST) >>> 2] = 0;
  }
  const rest = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  a.i32[w + W_NEXT] = rest;
  a.i32[(h + H_FIRST) >>> 2] = c;
  if (rest === 0) a.i32[(h + H_LAST) >>> 2] = c;
  setLen(a, h, length(a, h) + n);
  return chainData(c);
}

/** First chain at or after logical `pos`: returns [chain, offsetInChain] or [0, 0] past the end. */
export function seek(a: Arena, h: number, pos: number): [number, number] {
  materialize(a, h, pos + 1); // a position inside a file chain must be a byte in memory
  let c = a.i32[(h + H_FIRST) >>> 2]! >>> 0;
  while (c !== 0) {
    const clen = chainLen(a, c);
    if (pos < clen) return [c, pos];
    pos -= clen;
    c = chainNext(a, c);
  }
  return [0, 0];
}

/** Byte at logical position `pos` (caller guarantees pos < length). */
export function byteAt(a: Arena, h: number, pos: number): number {
  const [c, o] = seek(a, h, pos);
  return a.u8[chainStart(a, c) + o]!;
}

/**
 * Find the first occurrence of `what` at or after `start`, ending at or before `end`. Returns the position or -1.
 */
export function search(a: Arena, h: number, what: Uint8Array, start: number, end: number): number {
  const n = what.length;
  if (n === 0) return -1;
  const len = length(a, h);
  if (end > len) end = len;
  if (start + n > end) return -1;
  materialize(a, h, end); // searching reads the bytes, file chains too
  const first = what[0]!;
  const u8 = a.u8;
  let [c, o] = seek(a, h, start);
  let pos = start;
  while (c !== 0 && pos + n <= end) {
    const base = chainStart(a, c);
    const clen = chainLen(a, c);
    const limit = Math.min(clen, o + (end - n + 1 - pos));
    let i = o < limit ? u8.subarray(base + o, base + limit).indexOf(first) : -1;
    while (i !== -1) {
      const at = pos + i;
      if (matchAt(a, h, c, o + i, what)) return at;
      const ni = u8.subarray(base + o + i + 1, base + limit).indexOf(first);
      i = ni === -1 ? -1 : i + 1 + ni;
    }
    pos += clen - o;
    o = 0;
    c = chainNext(a, c);
  }
  return -1;
}

function matchAt(a: Arena, _h: number, c: number, o: number, what: Uint8Array): boolean {
  const u8 = a.u8;
  let k = 0;
  while (c !== 0 && k < what.length) {
    const base = chainStart(a, c);
    const clen = chainLen(a, c);
    while (o < clen && k < what.length) {
      if (u8[base + o] !== what[k]) return false;
      o++;
      k++;
    }
    c = chainNext(a, c);
    o = 0;
  }
  return k === what.length;
}

/** Position of the first byte in `set` (a 256-entry table) at or after `start`, or -1. */
export function findAnyOf(a: Arena, h: number, start: number, b1: number, b2: number): number {
  materialize(a, h, length(a, h));
  let [c, o] = seek(a, h, start);
  let pos = start - o;
  const u8 = a.u8;
  while (c !== 0) {
    const base = chainStart(a, c);
    const clen = chainLen(a, c);
    const view = u8.subarray(base + o, base + clen);
    let i = view.indexOf(b1);
    if (b2 !== b1) {
      const j = view.indexOf(b2);
      if (j !== -1 && (i === -1 || j < i)) i = j;
    }
    if (i !== -1) return pos + o + i;
    pos += clen;
    o = 0;
    c = chainNext(a, c);
  }
  return -1;
}

/**
 * Repair after a thread died inside an operation (robust locks): keep the chains reachable from `first` that are
 * well-formed, end the list at the last good one, and recompute the length. Returns true when anything changed.
 * @locks requires buffer lock
 */
export function repair(a: Arena, h: number): boolean {
  try {
    validate(a, h);
    return false;
  } catch {
    // fall through to the repair
  }
  const i32 = a.i32;
  let c = i32[(h + H_FIRST) >>> 2]! >>> 0;
  let prev = 0;
  let total = 0;
  let count = 0;
  while (c !== 0 && count++ < 1e6) {
    if (c + CHAIN_HDR > a.u8.length) break;
    const cap = i32[(c + C_CAP) >>> 2]! >>> 0;
    const mis = i32[(c + C_MIS) >>> 2]! >>> 0;
    const off = i32[(c + C_OFF) >>> 2]! >>> 0;
    if (cap !== 0 && (mis + off > cap || c + CHAIN_HDR + cap > a.u8.length)) break; // a file chain has no data area
    total += off;
    prev = c;
    c = chainNext(a, c);
  }
  if (prev === 0) i32[(h + H_FIRST) >>> 2] = 0;
  else i32[(prev + C_NEXT) >>> 2] = 0;
  i32[(h + H_LAST) >>> 2] = prev;
  a.f64[(h + H_LEN) >>> 3] = total;
  return true;
}

/** Structural check used by tests and lock-debug mode; throws on the first broken invariant. */
export function validate(a: Arena, h: number): void {
  const i32 = a.i32;
  let c = i32[(h + H_FIRST) >>> 2]! >>> 0;
  const last = i32[(h + H_LAST) >>> 2]! >>> 0;
  let total = 0;
  let prev = 0;
  let count = 0;
  while (c !== 0) {
    const cap = i32[(c + C_CAP) >>> 2]! >>> 0;
    const mis = i32[(c + C_MIS) >>> 2]! >>> 0;
    const off = i32[(c + C_OFF) >>> 2]! >>> 0;
    if (cap === 0) {
      if (off === 0) throw new Error(`evbuffer: file chain ${c} stands for no bytes`);
    } else if (mis + off > cap) throw new Error(`evbuffer: chain ${c} overflows (${mis}+${off}>${cap})`);
    if (cap > a.blockSize(c) - CHAIN_HDR) throw new Error(`evbuffer: chain ${c} capacity exceeds its block`);
    if (off === 0 && chainNext(a, c) !== 0 && i32[(c + C_PINS) >>> 2] === 0) throw new Error(`evbuffer: empty chain ${c} in the middle`);
    total += off;
    prev = c;
    c = chainNext(a, c);
    if (++count > 1e7) throw new Error('evbuffer: chain cycle');
  }
  if (prev !== last) throw new Error(`evbuffer: last chain ${last} is not the end of the list (${prev})`);
  if (total !== length(a, h)) throw new Error(`evbuffer: length ${length(a, h)} but chains hold ${total}`);
}
