import type { ActorCtx, SetupCtx, TrialParams } from './actor.ts';
import type { StreamReport } from './records.ts';

/**
 * A stress scenario: shared objects made on the owner thread (actor 0's thread, which runs an event base), actors
 * that run on every thread of the trial against imported handles, a collect step on the owner once every actor is
 * done, and a check on the coordinator that turns what was observed into outcomes.
 *
 * Actors must be synchronous in a controlled run: an actor that awaited would let its thread's event loop run while
 * the scheduler thinks it is stopped. In a free run the owner's actor may await (to let its loop deliver).
 */
export type Expectation = 'acceptable' | 'interesting' | 'forbidden';

export interface Outcome {
  outcome: string;
  expectation: Expectation;
}

/** Counters a check adds to the run's totals. */
export interface Counts {
  ops: number;
  bytes: number;
  lost: number;
  duplicated: number;
  reordered: number;
  torn: number;
  violations: number;
  told: number;
}

export function zeroCounts(): Counts {
  return { ops: 0, bytes: 0, lost: 0, duplicated: 0, reordered: 0, torn: 0, violations: 0, told: 0 };
}

export interface ActorResult {
  ops: number;
  told: number;
  /** posted to the coordinator (structured-cloneable) */
  data?: unknown;
  /** kept on the actor's thread: the owner's collect step receives actor 0's as `ownerData` */
  local?: unknown;
  trace?: string[];
  lockWait?: number[];
  lockHold?: number[];
  error?: string;
}

export interface CheckInput {
  params: TrialParams;
  /** per actor; null for an actor that died */
  results: (ActorResult | null)[];
  collected: unknown;
  /** the actors' slots after the run */
  slots: Int32Array;
  dead: boolean[];
}

export interface CheckOutput {
  outcomes: Outcome[];
  counts: Partial<Counts>;
  /** what went wrong, for the failure report */
  details: string[];
}

export interface Scenario {
  name: string;
  summary: string;
  /** fewest actors that make sense (the owner included) */
  minActors: number;
  /** most actors (the linearizability check is exponential) */
  maxActors?: number;
  /** most operations per actor in one trial */
  maxOps?: number;
  /** supports --kill-workers */
  kill: boolean;
  /** actor index that may be killed (never the owner) */
  setup(ctx: SetupCtx): Promise<Record<string, unknown>> | Record<string, unknown>;
  actor(ctx: ActorCtx): ActorResult | Promise<ActorResult>;
  collect(ctx: CollectCtx): Promise<unknown> | unknown;
  check(input: CheckInput): CheckOutput;
}

export interface CollectCtx {
  params: TrialParams;
  /** what setup returned, on the owner thread (the objects themselves) */
  state: Record<string, unknown>;
  /** actor 0's result data (same thread) */
  ownerData: unknown;
  slots: Int32Array;
  told: number;
}

/** Outcome rows for a record stream report. */
export function streamOutcomes(r: StreamReport, extra: string): CheckOutput {
  const outcomes: Outcome[] = [];
  const details = r.examples.slice();
  const bad = r.lost + r.duplicated + r.reordered + r.torn + (r.garbage > 0 ? 1 : 0);
  if (r.torn > 0 || r.garbage > 0) outcomes.push({ outcome: 'torn or interleaved records', expectation: 'forbidden' });
  if (r.lost > 0) outcomes.push({ outcome: 'lost records', expectation: 'forbidden' });
  if (r.duplicated > 0) outcomes.push({ outcome: 'duplicated records', expectation: 'forbidden' });
  if (r.reordered > 0) outcomes.push({ outcome: 'reordered records', expectation: 'forbidden' });
  if (bad === 0) outcomes.push({ outcome: `every record whole, once, in order${extra}`, expectation: extra ? 'interesting' : 'acceptable' });
  return {
    outcomes,
    counts: { bytes: r.bytes, lost: r.lost, duplicated: r.duplicated, reordered: r.reordered, torn: r.torn + (r.garbage > 0 ? 1 : 0) },
    details,
  };
}
