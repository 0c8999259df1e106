import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { SLOT_WORDS, S_DONE, S_LOCKED, S_PROGRESS, type Inject, type TrialParams } from './actor.ts';
import { newControl, readControl, resetControl, preemptions, STATUS_DEADLOCK, STATUS_DIVERGED, STATUS_LOG_FULL, type Policy } from './scheduler.ts';
import { zeroCounts, type ActorResult, type CheckOutput, type Counts, type Expectation, type Scenario } from './scenario.ts';

/**
 * The coordinator of `bufferevent stress` and of the harness API: a pool of worker threads (src/stress/worker.ts),
 * trials of one scenario each (setup on the owner, every actor run, collect, check), deaths injected, failures
 * reproduced under the controlled scheduler, shrunk and written out as replayable schedules.
 */
const workerUrl = import.meta.url.endsWith('.ts') ? new URL('./worker.ts', import.meta.url) : new URL('./stress-worker.js', import.meta.url);

export type Mode = 'random' | 'controlled';

/** One trial, fully determined in controlled mode: rerunning it with the same schedule gives the same result. */
export interface TrialSpec {
  scenario: string;
  module?: string;
  actors: number;
  ops: number;
  seed: number;
  mode: Mode;
  policy: Policy;
  inject: Inject;
  /** controlled: which actor dies at which of its unlock points; free: the victim (killed by the coordinator) */
  kill: { victim: number; at: number } | null;
  /** controlled: the choices to follow */
  schedule?: number[] | null;
}

export interface TrialResult {
  spec: TrialSpec;
  check: CheckOutput;
  counts: Counts;
  results: (ActorResult | null)[];
  schedule: number[];
  status: 'ok' | 'deadlock' | 'hang' | 'error' | 'diverged';
  deaths: number;
  recoveries: number;
  violation: boolean;
  error?: string;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  exited: boolean;
}

/** A pool of stress threads; a thread that died (a kill) is replaced before the next trial. */
export class StressPool {
  private slots: Slot[] = [];
  readonly size: number;
  constructor(size: number) {
    this.size = size;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn(i));
  }

  private spawn(index: number): Slot {
    const worker = new Worker(workerUrl, { workerData: { index } });
    const slot: Slot = { worker, exited: false, ready: new Promise((r) => worker.once('message', () => r())) };
    worker.once('exit', () => (slot.exited = true));
    worker.on('error', () => {}); // a worker that throws outside a trial shows as a missing reply
    return slot;
  }

  /** The live worker of `index`, replacing one that exited. */
  async get(index: number): Promise<Worker> {
    let s = this.slots[index]!;
    if (s.exited) s = this.slots[index] = this.spawn(index);
    await s.ready;
    return s.worker;
  }

  exited(index: number): boolean {
    return this.slots[index]!.exited;
  }

  /** Replace every worker (after a hang). */
  async reset(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = this.slots.map((_, i) => this.spawn(i));
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

class TrialHang extends Error {}

/** The next message of `type` from a worker, or rejection when it exits first or `ms` pass. */
function reply<T>(w: Worker, type: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new TrialHang(`no ${type} reply in ${ms} ms`))), ms);
    const onMsg = (m: { type: string; error?: string } & Record<string, unknown>): void => {
      if (m.type === type) done(() => resolve(m as T));
      else if (m.type === 'error') done(() => reject(new Error(m.error)));
    };
    const onExit = (): void => done(() => reject(new Error('exited')));
    function done(f: () => void): void {
      clearTimeout(timer);
      w.off('message', onMsg);
      w.off('exit', onExit);
      f();
    }
    w.on('message', onMsg);
    w.once('exit', onExit);
  });
}

const TRIAL_MS = 60_000;

/** Run one trial on the pool. Never throws for what the trial did: failures are in the result. */
export async function runTrial(pool: StressPool, sc: Scenario, spec: TrialSpec, trace = false): Promise<TrialResult> {
  const params: TrialParams = {
    scenario: spec.scenario,
    module: spec.module,
    actors: spec.actors,
    ops: spec.ops,
    seed: spec.seed,
    controlled: spec.mode === 'controlled',
    inject: spec.inject,
    kill: spec.kill !== null,
    trace,
  };
  const slotsSab = new SharedArrayBuffer(spec.actors * SLOT_WORDS * 4);
  const slots = new Int32Array(slotsSab);
  const ticket = new SharedArrayBuffer(8);
  const control = spec.mode === 'controlled' ? newControl() : null;
  const fail = (status: TrialResult['status'], error: string, results: (ActorResult | null)[] = []): TrialResult => ({
    spec,
    check: { outcomes: [{ outcome: status === 'hang' ? 'hang (no progress)' : `error: ${error.split('\n')[0]}`, expectation: 'forbidden' }], counts: {}, details: [error] },
    counts: { ...zeroCounts(), violations: 1 },
    results,
    schedule: control ? readControl(control).schedule : [],
    status,
    deaths: 0,
    recoveries: 0,
    violation: true,
    error,
  });
  try {
    const owner = await pool.get(0);
    const workers: Worker[] = [owner];
    for (let a = 1; a < spec.actors; a++) workers.push(await pool.get(a));
    owner.postMessage({ type: 'setup', params });
    const { shared } = await reply<{ shared: Record<string, unknown> }>(owner, 'setup', TRIAL_MS);
    if (control) {
      resetControl(control, {
        actors: spec.actors,
        seed: spec.seed,
        policy: spec.policy,
        depth: 3,
        expectedSteps: spec.ops * spec.actors * 6,
        replay: spec.schedule ?? null,
        kill: spec.kill,
      });
    }
    const dead = new Array<boolean>(spec.actors).fill(false);
    const results = await Promise.all(
      workers.map(async (w, a): Promise<ActorResult | null> => {
        w.postMessage({ type: 'run', params, shared, slots: slotsSab, ticket, control });
        try {
          return (await reply<{ result: ActorResult }>(w, 'result', TRIAL_MS)).result;
        } catch (e) {
          if (e instanceof TrialHang) throw e;
          dead[a] = true;
          return null;
        }
      }).concat(spec.mode === 'random' && spec.kill ? [killLater(pool, spec, slots, dead).then(() => null)] : []),
    );
    results.length = spec.actors;
    if (dead[0]) return fail('error', 'the owner thread died', results);
    owner.postMessage({ type: 'collect', params, slots: slotsSab });
    const { collected } = await reply<{ collected: unknown }>(owner, 'collect', TRIAL_MS);
    const ctl = control ? readControl(control) : null;
    const check = sc.check({ params, results, collected, slots, dead });
    const counts = { ...zeroCounts(), ...check.counts };
    counts.ops = results.reduce((n, r) => n + (r?.ops ?? 0), 0);
    const errors = results.flatMap((r, a) => (r?.error ? [`actor ${a}: ${r.error}`] : []));
    let status: TrialResult['status'] = 'ok';
    if (ctl?.status === STATUS_DEADLOCK) {
      status = 'deadlock';
      check.outcomes.push({ outcome: 'deadlock', expectation: 'forbidden' });
      check.details.push('every live actor was blocked on a lock no one could release');
    } else if (ctl?.status === STATUS_DIVERGED || ctl?.status === STATUS_LOG_FULL) {
      status = 'diverged';
      check.details.push('the schedule log filled up');
    }
    if (errors.length > 0 && status === 'ok') {
      status = 'error';
      check.outcomes.push({ outcome: `an operation threw: ${errors[0]!.replace(/^actor \d+: /, '').split(':')[0]}`, expectation: 'forbidden' });
      check.details.push(...errors.slice(0, 4));
    }
    const violation = check.outcomes.some((o) => o.expectation === 'forbidden');
    if (violation && counts.violations === 0) counts.violations = 1;
    return {
      spec,
      check,
      counts,
      results,
      schedule: ctl?.schedule ?? [],
      status,
      deaths: ctl ? ctl.deaths : dead.filter(Boolean).length,
      recoveries: ctl ? ctl.recovered : 0,
      violation,
    };
  } catch (e) {
    if (e instanceof TrialHang) {
      await pool.reset();
      return fail('hang', `${e.message} (scenario ${spec.scenario}, seed ${spec.seed})`);
    }
    await pool.reset();
    return fail('error', (e as Error).stack ?? String(e));
  }
}

/** Free-run deaths: terminate the victim once it has done some operations, often right while it holds the lock. */
async function killLater(pool: StressPool, spec: TrialSpec, slots: Int32Array, dead: boolean[]): Promise<void> {
  const k = spec.kill!;
  const w = await pool.get(k.victim);
  const base = k.victim * SLOT_WORDS;
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const wantHeld = (k.at & 1) === 1;
  const target = (k.at >>> 1) % Math.max(1, spec.ops >> 1); // within the first half of its operations
  for (let spins = 0; spins < 400_000; spins++) {
    if (Atomics.load(slots, base + S_DONE) === 1) return; // finished before its time came
    const p = Atomics.load(slots, base + S_PROGRESS);
    // held: wait for a moment inside the lock, but do not let the victim run out of operations waiting for one
    if (p >= target && (!wantHeld || Atomics.load(slots, base + S_LOCKED) === 1 || p >= spec.ops - 2)) break;
    Atomics.wait(gate, 0, 0, 0.02);
  }
  dead[k.victim] = true;
  await w.terminate();
}

export interface RunOptions {
  threads: number;
  seconds: number | null;
  ops: number | null;
  seed: number;
  mode: Mode;
  scenarios: Scenario[];
  killWorkers: boolean;
  inject: Inject;
  /** operations per actor in one trial */
  opsPerTrial?: number;
  onTrial?: (r: TrialResult, totals: RunTotals) => void;
}

export interface OutcomeRow {
  scenario: string;
  outcome: string;
  expectation: Expectation;
  count: number;
}

export interface RunTotals extends Counts {
  trials: number;
  deaths: number;
  recoveries: number;
  lockWait: number[];
  lockHold: number[];
  rows: Map<string, OutcomeRow>;
  scheduleHash: number;
}

function newTotals(): RunTotals {
  return { ...zeroCounts(), trials: 0, deaths: 0, recoveries: 0, lockWait: [], lockHold: [], rows: new Map(), scheduleHash: 0x811c9dc5 };
}

/** Per-trial seed: a 32-bit mix of the run seed and the trial number (splitmix-style). */
export function trialSeed(seed: number, n: number): number {
  let z = (seed + Math.imul(n + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The trial `n` of a run: which scenario, how many actors and operations, which death. */
export function planTrial(o: RunOptions, n: number): TrialSpec {
  const sc = o.scenarios[n % o.scenarios.length]!;
  const seed = trialSeed(o.seed, n);
  const actors = Math.max(sc.minActors, Math.min(o.threads, sc.maxActors ?? o.threads));
  const ops = Math.min(sc.maxOps ?? Infinity, o.opsPerTrial ?? (o.mode === 'controlled' ? 24 : 400));
  const kill = o.killWorkers && sc.kill ? { victim: 1 + (seed % (actors - 1)), at: 1 + ((seed >>> 8) % (o.mode === 'controlled' ? ops * 3 : ops * 2)) } : null;
  return { scenario: sc.name, actors, ops, seed, mode: o.mode, policy: n % 2 === 0 ? 'pct' : 'random', inject: o.inject, kill };
}

function fold(t: RunTotals, r: TrialResult): void {
  t.trials++;
  for (const k of ['ops', 'bytes', 'lost', 'duplicated', 'reordered', 'torn', 'violations', 'told'] as const) t[k] += r.counts[k];
  t.deaths += r.deaths;
  t.recoveries += r.recoveries + (r.spec.mode === 'random' ? r.counts.told : 0);
  for (const res of r.results) {
    if (!res) continue;
    for (const v of res.lockWait ?? []) if (t.lockWait.length < 200_000) t.lockWait.push(v);
    for (const v of res.lockHold ?? []) if (t.lockHold.length < 200_000) t.lockHold.push(v);
  }
  for (const o of r.check.outcomes) {
    const key = `${r.spec.scenario}\u0000${o.outcome}`;
    const row = t.rows.get(key) ?? { scenario: r.spec.scenario, outcome: o.outcome, expectation: o.expectation, count: 0 };
    row.count++;
    t.rows.set(key, row);
  }
  let h = t.scheduleHash;
  for (const c of r.schedule) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  t.scheduleHash = Math.imul(h ^ 0xff, 0x01000193) >>> 0;
}

export interface RunReport {
  totals: RunTotals;
  seconds: number;
  firstFailure: TrialResult | null;
}

/** Run trials until the time or the operation budget is spent (or the first violation). */
export async function runStress(o: RunOptions, pool = new StressPool(o.threads)): Promise<RunReport> {
  const totals = newTotals();
  const t0 = performance.now();
  let firstFailure: TrialResult | null = null;
  try {
    for (let n = 0; ; n++) {
      const elapsed = (performance.now() - t0) / 1000;
      if (o.ops !== null ? totals.ops >= o.ops : elapsed >= (o.seconds ?? 10)) break;
      const spec = planTrial(o, n);
      const sc = o.scenarios.find((s) => s.name === spec.scenario)!;
      const r = await runTrial(pool, sc, spec);
      fold(totals, r);
      o.onTrial?.(r, totals);
      if (r.violation) {
        firstFailure = r;
        break;
      }
    }
  } finally {
    await pool.close();
  }
  return { totals, seconds: (performance.now() - t0) / 1000, firstFailure };
}

export interface Shrunk {
  trial: TrialResult;
  /** reruns it took */
  attempts: number;
}

/**
 * Make a controlled failure smaller: fewer operations, fewer actors, then fewer context switches in its schedule,
 * keeping only changes after which it still fails (any forbidden outcome). Each attempt is a deterministic rerun.
 */
export async function shrink(pool: StressPool, sc: Scenario, failing: TrialResult, budget = 150): Promise<Shrunk> {
  let best = failing;
  let attempts = 0;
  const tryRun = async (spec: TrialSpec): Promise<boolean> => {
    if (attempts >= budget) return false;
    attempts++;
    const r = await runTrial(pool, sc, spec);
    if (r.violation && r.status !== 'hang') {
      best = r;
      return true;
    }
    return false;
  };
  // 1. fewer operations per actor, then fewer actors: first following the failing schedule as far as it goes (a
  //    lenient replay), then with a few fresh seeds
  const variants = (s: TrialSpec, change: Partial<TrialSpec>): TrialSpec[] => [
    { ...s, ...change, schedule: best.schedule },
    ...[0, 1, 2].map((j) => ({ ...s, ...change, seed: trialSeed(s.seed, 1000 + j), schedule: null })),
  ];
  for (let progress = true; progress && attempts < budget; ) {
    progress = false;
    const s = best.spec;
    const smaller = [...new Set([1, 2, Math.floor(s.ops / 4), Math.floor(s.ops / 2), s.ops - 1])].filter((n) => n >= 1 && n < s.ops);
    const shapes: Partial<TrialSpec>[] = smaller.map((ops) => ({ ops }));
    if (s.actors > sc.minActors && (s.kill === null || s.kill.victim < s.actors - 1)) shapes.push({ actors: s.actors - 1 });
    search: for (const shape of shapes) {
      for (const v of variants(s, shape)) {
        if (await tryRun(v)) {
          progress = true;
          break search;
        }
      }
    }
  }
  // 2. fewer context switches: replay the schedule with one switch removed (the running actor keeps going), from
  //    the last switch to the first, keeping every removal after which it still fails
  for (let k = best.schedule.length - 1; k > 0 && attempts < budget; k--) {
    const sched = best.schedule;
    if (k >= sched.length || sched[k] === sched[k - 1]) continue;
    const cand = sched.slice(0, k).concat(sched.slice(k).map((c) => (c === sched[k] ? sched[k - 1]! : c)));
    const before = best;
    if ((await tryRun({ ...best.spec, schedule: cand })) && preemptions(best.schedule) >= preemptions(before.schedule)) best = before;
  }
  // 3. the final case once more, traced
  const traced = await runTrial(pool, sc, { ...best.spec, schedule: best.schedule }, true);
  return { trial: traced.violation ? traced : best, attempts };
}

/** A random-mode failure cannot be replayed: look for the same failure under the controlled scheduler. */
export async function reproduce(pool: StressPool, sc: Scenario, failing: TrialResult, tries = 40): Promise<TrialResult | null> {
  for (let k = 0; k < tries; k++) {
    const spec: TrialSpec = {
      ...failing.spec,
      mode: 'controlled',
      policy: k % 2 === 0 ? 'pct' : 'random',
      seed: trialSeed(failing.spec.seed, k),
      ops: Math.min(failing.spec.ops, 24),
      kill: failing.spec.kill ? { victim: failing.spec.kill.victim, at: 1 + (trialSeed(failing.spec.seed, k) % 48) } : null,
      schedule: null,
    };
    const r = await runTrial(pool, sc, spec);
    if (r.violation) return r;
  }
  return null;
}

/** The environment a report records. */
export function environment(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: os.availableParallelism(),
    cpu: cpus[0]?.model ?? 'unknown',
    execArgv: process.execArgv,
    lockDebug: process.env.BUFFEREVENT_LOCK_DEBUG === '1',
  };
}

export function percentiles(v: number[]): { p50: number; p99: number; max: number } {
  if (v.length === 0) return { p50: 0, p99: 0, max: 0 };
  const s = Float64Array.from(v).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

/** The replay file of a failure: everything needed to rerun it exactly. */
export interface ReplayFile {
  tool: 'bufferevent-stress';
  version: 1;
  spec: TrialSpec;
  outcome: string[];
}

export function replayFile(r: TrialResult): ReplayFile {
  return {
    tool: 'bufferevent-stress',
    version: 1,
    spec: { ...r.spec, mode: 'controlled', schedule: r.schedule },
    outcome: r.check.outcomes.filter((o) => o.expectation === 'forbidden').map((o) => o.outcome),
  };
}

export function parseReplay(text: string): ReplayFile {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error('not a replay file (not JSON)');
  }
  const f = j as Partial<ReplayFile>;
  const s = f.spec as Partial<TrialSpec> | undefined;
  if (f.tool !== 'bufferevent-stress' || f.version !== 1 || !s || typeof s.scenario !== 'string' || !Array.isArray(s.schedule)) {
    throw new Error('not a bufferevent stress replay file');
  }
  if (!Number.isInteger(s.actors) || !Number.isInteger(s.ops) || !Number.isInteger(s.seed) || !s.schedule.every((c) => Number.isInteger(c))) {
    throw new Error('a replay file needs integer actors, ops, seed and schedule');
  }
  return f as ReplayFile;
}

export function defaultThreads(): number {
  return Math.max(2, Math.min(4, os.availableParallelism()));
}
