import { EventEmitter } from 'node:events';
import { Arena, arenaOfThread, localArena } from '../shm/arena.ts';
import { rlockInit, rlockLock, rlockUnlock, rlockOwnerDied, rlockFields } from '../shm/rlock.ts';
import { defineLayout } from '../shm/layout.ts';
import { registerRecoverableLock } from '../shm/robust.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { Bufferevent, checkBev } from '../bufferevent/core.ts';
import { bufferevent_export, bufferevent_import } from '../thread/export.ts';
import { codedError, rangeError, typeError } from '../errors.ts';

/**
 * The runtime's registry: exported bufferevents published under string keys, in one SharedArrayBuffer that every
 * thread of the runtime maps. A worker publishes its own connections; any thread looks a key up, lists the keys, or
 * listens for 'join' and 'leave'. An entry leaves when it is unpublished, when its bufferevent is finalized (on its
 * owner, which removes it), or when its owner thread dies (the runtime's main thread removes that thread's entries).
 *
 * Shared layout: REGISTRY_HEADER, then the slots (REGISTRY_SLOT each), open addressing by key hash with linear
 * probing.
 *
 * Discipline: every write happens under the lock, inside a seq bump pair (seq odd, fields, seq even, Atomics). Readers
 * take no lock: they read seq, the fields, then seq again, and retry on a change (one writer at a time, so a stable
 * even seq means a consistent slot). The lock is robust: a thread that dies holding it is recovered like any
 * bufferevent lock, and the table is consistent at every seq-even point, so recovery only has to drop the slots of
 * the dead thread (`removeOwner`).
 */
/**
 * The registry's header.
 *
 * | byte | type   | field    | protected by, written by                  | meaning                                                       |
 * |------|--------|----------|-------------------------------------------|---------------------------------------------------------------|
 * | 0    | i32    | state    | Atomics (the futex word)                  | registry lock: 0 free, 1 held, 2 held with waiters (rlock.ts) |
 * | 4    | i32    | owner    | the holder                                | registry lock: THREAD_TAG of the holder, 0 while free         |
 * | 8    | i32    | depth    | the holder                                | registry lock: recursion depth                                |
 * | 12   | i32    | refs     | Atomics, users                            | registry lock: objects using the lock                         |
 * | 16   | i32    | flags    | Atomics                                   | registry lock: OWNER_DIED, VALIDATED                          |
 * | 20   | i32[3] | spare0   | -                                         | unused                                                        |
 * | 32   | i32    | version  | the lock for writes (Atomics.add, notify) | bumped after each change; watchers wait on it                 |
 * | 36   | i32    | capacity | write-once, the creating thread           | slots (a power of two)                                        |
 * | 40   | i32    | live     | the lock, mutators                        | LIVE slots (at most half of the slots)                        |
 * | 44   | i32[5] | spare1   | -                                         | unused                                                        |
 */
export const REGISTRY_HEADER = defineLayout('registry header', 64, [
  ...rlockFields('registry lock'),
  { name: 'spare0', type: 'i32', count: 3, guard: '-', meaning: 'unused' },
  { name: 'version', type: 'i32', guard: 'the lock for writes (Atomics.add, notify)', meaning: 'bumped after each change; watchers wait on it' },
  { name: 'capacity', type: 'i32', guard: 'write-once, the creating thread', meaning: 'slots (a power of two)' },
  { name: 'live', type: 'i32', guard: 'the lock, mutators', meaning: 'LIVE slots (at most half of the slots)' },
  { name: 'spare1', type: 'i32', count: 5, guard: '-', meaning: 'unused' },
]);
/**
 * One slot. Every field is written under the lock, inside a seq bump pair; readers take no lock (below).
 *
 * | byte | type   | field  | protected by, written by | meaning                                                                                                                   |
 * |------|--------|--------|--------------------------|---------------------------------------------------------------------------------------------------------------------------|
 * | 0    | i32    | seq    | Atomics, the lock holder | seqlock: odd while the slot is being written; readers retry when it changed                                               |
 * | 4    | i32    | state  | seq                      | 0 EMPTY (ends a probe), 2 LIVE, 3 TOMB (probes go past it; publish reuses it; a run of TOMBs before an EMPTY turns EMPTY) |
 * | 8    | i32    | arena  | seq                      | the owner's arena id (its THREAD_TAG)                                                                                     |
 * | 12   | u32    | h      | seq                      | the bufferevent's header offset in that arena                                                                             |
 * | 16   | i32    | gen    | seq                      | its generation at publish                                                                                                 |
 * | 20   | i32    | worker | seq                      | the owner's worker index, -1 for the main thread                                                                          |
 * | 24   | i32    | keyLen | seq                      | key length in UTF-8 bytes (1..KEY_MAX)                                                                                    |
 * | 28   | u32    | hash   | seq                      | FNV-1a of the key bytes                                                                                                   |
 * | 32   | i32[8] | key    | seq                      | the key bytes                                                                                                             |
 */
export const REGISTRY_SLOT = defineLayout('registry slot', 64, [
  { name: 'seq', type: 'i32', guard: 'Atomics, the lock holder', meaning: 'seqlock: odd while the slot is being written; readers retry when it changed' },
  { name: 'state', type: 'i32', guard: 'seq', meaning: '0 EMPTY (ends a probe), 2 LIVE, 3 TOMB (probes go past it; publish reuses it; a run of TOMBs before an EMPTY turns EMPTY)' },
  { name: 'arena', type: 'i32', guard: 'seq', meaning: "the owner's arena id (its THREAD_TAG)" },
  { name: 'h', type: 'u32', guard: 'seq', meaning: "the bufferevent's header offset in that arena" },
  { name: 'gen', type: 'i32', guard: 'seq', meaning: 'its generation at publish' },
  { name: 'worker', type: 'i32', guard: 'seq', meaning: "the owner's worker index, -1 for the main thread" },
  { name: 'keyLen', type: 'i32', guard: 'seq', meaning: 'key length in UTF-8 bytes (1..KEY_MAX)' },
  { name: 'hash', type: 'u32', guard: 'seq', meaning: 'FNV-1a of the key bytes' },
  { name: 'key', type: 'i32', count: 8, guard: 'seq', meaning: 'the key bytes' },
]);
const LOCK = 0;
const VERSION = REGISTRY_HEADER.off('version') >>> 2;
const CAPACITY = REGISTRY_HEADER.off('capacity') >>> 2;
const LIVE = REGISTRY_HEADER.off('live') >>> 2;
const HEADER_WORDS = REGISTRY_HEADER.size >>> 2;
const SLOT_WORDS = REGISTRY_SLOT.size >>> 2;
const slotWord = (name: string): number => REGISTRY_SLOT.off(name) >>> 2;
const S_SEQ = slotWord('seq');
const S_STATE = slotWord('state');
const S_ARENA = slotWord('arena');
const S_H = slotWord('h');
const S_GEN = slotWord('gen');
const S_WORKER = slotWord('worker');
const S_KEYLEN = slotWord('keyLen');
const S_HASH = slotWord('hash');
const S_KEY = slotWord('key');
const EMPTY = 0;
const LIVE_STATE = 2;
const TOMB = 3;
/** The longest key, in UTF-8 bytes. */
export const REGISTRY_KEY_MAX = 32;
/** Watchers re-check the version at least this often, so close() never waits long for a pending wait. */
const WATCH_SLICE_MS = 1000;

/** Make the shared memory of a registry with room for `capacity` keys (rounded up to a power of two). */
export function registryMemory(capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 22) throw rangeError('capacity', 'an integer from 1 to 4194304', capacity);
  let slots = 16;
  while (slots < capacity * 2) slots *= 2; // probe chains stay short at most half full
  const sab = new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS) * 4);
  const i32 = new Int32Array(sab);
  rlockInit(i32, LOCK * 4);
  i32[CAPACITY] = slots;
  return sab;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function keyBytes(key: unknown): Uint8Array {
  if (typeof key !== 'string') throw typeError('key', 'a string', key);
  const b = encoder.encode(key);
  if (b.length < 1 || b.length > REGISTRY_KEY_MAX) throw rangeError('key', `1 to ${REGISTRY_KEY_MAX} bytes of UTF-8`, key);
  return b;
}

function fnv(b: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 16777619);
  return h | 0;
}

/** One slot read consistently (seqlock), or null when it is not LIVE. */
interface SlotView {
  arena: number;
  h: number;
  gen: number;
  worker: number;
  key: string;
}

/**
 * A thread's view of the registry. Make one per thread over the runtime's memory (the runtime does: `ctx.registry` in
 * a module's setup, `runtime.registry` on the main thread). Events: 'join' (key) when a key appears, 'leave' (key)
 * when it goes; listening starts with the first listener and reports the keys present then as joins, after the
 * listener was added. Events are delivered on this thread's event loop, after the change.
 * @thread the thread that made it
 */
export class Registry extends EventEmitter {
  /** @internal */ readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly slots: number;
  private readonly worker: number;
  /** What this thread last reported: key -> `${arena}:${h}:${gen}` */
  private known = new Map<string, string>();
  private watching = false;
  private closed = false;
  /** This thread's published keys, for the finalize hook. */
  private readonly mine = new Map<string, Bufferevent>();

  /** @internal the runtime makes these; `worker` is this thread's worker index (-1 on the main thread) */
  constructor(sab: SharedArrayBuffer, worker: number) {
    super();
    if (!(sab instanceof SharedArrayBuffer)) throw typeError('sab', 'the SharedArrayBuffer of a registry (registryMemory)', sab);
    const slots = sab.byteLength >= HEADER_WORDS * 4 ? new Int32Array(sab)[CAPACITY]! : 0;
    if (slots < 16 || (slots & (slots - 1)) !== 0 || sab.byteLength !== (HEADER_WORDS + slots * SLOT_WORDS) * 4) {
      throw typeError('sab', 'the SharedArrayBuffer of a registry (registryMemory)', sab);
    }
    if (typeof worker !== 'number' || !Number.isInteger(worker) || worker < -1) throw typeError('worker', 'a worker index (-1 for the main thread)', worker);
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.slots = slots;
    this.worker = worker;
    registerRecoverableLock(this.i32, LOCK * 4);
    this.on('newListener', (ev: string) => {
      if ((ev === 'join' || ev === 'leave') && !this.watching && !this.closed) {
        this.watching = true;
        queueMicrotask(() => void this.watch());
      }
    });
  }

  /** Keys that can be published at once. */
  get capacity(): number {
    return this.slots >>> 1;
  }

  /**
   * Publish a THREADSAFE bufferevent owned by this thread under `key`. Throws ERR_BEV_KEY_EXISTS when the key is live,
   * ERR_BEV_REGISTRY_FULL when the table is full, ERR_BEV_NOT_THREADSAFE for a bufferevent without a lock, and
   * ERR_BEV_WRONG_THREAD for a handle imported from another thread. The entry leaves by itself when the bufferevent
   * is finalized. @thread the bufferevent's owner
   */
  publish(key: string, bevArg: Bufferevent): void {
    const kb = keyBytes(key);
    const bev = checkBev(bevArg);
    if (bev.remote) throw codedError('ERR_BEV_WRONG_THREAD', 'publish a bufferevent from the thread that owns it');
    const d = bufferevent_export(bev);
    const arena = localArena().id;
    const hash = fnv(kb);
    this.mutate(() => {
      const i32 = this.i32;
      if (i32[LIVE]! >= this.capacity && this.find(kb, hash) < 0) {
        throw codedError('ERR_BEV_REGISTRY_FULL', `the registry holds ${this.capacity} keys; make the runtime with a larger registrySize`);
      }
      let free = -1;
      for (let n = 0, s = hash & (this.slots - 1); n < this.slots; n++, s = (s + 1) & (this.slots - 1)) {
        const w = HEADER_WORDS + s * SLOT_WORDS;
        const st = i32[w + S_STATE]!;
        if (st === EMPTY) {
          if (free < 0) free = w;
          break;
        }
        if (st === TOMB) {
          if (free < 0) free = w;
        } else if (this.keyAt(w, kb, hash)) {
          throw codedError('ERR_BEV_KEY_EXISTS', `the key ${JSON.stringify(key)} is already published`);
        }
      }
      const w = free;
      Atomics.add(i32, w + S_SEQ, 1);
      Atomics.store(i32, w + S_ARENA, arena);
      Atomics.store(i32, w + S_H, d.h);
      Atomics.store(i32, w + S_GEN, d.gen);
      Atomics.store(i32, w + S_WORKER, this.worker);
      Atomics.store(i32, w + S_KEYLEN, kb.length);
      Atomics.store(i32, w + S_HASH, hash);
      const padded = new Uint8Array(32);
      padded.set(kb);
      const kw = new Int32Array(padded.buffer);
      for (let k = 0; k < 8; k++) Atomics.store(i32, w + S_KEY + k, kw[k]!);
      Atomics.store(i32, w + S_STATE, LIVE_STATE);
      Atomics.add(i32, w + S_SEQ, 1);
      i32[LIVE]!++;
    });
    this.mine.set(key, bev);
    bev.onFinalize(() => {
      if (this.mine.get(key) === bev) this.mine.delete(key);
      this.removeKey(kb, hash, (v) => v.arena === arena && v.h === d.h && v.gen === d.gen);
    });
  }

  /** Remove `key` if this thread published it. Returns true when it was removed. @thread the publisher */
  unpublish(key: string): boolean {
    const kb = keyBytes(key);
    const bev = this.mine.get(key);
    if (!bev) return false;
    this.mine.delete(key);
    const arena = localArena().id;
    return this.removeKey(kb, fnv(kb), (v) => v.arena === arena);
  }

  /**
   * The bufferevent published under `key`: this thread's own object when it owns it, otherwise an imported handle.
   * null when there is none, it was freed, or its owner's memory is not known here yet (a worker that has just
   * started). The registry holds no reference: hold one with `bufferevent_incref` while you use it from another
   * thread, and drop it with `bufferevent_decref` (`bufferevent_free` frees the shared bufferevent itself). @thread any
   */
  lookup(key: string): Bufferevent | null {
    const kb = keyBytes(key);
    const w = this.find(kb, fnv(kb));
    if (w < 0) return null;
    const v = this.read(w);
    return v ? this.handle(v) : null;
  }

  /** The keys published now (a snapshot). @thread any */
  keys(): string[] {
    const out: string[] = [];
    for (let s = 0; s < this.slots; s++) {
      const v = this.read(HEADER_WORDS + s * SLOT_WORDS);
      if (v) out.push(v.key);
    }
    return out;
  }

  /** Live keys now. */
  get size(): number {
    return Atomics.load(this.i32, LIVE);
  }

  /** The worker index that published `key` (-1: the main thread), or null. */
  ownerOf(key: string): number | null {
    const kb = keyBytes(key);
    const w = this.find(kb, fnv(kb));
    const v = w < 0 ? null : this.read(w);
    return v ? v.worker : null;
  }

  /** @internal Remove every entry of the thread with this arena id (it died). Returns how many. @thread any */
  removeOwner(arenaId: number): number {
    return this.removeWhere((v) => v.arena === arenaId);
  }

  /** @internal A worker's arena became known here: entries of it that were skipped can now be reported. */
  rescan(): void {
    if (this.watching) Atomics.notify(this.i32, VERSION);
  }

  /** Stop delivering events. */
  close(): void {
    this.closed = true;
    this.watching = false;
    this.removeAllListeners('join');
    this.removeAllListeners('leave');
  }

  private handle(v: SlotView): Bufferevent | null {
    const a: Arena | null = v.arena === THREAD_TAG ? localArena() : arenaOfThread(v.arena);
    if (a === null) return null;
    try {
      return bufferevent_import({ __bufferevent: 1, sab: a.sab, h: v.h, gen: v.gen });
    } catch {
      return null; // freed since: its owner removes the entry when it finalizes
    }
  }

  private async watch(): Promise<void> {
    let seen = Atomics.load(this.i32, VERSION) - 1; // force a first scan
    while (this.watching) {
      const now = Atomics.load(this.i32, VERSION);
      if (now === seen) {
        const r = Atomics.waitAsync(this.i32, VERSION, now, WATCH_SLICE_MS);
        if (r.async) await r.value;
        if (!this.watching) return;
      }
      seen = Atomics.load(this.i32, VERSION);
      this.diff();
    }
  }

  /** Compare the table with what was last reported; emit leave then join. */
  private diff(): void {
    const next = new Map<string, string>();
    for (let s = 0; s < this.slots; s++) {
      const v = this.read(HEADER_WORDS + s * SLOT_WORDS);
      if (!v) continue;
      if (v.arena !== THREAD_TAG && arenaOfThread(v.arena) === null) continue; // reported once its memory is known
      next.set(v.key, `${v.arena}:${v.h}:${v.gen}`);
    }
    const before = this.known;
    this.known = next;
    for (const [k, id] of before) if (next.get(k) !== id) this.emit('leave', k);
    for (const [k, id] of next) if (before.get(k) !== id) this.emit('join', k);
  }

  private mutate(fn: () => void): void {
    const i32 = this.i32;
    rlockLock(i32, LOCK * 4);
    try {
      rlockOwnerDied(i32, LOCK * 4, true); // every change is whole at each even seq: nothing to repair
      fn();
    } finally {
      rlockUnlock(i32, LOCK * 4);
    }
    Atomics.add(i32, VERSION, 1);
    Atomics.notify(i32, VERSION);
  }

  private removeWhere(pred: (v: SlotView) => boolean): number {
    let n = 0;
    this.mutate(() => {
      for (let s = 0; s < this.slots; s++) {
        const w = HEADER_WORDS + s * SLOT_WORDS;
        if (this.i32[w + S_STATE] !== LIVE_STATE) continue;
        const v = this.read(w);
        if (v && pred(v)) {
          this.clear(s);
          n++;
        }
      }
    });
    return n;
  }

  private removeKey(kb: Uint8Array, hash: number, pred: (v: SlotView) => boolean): boolean {
    let done = false;
    this.mutate(() => {
      const w = this.find(kb, hash);
      const v = w < 0 ? null : this.read(w);
      if (v && pred(v)) {
        this.clear((w - HEADER_WORDS) / SLOT_WORDS);
        done = true;
      }
    });
    return done;
  }

  /** Remove slot s: TOMB, or EMPTY with the run of TOMBs before it when the next slot ends the probe. @locks the lock */
  private clear(s: number): void {
    const i32 = this.i32;
    const mask = this.slots - 1;
    const slotWord = (k: number): number => HEADER_WORDS + k * SLOT_WORDS;
    const set = (k: number, st: number): void => {
      const w = slotWord(k);
      Atomics.add(i32, w + S_SEQ, 1);
      Atomics.store(i32, w + S_STATE, st);
      Atomics.add(i32, w + S_SEQ, 1);
    };
    i32[LIVE]!--;
    if (i32[slotWord((s + 1) & mask) + S_STATE] !== EMPTY) {
      set(s, TOMB);
      return;
    }
    // no key sits past s in this cluster: s and the TOMBs just before it end the probe chain now
    for (let k = s, n = 0; n < this.slots; n++, k = (k - 1) & mask) {
      if (k !== s && i32[slotWord(k) + S_STATE] !== TOMB) break;
      set(k, EMPTY);
    }
  }

  /** The LIVE slot holding this key, or -1. Lock-free (seqlock) or under the lock. */
  private find(kb: Uint8Array, hash: number): number {
    for (let n = 0, s = hash & (this.slots - 1); n < this.slots; n++, s = (s + 1) & (this.slots - 1)) {
      const w = HEADER_WORDS + s * SLOT_WORDS;
      const st = Atomics.load(this.i32, w + S_STATE);
      if (st === EMPTY) return -1;
      if (st === LIVE_STATE && this.keyAt(w, kb, hash)) return w;
    }
    return -1;
  }

  private keyAt(w: number, kb: Uint8Array, hash: number): boolean {
    const i32 = this.i32;
    if (Atomics.load(i32, w + S_HASH) !== hash || Atomics.load(i32, w + S_KEYLEN) !== kb.length) return false;
    for (let i = 0; i < kb.length; i++) {
      const word = Atomics.load(i32, w + S_KEY + (i >>> 2));
      if (((word >>> ((i & 3) * 8)) & 0xff) !== kb[i]) return false;
    }
    return true;
  }

  /** A consistent copy of a LIVE slot, or null. */
  private read(w: number): SlotView | null {
    const i32 = this.i32;
    for (;;) {
      const seq = Atomics.load(i32, w + S_SEQ);
      if ((seq & 1) !== 0) {
        Atomics.wait(i32, w + S_SEQ, seq, 1); // a writer is inside this slot for a few stores
        continue;
      }
      if (Atomics.load(i32, w + S_STATE) !== LIVE_STATE) return Atomics.load(i32, w + S_SEQ) === seq ? null : this.read(w);
      const len = Atomics.load(i32, w + S_KEYLEN);
      const kw = new Int32Array(8);
      for (let k = 0; k < 8; k++) kw[k] = Atomics.load(i32, w + S_KEY + k);
      const v: SlotView = {
        arena: Atomics.load(i32, w + S_ARENA),
        h: Atomics.load(i32, w + S_H),
        gen: Atomics.load(i32, w + S_GEN),
        worker: Atomics.load(i32, w + S_WORKER),
        key: '',
      };
      if (Atomics.load(i32, w + S_SEQ) !== seq) continue;
      if (len < 1 || len > REGISTRY_KEY_MAX) return null;
      v.key = decoder.decode(new Uint8Array(kw.buffer, 0, len));
      return v;
    }
  }
}
