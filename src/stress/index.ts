/**
 * `bufferevent/stress`: the engine of `bufferevent stress` for users' own code. A test module's default export is
 * a `defineStressTest({ setup, actors, arbiter, outcomes | check })`; `runStressTest(moduleUrl, options)` runs it
 * many times, one thread per actor, free or under the controlled scheduler, and returns the outcome table and the
 * first forbidden outcome with a replayable, shrunk schedule.
 */
import { pathToFileURL } from 'node:url';
import { preemptions, formatSchedule, type Policy } from './scheduler.ts';
import { StressPool, runTrial, shrink, reproduce, trialSeed, replayFile, environment, type Mode, type ReplayFile, type TrialSpec } from './engine.ts';
import { userScenario } from './user.ts';
import type { Expectation } from './scenario.ts';

export { defineStressTest, type StressTest } from './user.ts';
export type { Expectation } from './scenario.ts';
export type { ReplayFile } from './engine.ts';

export interface StressTestOptions {
  /** 'controlled' (default): one thread at a time, chosen at each lock operation by the seeded scheduler */
  mode?: Mode;
  seed?: number;
  /** how many times the test runs (default 200) */
  iterations?: number;
  /** rerun exactly this schedule (from a failure's `replay`) instead of exploring */
  replay?: ReplayFile;
}

export interface StressOutcome {
  outcome: string;
  expectation: Expectation;
  count: number;
}

export interface StressFailure {
  outcome: string;
  seed: number;
  /** who ran at each scheduling step */
  schedule: number[];
  /** the same schedule, shrunk to fewer context switches, still failing */
  shrunk: number[];
  preemptions: number;
  /** pass back as `options.replay` (or save as JSON for `bufferevent stress --replay`); null when a free-running
   * failure could not be reproduced under the controlled scheduler */
  replay: ReplayFile | null;
  /** readable form of the shrunk schedule */
  text: string;
  /** what the (reproduced, shrunk) failing run saw: its forbidden outcomes and the first problems */
  details: string[];
}

export interface StressTestReport {
  name: string;
  mode: Mode;
  seed: number;
  iterations: number;
  outcomes: StressOutcome[];
  failure: StressFailure | null;
  ok: boolean;
  environment: Record<string, unknown>;
}

function toModule(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string' || m.length === 0) throw new TypeError('the stress test module is a file path or URL');
  return m.startsWith('file:') ? m : pathToFileURL(m).href;
}

/** Run a stress test module. Resolves with the report; rejects only for bad arguments or a module that fails to load. */
export async function runStressTest(module: string | URL, options: StressTestOptions = {}): Promise<StressTestReport> {
  const url = toModule(module);
  const mode = options.mode ?? 'controlled';
  if (mode !== 'controlled' && mode !== 'random') throw new TypeError(`mode must be 'controlled' or 'random'`);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new TypeError('seed must be an integer');
  const iterations = options.replay ? 1 : (options.iterations ?? 200);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const sc = await userScenario(url);
  const actors = sc.minActors;
  const pool = new StressPool(actors);
  const rows = new Map<string, StressOutcome>();
  let failure: StressFailure | null = null;
  try {
    for (let i = 0; i < iterations; i++) {
      const policy: Policy = i % 2 === 0 ? 'pct' : 'random';
      const spec: TrialSpec = options.replay
        ? { ...options.replay.spec, module: url }
        : { scenario: sc.name, module: url, actors, ops: 1, seed: trialSeed(seed, i), mode, policy, inject: null, kill: null };
      const r = await runTrial(pool, sc, spec);
      for (const o of r.check.outcomes) {
        const row = rows.get(o.outcome) ?? { outcome: o.outcome, expectation: o.expectation, count: 0 };
        row.count++;
        rows.set(o.outcome, row);
      }
      if (r.violation) {
        const bad = r.check.outcomes.find((o) => o.expectation === 'forbidden')!;
        // a free-running failure is looked for again under the controlled scheduler, to be replayable
        const ctl = spec.mode === 'controlled' ? r : await reproduce(pool, sc, r);
        const small = ctl ? (await shrink(pool, sc, ctl, 40)).trial : null;
        failure = {
          outcome: bad.outcome,
          seed: spec.seed,
          schedule: ctl?.schedule ?? [],
          shrunk: small?.schedule ?? [],
          preemptions: small ? preemptions(small.schedule) : 0,
          replay: small ? replayFile(small) : null,
          text: small ? `actor per step: ${formatSchedule(small.schedule)}` : 'not reproduced under the controlled scheduler',
          details: (small ?? r).check.outcomes.filter((o) => o.expectation === 'forbidden').map((o) => o.outcome).concat((small ?? r).check.details),
        };
        break;
      }
    }
  } finally {
    await pool.close();
  }
  return {
    name: sc.name,
    mode,
    seed,
    iterations,
    outcomes: [...rows.values()],
    failure,
    ok: failure === null,
    environment: environment(),
  };
}
