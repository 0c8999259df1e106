import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { localArena, LOCK_BYTES } from '../../src/shm/arena.ts';
import { rlockHasWaiters, rlockLock, rlockUnlock } from '../../src/shm/rlock.ts';
import { Helper } from '../support/worker.ts';
import { prng, randInt } from '../support/prng.ts';

type Internal = { a: { i32: Int32Array }; lockOff: number };
const internal = (o: object): Internal => o as unknown as Internal;

/** A THREADSAFE pair on a new base, its first end exported, a handshake gate and a lifetime worker. */
function sharedPairSetup(): { base: L.EventBase; pair: L.Bufferevent[]; shared: unknown; gate: Int32Array; w: Helper } {
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
  return { base, pair, shared: L.bufferevent_export(pair[0]!), gate: new Int32Array(new SharedArrayBuffer(8)), w: new Helper('lifetime-worker.ts') };
}

/** Until `cond` holds, letting the event loop run between checks (a handshake, not a sleep). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

describe('shared lifetimes: freeing while other threads wait', () => {
  it('a freed lock is retired, never handed out as other memory, and comes back only as a lock', () => {
    const arena = localArena();
    const before = arena.liveBlocks();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    const lockOff = internal(buf).lockOff;
    L.evbuffer_free(buf);
    expect(arena.liveBlocks()).toBe(before);
    // a stale thread may still be inside the old lock: its words stay a working lock
    rlockLock(arena.i32, lockOff);
    const other = arena.alloc(LOCK_BYTES); // memory of the lock's size is never the retired lock
    expect(other).not.toBe(lockOff);
    arena.free(other);
    rlockUnlock(arena.i32, lockOff);
    const again = L.evbuffer_new();
    L.evbuffer_enable_locking(again, null);
    expect(internal(again).lockOff).toBe(lockOff); // reused as a lock
    L.evbuffer_lock(again);
    L.evbuffer_unlock(again);
    L.evbuffer_free(again);
    expect(arena.validate()).toBeNull();
    expect(arena.liveBlocks()).toBe(before);
  });

  it('a stale handle whose lock was reused by a new object throws ERR_BEV_FREED and leaves the new one intact', () => {
    const stale = L.evbuffer_new();
    L.evbuffer_enable_locking(stale, null);
    L.evbuffer_free(stale);
    const fresh = L.evbuffer_new();
    L.evbuffer_enable_locking(fresh, null);
    L.evbuffer_add(fresh, 'abc');
    expect(() => L.evbuffer_add(stale, 'x')).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.evbuffer_get_length(stale)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(L.evbuffer_get_length(fresh)).toBe(3);
    L.evbuffer_free(fresh);
    expect(localArena().validate()).toBeNull();
  });

  const evbufferCalls = ['evbuffer_add', 'evbuffer_lock', 'evbuffer_get_length'] as const;
  for (const call of evbufferCalls) {
    it(`a worker blocked in ${call} on a locked evbuffer that its owner frees while holding the lock gets ERR_BEV_FREED`, async () => {
      const arena = localArena();
      const before = arena.liveBlocks();
      const buf = L.evbuffer_new();
      L.evbuffer_enable_locking(buf, null);
      const sharedBuf = L.evbuffer_export(buf);
      const gate = new Int32Array(new SharedArrayBuffer(8));
      const w = new Helper('lifetime-worker.ts');
      try {
        L.evbuffer_lock(buf);
        const reply = w.call({ op: 'block', call, sharedBuf, gate: gate.buffer });
        await until(() => Atomics.load(gate, 0) === 1 && rlockHasWaiters(arena.i32, internal(buf).lockOff));
        L.evbuffer_free(buf); // still holding the lock: the waiter cannot get in first; the free ends our hold
        const next = L.evbuffer_new(); // allocations go on normally
        L.evbuffer_add(next, 'after');
        expect(await reply).toEqual({ ok: false, code: 'ERR_BEV_FREED' });
        expect(L.evbuffer_get_length(next)).toBe(5);
        L.evbuffer_free(next);
        expect(arena.validate()).toBeNull();
        expect(arena.liveBlocks()).toBe(before);
      } finally {
        await w.close();
      }
    });
  }

  const bevCalls = ['bufferevent_write', 'bufferevent_lock', 'bufferevent_get_enabled'] as const;
  for (const call of bevCalls) {
    it(`a worker blocked in ${call} on a THREADSAFE pair that its owner frees gets ERR_BEV_FREED`, async () => {
      const arena = localArena();
      const before = arena.liveBlocks();
      const { base, pair, shared, gate, w } = sharedPairSetup();
      try {
        L.bufferevent_lock(pair[0]!);
        const reply = w.call({ op: 'block', call, shared, gate: gate.buffer });
        await until(() => Atomics.load(gate, 0) === 1 && rlockHasWaiters(arena.i32, internal(pair[0]!).lockOff));
        L.bufferevent_free(pair[0]!); // the lock's reference keeps it until the unlock
        L.bufferevent_free(pair[1]!);
        L.bufferevent_unlock(pair[0]!); // last reference: dead at once, finalized below
        L.event_base_free(base); // runs the finalizers: headers, buffers and the lock go back now
        expect(await reply).toEqual({ ok: false, code: 'ERR_BEV_FREED' });
        const b2 = L.event_base_new();
        const p2: L.Bufferevent[] = [];
        expect(L.bufferevent_pair_new(b2, L.BEV_OPT_THREADSAFE, p2)).toBe(0);
        expect(L.bufferevent_write(p2[0]!, 'ok')).toBe(0);
        L.bufferevent_free(p2[0]!);
        L.bufferevent_free(p2[1]!);
        L.event_base_free(b2);
        expect(arena.validate()).toBeNull();
        expect(arena.liveBlocks()).toBe(before);
      } finally {
        await w.close();
      }
    });
  }
});

describe('shared lifetimes: a holder that dies while its parent is blocked', () => {
  for (const how of ['exit', 'throw'] as const) {
    it(`the main thread blocked in bufferevent_lock gets ERR_BEV_OWNER_DIED when the worker holding it dies (${how})`, async () => {
      const { base, pair, shared, gate, w } = sharedPairSetup();
      w.w.on('error', () => {}); // the 'throw' case ends the worker with its exception
      try {
        w.w.postMessage({ op: 'hold-and-die', shared, gate: gate.buffer, how });
        await until(() => Atomics.load(gate, 0) === 1);
        // blocks this thread (its 'exit' events cannot run) until the dead holder is detected
        expect(() => L.bufferevent_lock(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_OWNER_DIED' }));
        const out = L.bufferevent_get_output(pair[0]!);
        expect(L.evbuffer_get_length(out)).toBe(7); // what the dead worker wrote, structurally valid
        out.validate();
        L.bufferevent_unlock(pair[0]!);
      } finally {
        await w.close();
      }
      // the dead holder's reference was dropped: free frees
      L.bufferevent_free(pair[0]!);
      L.bufferevent_free(pair[1]!);
      expect(() => L.bufferevent_get_enabled(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
      L.event_base_free(base);
    });
  }

  it('the main thread blocked in bufferevent_write goes on with a repaired buffer when the holder exits', async () => {
    const { base, pair, shared, gate, w } = sharedPairSetup();
    try {
      w.w.postMessage({ op: 'hold-and-die', shared, gate: gate.buffer, how: 'exit' });
      await until(() => Atomics.load(gate, 0) === 1);
      expect(L.bufferevent_write(pair[0]!, '+more')).toBe(0);
      expect(L.evbuffer_get_length(L.bufferevent_get_output(pair[0]!))).toBe(12);
    } finally {
      await w.close();
    }
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });

  it('a dead holder of bufferevent_lock no longer pins the bufferevent: free frees and the arena gets it back', async () => {
    const arena = localArena();
    const before = arena.liveBlocks();
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const shared = L.bufferevent_export(pair[0]!);
    const victim = new Helper('bev-worker.ts');
    expect((await victim.call({ op: 'lock-and-hang', shared })).result).toBe('locked');
    await victim.close();
    expect(() => L.bufferevent_lock(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_OWNER_DIED' }));
    L.bufferevent_unlock(pair[0]!);
    L.bufferevent_free(pair[0]!);
    expect(() => L.bufferevent_get_enabled(pair[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
    expect(arena.validate()).toBeNull();
    expect(arena.liveBlocks()).toBe(before);
  });
});

describe('shared lifetimes: seeded random frees, locks, writes and deaths across threads', () => {
  const seed = Number(process.env.LIFETIME_SEED ?? 20261203);
  it(`3 worker threads and the owner interleave frees, re-creations, imports, locks and writes; one worker is killed mid-run; the arena stays valid (seed ${seed})`, async () => {
    const r = prng(seed);
    const arena = localArena();
    const before = arena.liveBlocks();
    const ROUNDS = 4;
    const OPS = 1500;
    for (let round = 0; round < ROUNDS; round++) {
      const base = L.event_base_new();
      const pairs: L.Bufferevent[][] = [];
      const bufs: L.Evbuffer[] = [];
      for (let i = 0; i < 4; i++) {
        const p: L.Bufferevent[] = [];
        L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, p);
        pairs.push(p);
        const b = L.evbuffer_new();
        L.evbuffer_enable_locking(b, null);
        bufs.push(b);
      }
      const shared = pairs.map((p) => L.bufferevent_export(p[0]!));
      const sharedBufs = bufs.map((b) => L.evbuffer_export(b));
      const progress = new Int32Array(new SharedArrayBuffer(16));
      const workers = [0, 1, 2].map(() => new Helper('lifetime-worker.ts'));
      const victim = randInt(r, 0, 2);
      const killAt = randInt(r, 100, OPS - 100);
      const replies = workers.map((w, slot) =>
        w.call({ op: 'lifetime-mix', seed: randInt(r, 1, 2 ** 30), ops: OPS, slot, progress: progress.buffer, shared, bufs: sharedBufs }),
      );
      // the owner frees objects at seeded points of the workers' progress, and one worker dies mid-run
      const freeAt = [randInt(r, 50, OPS), randInt(r, 50, OPS)].sort((x, y) => x - y);
      const swallowFreed = (f: () => void): void => {
        try {
          f();
        } catch (e) {
          if ((e as { code?: string }).code !== 'ERR_BEV_FREED') throw e;
        }
      };
      for (const at of freeAt) {
        await until(() => Atomics.load(progress, (victim + 1) % 3) >= at || Atomics.load(progress, (victim + 1) % 3) >= OPS);
        const i = randInt(r, 0, 3);
        swallowFreed(() => L.bufferevent_free(pairs[i]![0]!));
        swallowFreed(() => L.evbuffer_free(bufs[i]!));
      }
      await until(() => Atomics.load(progress, victim) >= killAt);
      await workers[victim]!.close();
      for (let k = 0; k < 3; k++) {
        if (k === victim) continue;
        const res = (await replies[k]) as unknown as { ok: boolean; errors: string[] };
        expect(res.errors).toEqual([]);
      }
      for (let k = 0; k < 3; k++) if (k !== victim) await workers[k]!.close();
      // everything left goes; frees made in other threads are finalized by the owner's loop
      for (const p of pairs) for (const b of p) swallowFreed(() => L.bufferevent_free(b));
      for (const b of bufs) swallowFreed(() => L.evbuffer_free(b));
      for (let k = 0; k < 3; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      L.event_base_free(base);
      expect(arena.validate()).toBeNull();
    }
    // Everything freed came back, except that a worker killed between taking a block from the arena and linking it
    // into a buffer (or between unlinking one and returning it) leaks that block: nothing records a block in flight.
    // One killed worker per round: at most one block per round.
    expect(arena.liveBlocks() - before).toBeGreaterThanOrEqual(0);
    expect(arena.liveBlocks() - before).toBeLessThanOrEqual(ROUNDS);
  });
});
