import { defineLayout } from '../shm/layout.ts';
import { setSchedHook, SP_LOCK, SP_TRYLOCK, SP_UNLOCK, SP_RELEASED } from '../shm/sched-hook.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { threadGone } from '../shm/threads.ts';
import { recoverThread } from '../shm/robust.ts';

/**
 * The controlled scheduler of `bufferevent stress`: at every synchronization point of the library (src/shm/sched-hook.ts)
 * the running actor thread stops and one thread is chosen to run next, so exactly one actor runs at a time and a run
 * is a function of its seed (or of a recorded schedule). There is no scheduler thread: the thread that yields makes
 * the choice itself, from state in one shared control block, and hands the turn over. Only the thread holding the
 * turn writes the block (apart from the phase words set by the coordinator before anyone runs), so the control words
 * need no lock; each hand-over is an Atomics.store + notify of TURN, which orders everything before it.
 *
 * Policies: 'random' picks uniformly among the enabled threads at every point; 'pct' (Burckhardt et al.'s
 * probabilistic concurrency testing) gives each thread a distinct random priority, always runs the highest enabled
 * one, and at `depth - 1` random steps lowers the running thread below all others. A replayed run follows a
 * recorded list of choices; where a choice is not possible (a shrunk schedule), it stays on the running thread, or
 * takes the lowest enabled one.
 *
 * Blocking: an actor about to acquire a lock that another holds marks itself blocked at the current release epoch and
 * yields; it is enabled again once any release (or a recovery) has moved the epoch. When every live actor is blocked
 * and nothing can move the epoch, the run is a deadlock: the block is aborted and every actor's pending lock call
 * throws StressAbort.
 *
 * Deaths (--kill-workers): a victim chosen by the seed dies at its k-th unlock point, holding that lock. The next
 * thread to take the turn waits until the victim's OS thread is gone and runs the library's recovery for it, so the
 * recovery happens at the same place in every replay.
 *
 * Control block: CONTROL_BLOCK below (Int32 words; the coordinator initialises it, then only the thread holding
 * the turn writes it), with one ACTOR_RECORD per actor.
 */
export const MAX_ACTORS = 64;
export const MAX_STEPS = 1 << 18;
const MAX_CHANGES = 8;
const TURN_GUARD = 'the thread holding the turn (the coordinator before the start)';
/**
 * One actor's record in the control block.
 *
 * | byte | type | field   | protected by, written by                                       | meaning                               |
 * |------|------|---------|----------------------------------------------------------------|---------------------------------------|
 * | 0    | i32  | state   | the thread holding the turn (the coordinator before the start) | 0 runnable, 1 blocked, 2 done, 3 dead |
 * | 4    | i32  | epoch   | the thread holding the turn (the coordinator before the start) | the epoch at which it blocked         |
 * | 8    | i32  | prio    | the thread holding the turn (the coordinator before the start) | pct priority                          |
 * | 12   | i32  | unlocks | the thread holding the turn (the coordinator before the start) | its unlock points so far              |
 */
export const ACTOR_RECORD = defineLayout('stress actor record', 16, [
  { name: 'state', type: 'i32', guard: TURN_GUARD, meaning: '0 runnable, 1 blocked, 2 done, 3 dead' },
  { name: 'epoch', type: 'i32', guard: TURN_GUARD, meaning: 'the epoch at which it blocked' },
  { name: 'prio', type: 'i32', guard: TURN_GUARD, meaning: 'pct priority' },
  { name: 'unlocks', type: 'i32', guard: TURN_GUARD, meaning: 'its unlock points so far' },
]);
/**
 * The scheduler's control block.
 *
 * | byte    | type        | field     | protected by, written by                                                              | meaning                                                            |
 * |---------|-------------|-----------|---------------------------------------------------------------------------------------|--------------------------------------------------------------------|
 * | 0       | i32         | turn      | Atomics (wait/notify), the thread holding the turn (the coordinator before the start) | index of the actor that may run; -1 before start, -2 after the end |
 * | 4       | i32         | step      | the thread holding the turn (the coordinator before the start)                        | decisions made so far                                              |
 * | 8       | i32         | epoch     | the thread holding the turn (the coordinator before the start)                        | lock releases and recoveries so far                                |
 * | 12      | i32         | rng       | the thread holding the turn (the coordinator before the start)                        | the policy's PRNG state (mulberry32)                               |
 * | 16      | i32         | nact      | the coordinator                                                                       | actors in this run                                                 |
 * | 20      | i32         | policy    | the coordinator                                                                       | 0 random, 1 pct                                                    |
 * | 24      | i32         | replayLen | the coordinator                                                                       | choices in the replay area; -1 when not replaying                  |
 * | 28      | i32         | logLen    | the thread holding the turn (the coordinator before the start)                        | choices written to the log area                                    |
 * | 32      | i32         | status    | Atomics, the thread holding the turn (the coordinator before the start)               | 0 running, 1 finished, 2 deadlock, 3 log full, 4 replay diverged   |
 * | 36      | i32         | victim    | the coordinator                                                                       | actor that dies, -1 for none                                       |
 * | 40      | i32         | killAt    | the coordinator                                                                       | the victim dies at its killAt-th unlock point                      |
 * | 44      | i32         | deadTag   | the thread holding the turn (the coordinator before the start)                        | THREAD_TAG of a death not yet recovered, 0 for none                |
 * | 48      | i32         | deaths    | the thread holding the turn (the coordinator before the start)                        | deaths so far                                                      |
 * | 52      | i32         | recovered | the thread holding the turn (the coordinator before the start)                        | locks recovered from dead actors                                   |
 * | 56      | i32         | arrived   | Atomics, each actor once                                                              | actors that reached the start                                      |
 * | 60      | i32         | changes   | the coordinator                                                                       | pct: priority change points used                                   |
 * | 64      | i32[8]      | changeAt  | the coordinator                                                                       | pct: the steps at which the running thread's priority drops        |
 * | 96      | i32[8]      | spare     | -                                                                                     | unused                                                             |
 * | 128     | i32[256]    | actors    | ACTOR_RECORD                                                                          | one ACTOR_RECORD per actor                                         |
 * | 1152    | i32[262144] | log       | the thread holding the turn (the coordinator before the start)                        | the choices made, one word each                                    |
 * | 1049728 | i32[262144] | replay    | the coordinator                                                                       | the choices to follow                                              |
 */
export const CONTROL_BLOCK = defineLayout('stress control block', 4 * (32 + 4 * MAX_ACTORS + 2 * MAX_STEPS), [
  { name: 'turn', type: 'i32', guard: 'Atomics (wait/notify), ' + TURN_GUARD, meaning: 'index of the actor that may run; -1 before start, -2 after the end' },
  { name: 'step', type: 'i32', guard: TURN_GUARD, meaning: 'decisions made so far' },
  { name: 'epoch', type: 'i32', guard: TURN_GUARD, meaning: 'lock releases and recoveries so far' },
  { name: 'rng', type: 'i32', guard: TURN_GUARD, meaning: "the policy's PRNG state (mulberry32)" },
  { name: 'nact', type: 'i32', guard: 'the coordinator', meaning: 'actors in this run' },
  { name: 'policy', type: 'i32', guard: 'the coordinator', meaning: '0 random, 1 pct' },
  { name: 'replayLen', type: 'i32', guard: 'the coordinator', meaning: 'choices in the replay area; -1 when not replaying' },
  { name: 'logLen', type: 'i32', guard: TURN_GUARD, meaning: 'choices written to the log area' },
  { name: 'status', type: 'i32', guard: 'Atomics, ' + TURN_GUARD, meaning: '0 running, 1 finished, 2 deadlock, 3 log full, 4 replay diverged' },
  { name: 'victim', type: 'i32', guard: 'the coordinator', meaning: 'actor that dies, -1 for none' },
  { name: 'killAt', type: 'i32', guard: 'the coordinator', meaning: 'the victim dies at its killAt-th unlock point' },
  { name: 'deadTag', type: 'i32', guard: TURN_GUARD, meaning: 'THREAD_TAG of a death not yet recovered, 0 for none' },
  { name: 'deaths', type: 'i32', guard: TURN_GUARD, meaning: 'deaths so far' },
  { name: 'recovered', type: 'i32', guard: TURN_GUARD, meaning: 'locks recovered from dead actors' },
  { name: 'arrived', type: 'i32', guard: 'Atomics, each actor once', meaning: 'actors that reached the start' },
  { name: 'changes', type: 'i32', guard: 'the coordinator', meaning: 'pct: priority change points used' },
  { name: 'changeAt', type: 'i32', count: MAX_CHANGES, guard: 'the coordinator', meaning: "pct: the steps at which the running thread's priority drops" },
  { name: 'spare', type: 'i32', count: 8, guard: '-', meaning: 'unused' },
  { name: 'actors', type: 'i32', count: 4 * MAX_ACTORS, guard: 'ACTOR_RECORD', meaning: 'one ACTOR_RECORD per actor' },
  { name: 'log', type: 'i32', count: MAX_STEPS, guard: TURN_GUARD, meaning: 'the choices made, one word each' },
  { name: 'replay', type: 'i32', count: MAX_STEPS, guard: 'the coordinator', meaning: 'the choices to follow' },
]);
const cw = (name: string): number => CONTROL_BLOCK.off(name) >>> 2;
const TURN = cw('turn');
const STEP = cw('step');
const EPOCH = cw('epoch');
const RNG = cw('rng');
const NACT = cw('nact');
const POLICY = cw('policy');
const REPLAY_LEN = cw('replayLen');
const LOG_LEN = cw('logLen');
const STATUS = cw('status');
const VICTIM = cw('victim');
const KILL_AT = cw('killAt');
const DEAD_TAG = cw('deadTag');
const DEATHS = cw('deaths');
const RECOVERED = cw('recovered');
const ARRIVED = cw('arrived');
const CHANGES = cw('changes');
const CHANGE_AT = cw('changeAt');
const ACTORS = cw('actors');
const LOG = cw('log');
const REPLAY = cw('replay');
export const CONTROL_WORDS = CONTROL_BLOCK.size >>> 2;
/** Words of one actor record, and each field's word in it. */
const AW = ACTOR_RECORD.size >>> 2;
const AR_STATE = ACTOR_RECORD.off('state') >>> 2;
const AR_EPOCH = ACTOR_RECORD.off('epoch') >>> 2;
const AR_PRIO = ACTOR_RECORD.off('prio') >>> 2;
const AR_UNLOCKS = ACTOR_RECORD.off('unlocks') >>> 2;

const A_RUNNABLE = 0;
const A_BLOCKED = 1;
const A_DONE = 2;
const A_DEAD = 3;

export const STATUS_RUNNING = 0;
export const STATUS_FINISHED = 1;
export const STATUS_DEADLOCK = 2;
export const STATUS_LOG_FULL = 3;
export const STATUS_DIVERGED = 4;
const TURN_ENDED = -2;

export type Policy = 'random' | 'pct';

/** Thrown out of a lock call of an actor when the controlled run was abandoned (deadlock, full log). */
export class StressAbort extends Error {
  readonly code = 'ERR_BEV_STRESS_ABORT';
}

function mulberry(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) | 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [s, (t ^ (t >>> 14)) >>> 0];
}

export interface ControlSetup {
  actors: number;
  seed: number;
  policy: Policy;
  /** pct: bug depth (number of priority changes + 1) */
  depth?: number;
  /** pct: expected run length in steps, for placing the change points */
  expectedSteps?: number;
  /** the choices to follow */
  replay?: readonly number[] | null;
  /** actor that dies and at which of its unlock points (1-based) */
  kill?: { victim: number; at: number } | null;
}

/** A control block for one run. @thread coordinator (before the actors start) */
export function newControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_WORDS * 4);
}

/** Reset the block for a run. The actors must not be running. @thread coordinator */
export function resetControl(sab: SharedArrayBuffer, c: ControlSetup): void {
  const i32 = new Int32Array(sab);
  if (!Number.isInteger(c.actors) || c.actors < 1 || c.actors > MAX_ACTORS) throw new RangeError(`actors must be 1..${MAX_ACTORS}`);
  i32.fill(0, 0, LOG);
  i32[TURN] = -1;
  i32[NACT] = c.actors;
  i32[POLICY] = c.policy === 'pct' ? 1 : 0;
  i32[VICTIM] = c.kill ? c.kill.victim : -1;
  i32[KILL_AT] = c.kill ? c.kill.at : 0;
  let rng = c.seed | 0;
  const next = (): number => {
    const [s, v] = mulberry(rng);
    rng = s;
    return v;
  };
  if (c.policy === 'pct') {
    // distinct priorities above MAX_CHANGES: a random permutation of actors
    const prios = Array.from({ length: c.actors }, (_, k) => k);
    for (let k = prios.length - 1; k > 0; k--) {
      const j = next() % (k + 1);
      [prios[k], prios[j]] = [prios[j]!, prios[k]!];
    }
    for (let a = 0; a < c.actors; a++) i32[ACTORS + AW * a + AR_PRIO] = MAX_CHANGES + 1 + prios[a]!;
    const changes = Math.min(MAX_CHANGES, Math.max(0, (c.depth ?? 3) - 1));
    const len = Math.max(2, c.expectedSteps ?? 200);
    i32[CHANGES] = changes;
    for (let k = 0; k < changes; k++) i32[CHANGE_AT + k] = 1 + (next() % len);
  }
  i32[RNG] = rng;
  const replay = c.replay ?? null;
  if (replay !== null) {
    if (replay.length > MAX_STEPS) throw new RangeError(`a schedule has at most ${MAX_STEPS} steps`);
    for (let k = 0; k < replay.length; k++) i32[REPLAY + k] = replay[k]!;
    i32[REPLAY_LEN] = replay.length;
  } else i32[REPLAY_LEN] = -1;
}

export interface ControlResult {
  status: number;
  schedule: number[];
  steps: number;
  deaths: number;
  recovered: number;
}

/** What the run did. @thread coordinator, after the run */
export function readControl(sab: SharedArrayBuffer): ControlResult {
  const i32 = new Int32Array(sab);
  const n = i32[LOG_LEN]!;
  return {
    status: i32[STATUS]!,
    schedule: Array.from(i32.subarray(LOG, LOG + n)),
    steps: i32[STEP]!,
    deaths: i32[DEATHS]!,
    recovered: i32[RECOVERED]!,
  };
}

/** The actor that holds the turn, or -1/-2 (before the start, after the end). */
export function currentTurn(sab: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(sab), TURN);
}

/** The number of context switches in a schedule (the measure a shrunk schedule minimises). */
export function preemptions(schedule: readonly number[]): number {
  let n = 0;
  for (let k = 1; k < schedule.length; k++) if (schedule[k] !== schedule[k - 1]) n++;
  return n;
}

/**
 * One actor thread's side of a controlled run: `begin` installs the hook and waits for the first turn, `end` marks
 * the actor done and waits for the whole run to end (so no actor's event loop runs while others are still being
 * scheduled), `die` is called by the hook at the victim's chosen point. @thread the actor's own thread
 */
export class ControlledActor {
  private readonly i32: Int32Array;
  private active = false;
  readonly index: number;
  private readonly onDeath: () => never;

  constructor(sab: SharedArrayBuffer, index: number, onDeath: () => never) {
    this.i32 = new Int32Array(sab);
    this.index = index;
    this.onDeath = onDeath;
  }

  /** Arrive; the last actor to arrive makes the first choice. Returns when this actor has the turn. */
  begin(): void {
    const i32 = this.i32;
    this.active = true;
    setSchedHook((point, li32, off) => this.point(point, li32, off));
    const n = Atomics.add(i32, ARRIVED, 1) + 1;
    if (n === i32[NACT]) this.handOver();
    this.waitTurn();
  }

  /** This actor's operations are over: let the others run; return once every actor is done or dead. */
  end(): void {
    const i32 = this.i32;
    if (!this.active) return;
    if (Atomics.load(i32, STATUS) === STATUS_RUNNING) {
      i32[ACTORS + AW * this.index + AR_STATE] = A_DONE;
      this.handOver();
    }
    while (Atomics.load(i32, TURN) !== TURN_ENDED) Atomics.wait(i32, TURN, Atomics.load(i32, TURN), 1000);
    this.active = false;
    setSchedHook(null);
  }

  /** Leave the hook installed but stop scheduling (an actor unwinding after an abort). */
  private aborted(): boolean {
    return Atomics.load(this.i32, STATUS) !== STATUS_RUNNING;
  }

  private inHook = false;

  private point(point: number, li32: Int32Array, off: number): void {
    // the scheduler's own lock calls (a recovery) run inside a turn: they are not points
    if (this.inHook) return;
    this.inHook = true;
    try {
      this.pointIn(point, li32, off);
    } finally {
      this.inHook = false;
    }
  }

  private pointIn(point: number, li32: Int32Array, off: number): void {
    if (!this.active || this.aborted()) {
      if (point === SP_LOCK && this.active) throw new StressAbort('controlled run abandoned');
      return;
    }
    const i32 = this.i32;
    const me = ACTORS + AW * this.index;
    switch (point) {
      case SP_RELEASED:
        i32[EPOCH]!++;
        return;
      case SP_UNLOCK: {
        const u = ++i32[me + AR_UNLOCKS]!;
        if (i32[VICTIM] === this.index && u === i32[KILL_AT]) this.die();
        this.yieldTurn();
        return;
      }
      case SP_TRYLOCK:
        this.yieldTurn();
        return;
      case SP_LOCK: {
        this.yieldTurn();
        while (Atomics.load(li32, off >>> 2) !== 0) {
          i32[me + AR_STATE] = A_BLOCKED;
          i32[me + AR_EPOCH] = i32[EPOCH]!;
          this.yieldTurn();
        }
        return;
      }
    }
  }

  private die(): never {
    const i32 = this.i32;
    i32[ACTORS + AW * this.index + AR_STATE] = A_DEAD;
    i32[DEATHS]!++;
    i32[DEAD_TAG] = THREAD_TAG;
    this.handOver();
    return this.onDeath();
  }

  private yieldTurn(): void {
    this.handOver();
    this.waitTurn();
  }

  private waitTurn(): void {
    const i32 = this.i32;
    for (;;) {
      const t = Atomics.load(i32, TURN);
      if (t === this.index) break;
      if (t === TURN_ENDED || this.aborted()) {
        if (this.aborted() && Atomics.load(i32, STATUS) !== STATUS_FINISHED) throw new StressAbort('controlled run abandoned');
        return;
      }
      Atomics.wait(i32, TURN, t, 1000);
    }
    this.recoverPendingDeath();
  }

  /** The previous turn ended in a death: wait for the thread to be gone, then recover its locks, here. */
  private recoverPendingDeath(): void {
    const i32 = this.i32;
    const tag = i32[DEAD_TAG]!;
    if (tag === 0) return;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    for (let k = 0; k < 10_000 && !threadGone(tag); k++) Atomics.wait(gate, 0, 0, 1);
    i32[RECOVERED]! += recoverThread(tag);
    i32[DEAD_TAG] = 0;
    i32[EPOCH]!++;
  }

  /** Choose who runs next and give it the turn (or end the run). @thread the turn's holder */
  private handOver(): void {
    const i32 = this.i32;
    const n = i32[NACT]!;
    const epoch = i32[EPOCH]!;
    const enabled: number[] = [];
    let live = 0;
    for (let a = 0; a < n; a++) {
      const s = i32[ACTORS + AW * a + AR_STATE]!;
      if (s === A_DONE || s === A_DEAD) continue;
      live++;
      if (s === A_RUNNABLE || (s === A_BLOCKED && i32[ACTORS + AW * a + AR_EPOCH]! !== epoch)) enabled.push(a);
    }
    if (live === 0) return this.finish(STATUS_FINISHED);
    if (enabled.length === 0 && i32[DEAD_TAG] === 0) return this.finish(STATUS_DEADLOCK);
    if (enabled.length === 0) {
      // only a pending recovery can unblock anyone: let the lowest blocked actor run it and look again
      for (let a = 0; a < n; a++) if (i32[ACTORS + AW * a + AR_STATE] === A_BLOCKED) enabled.push(a);
    }
    const step = i32[STEP]!;
    let next: number;
    const rl = i32[REPLAY_LEN]!;
    if (rl >= 0) {
      const want = step < rl ? i32[REPLAY + step]! : -1;
      if (enabled.includes(want)) next = want;
      else if (enabled.includes(this.index)) next = this.index;
      else next = enabled[0]!;
    } else if (i32[POLICY] === 1) {
      for (let k = 0; k < i32[CHANGES]!; k++) {
        if (i32[CHANGE_AT + k] === step && i32[ACTORS + AW * this.index + AR_STATE]! < A_DONE) i32[ACTORS + AW * this.index + AR_PRIO] = k + 1;
      }
      next = enabled[0]!;
      for (const a of enabled) if (i32[ACTORS + AW * a + AR_PRIO]! > i32[ACTORS + AW * next + AR_PRIO]!) next = a;
    } else {
      const [s, v] = mulberry(i32[RNG]!);
      i32[RNG] = s;
      next = enabled[v % enabled.length]!;
    }
    if (step >= MAX_STEPS) return this.finish(STATUS_LOG_FULL);
    i32[LOG + step] = next;
    i32[LOG_LEN] = step + 1;
    i32[STEP] = step + 1;
    const ns = ACTORS + AW * next + AR_STATE;
    if (i32[ns] === A_BLOCKED) i32[ns] = A_RUNNABLE; // it re-checks its lock when it runs
    Atomics.store(i32, TURN, next);
    Atomics.notify(i32, TURN);
  }

  private finish(status: number): void {
    const i32 = this.i32;
    Atomics.store(i32, STATUS, status);
    Atomics.store(i32, TURN, TURN_ENDED);
    Atomics.notify(i32, TURN);
  }
}

/** The block's schedule for a failure report: who ran at each step. */
export function formatSchedule(schedule: readonly number[], max = 40): string {
  const runs: string[] = [];
  for (let k = 0; k < schedule.length; ) {
    let j = k;
    while (j < schedule.length && schedule[j] === schedule[k]) j++;
    runs.push(j - k > 1 ? `${schedule[k]}x${j - k}` : String(schedule[k]));
    k = j;
  }
  return runs.length > max ? `${runs.slice(0, max).join(' ')} ... (${runs.length - max} more)` : runs.join(' ');
}
