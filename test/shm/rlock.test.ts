import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { localArena } from '../../src/shm/arena.ts';
import { existsSync } from 'node:fs';
import { RLOCK_NUMBYTES, rlockInit, rlockLock, rlockUnlock, rlockTryLock, rlockLockAsync, rlockDepth, rlockSliceTimeouts } from '../../src/shm/rlock.ts';

const fixture = new URL('../fixtures/rlock-worker.ts', import.meta.url);

function setup() {
  const a = localArena();
  const lockOff = a.alloc(RLOCK_NUMBYTES);
  rlockInit(a.i32, lockOff);
  const scratch = a.alloc(16);
  a.i32[scratch >>> 2] = 0;
  a.i32[(scratch >>> 2) + 1] = 0;
  return { a, lockOff, counterIdx: scratch >>> 2, gateIdx: (scratch >>> 2) + 1, free: () => { a.free(lockOff); a.free(scratch); } };
}

function start(s: ReturnType<typeof setup>, mode: string, iterations = 0): Worker {
  return new Worker(fixture, { workerData: { sab: s.a.sab, lockOff: s.lockOff, counterIdx: s.counterIdx, gateIdx: s.gateIdx, iterations, mode } });
}

describe('RLock (recursive futex lock in shared memory)', () => {
  it('is recursive in one thread and counts depth', () => {
    const s = setup();
    rlockLock(s.a.i32, s.lockOff);
    rlockLock(s.a.i32, s.lockOff);
    expect(rlockDepth(s.a.i32, s.lockOff)).toBe(2);
    rlockUnlock(s.a.i32, s.lockOff);
    rlockUnlock(s.a.i32, s.lockOff);
    expect(rlockDepth(s.a.i32, s.lockOff)).toBe(0);
    expect(() => rlockUnlock(s.a.i32, s.lockOff)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    s.free();
  });

  it('gives an exact total when 3 threads do 2x20000 locked non-atomic increments each', async () => {
    const s = setup();
    const workers = [start(s, 'count', 20000), start(s, 'count', 20000)];
    const dones = workers.map((w) => once(w, 'message'));
    for (let i = 0; i < 20000; i++) {
      rlockLock(s.a.i32, s.lockOff);
      s.a.i32[s.counterIdx]!++;
      rlockUnlock(s.a.i32, s.lockOff);
    }
    await Promise.all(dones);
    expect(s.a.i32[s.counterIdx]).toBe(60000);
    await Promise.all(workers.map((w) => w.terminate()));
    s.free();
  });

  it('unlock by a thread that does not hold the lock throws ERR_BEV_LOCK_NOT_HELD and changes nothing', async () => {
    const s = setup();
    rlockLock(s.a.i32, s.lockOff);
    const w = start(s, 'unlock-foreign');
    const [msg] = await once(w, 'message');
    expect(msg).toBe('ERR_BEV_LOCK_NOT_HELD');
    expect(rlockDepth(s.a.i32, s.lockOff)).toBe(1); // still ours
    rlockUnlock(s.a.i32, s.lockOff);
    await w.terminate();
    s.free();
  });

  it('tryLock fails while another thread holds the lock; lockAsync gets it once released', async () => {
    const s = setup();
    const holder = start(s, 'hold');
    // handshake: wait until the worker holds the lock
    while (Atomics.load(s.a.i32, s.gateIdx) !== 1) {
      const r = Atomics.waitAsync(s.a.i32, s.gateIdx, 0, 1000);
      if (r.async) await r.value;
    }
    expect(rlockTryLock(s.a.i32, s.lockOff)).toBe(false);
    const got = rlockLockAsync(s.a.i32, s.lockOff);
    let acquired = false;
    void got.then(() => (acquired = true));
    await new Promise((r) => setImmediate(r));
    expect(acquired).toBe(false); // the main thread's loop keeps running while it waits
    const released = once(holder, 'message'); // listening before the release: the reply may come before `got` resolves
    Atomics.store(s.a.i32, s.gateIdx, 2);
    Atomics.notify(s.a.i32, s.gateIdx);
    await got;
    expect(rlockDepth(s.a.i32, s.lockOff)).toBe(1);
    rlockUnlock(s.a.i32, s.lockOff);
    await released;
    await holder.terminate();
    s.free();
  });
  it.runIf(existsSync(`/proc/self/task/${process.pid}/wchan`))(
    'a release wakes a thread blocked in the lock even when the same thread also waits for it asynchronously',
    async () => {
      const s = setup();
      const holder = start(s, 'hold-until-parent-sleeps');
      while (Atomics.load(s.a.i32, s.gateIdx) !== 1) {
        const r = Atomics.waitAsync(s.a.i32, s.gateIdx, 0, 1000);
        if (r.async) await r.value;
      }
      const released = once(holder, 'message');
      const pending = rlockLockAsync(s.a.i32, s.lockOff); // this thread's first waiter: an asynchronous one
      Atomics.store(s.a.i32, s.gateIdx, 2);
      Atomics.notify(s.a.i32, s.gateIdx);
      const before = rlockSliceTimeouts();
      rlockLock(s.a.i32, s.lockOff); // the second, blocking; the holder releases once this thread sleeps here
      // woken by the release itself, not by the end of a wait slice (a release that woke only the first waiter
      // would have woken the asynchronous one, which cannot run while this thread is blocked)
      expect(rlockSliceTimeouts()).toBe(before);
      rlockUnlock(s.a.i32, s.lockOff);
      await pending;
      rlockUnlock(s.a.i32, s.lockOff);
      await released;
      await holder.terminate();
      s.free();
    },
  );
});
