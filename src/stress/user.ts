import { pathToFileURL } from 'node:url';
import * as L from '../index.ts';
import { Bufferevent } from '../bufferevent/core.ts';
import { Evbuffer } from '../evbuffer/evbuffer.ts';
import type { ActorResult, CheckInput, CheckOutput, Expectation, Scenario } from './scenario.ts';
import type { EventBase } from '../event/base.ts';

/**
 * A user's stress test (the `bufferevent/stress` entry point): shared state made on one thread, actors run on their
 * own threads against it, an arbiter that reads the end state, and the outcomes that are allowed.
 *
 * @typeParam S the object `setup` returns; its Bufferevent and Evbuffer values are shared with every actor (each
 * actor thread gets an imported handle on the same object), other values stay on the setup thread.
 */
export interface StressTest<S extends Record<string, unknown> = Record<string, unknown>> {
  /** shown in reports */
  name?: string;
  /** runs on the owner thread (actor 0's, which runs an event base) before every iteration */
  setup(ctx: { base: EventBase }): S | Promise<S>;
  /** one function per thread; each returns its observation (structured-cloneable). Synchronous. */
  actors: ReadonlyArray<(shared: S, ctx: { index: number; random: () => number }) => unknown>;
  /** runs on the owner thread after every actor finished; returns what the end state looks like */
  arbiter?(shared: S): unknown;
  /**
   * The outcome table: the key is `JSON.stringify([actor 0's result, actor 1's, ..., the arbiter's])`. An outcome not
   * listed is forbidden. Give `outcomes` or `check`; with neither, every outcome is acceptable (the table is the
   * result).
   */
  outcomes?: Readonly<Record<string, Expectation>>;
  /** classify an outcome (instead of, or after, `outcomes`) */
  check?(results: unknown[], final: unknown): Expectation | { outcome: string; expectation: Expectation };
  /** runs on the owner thread after the arbiter; by default every shared Bufferevent and Evbuffer is freed */
  teardown?(shared: S): void;
}

/** Declare a stress test (the module's default export). Validates its shape. */
export function defineStressTest<S extends Record<string, unknown>>(t: StressTest<S>): StressTest<S> {
  if (t === null || typeof t !== 'object') throw new TypeError('a stress test is an object');
  if (typeof t.setup !== 'function') throw new TypeError('a stress test needs setup()');
  if (!Array.isArray(t.actors) || t.actors.length < 1 || t.actors.some((a) => typeof a !== 'function')) {
    throw new TypeError('a stress test needs actors: a non-empty array of functions');
  }
  if (t.actors.length > 64) throw new RangeError('a stress test has at most 64 actors');
  return t;
}

const loaded = new Map<string, Scenario>();

/** The test of a module, adapted to the engine's scenario shape (cached per thread). */
export async function userScenario(module: string): Promise<Scenario> {
  const known = loaded.get(module);
  if (known) return known;
  const url = module.startsWith('file:') ? module : pathToFileURL(module).href;
  const mod = (await import(url)) as { default?: unknown };
  const t = defineStressTest(mod.default as StressTest);
  const sc: Scenario = {
    name: t.name ?? 'user',
    summary: 'a user stress test',
    minActors: t.actors.length,
    maxActors: t.actors.length,
    kill: false,
    setup: ({ base }) => t.setup({ base }),
    actor(ctx): ActorResult {
      const value = t.actors[ctx.index]!(ctx.shared as Record<string, unknown>, { index: ctx.index, random: ctx.rng });
      if (value instanceof Promise) throw new TypeError('stress actors are synchronous (an actor returned a Promise)');
      return { ops: 1, told: 0, data: value };
    },
    collect(c) {
      const final = t.arbiter ? t.arbiter(c.state) : null;
      if (t.teardown) t.teardown(c.state);
      else {
        for (const v of Object.values(c.state)) {
          if (v instanceof Bufferevent) L.bufferevent_free(v);
          else if (v instanceof Evbuffer) L.evbuffer_free(v);
        }
      }
      return final;
    },
    check(input: CheckInput): CheckOutput {
      const results = input.results.map((r) => r?.data);
      const key = JSON.stringify([...results, input.collected ?? null]);
      let o: { outcome: string; expectation: Expectation };
      if (t.outcomes && key in t.outcomes) o = { outcome: key, expectation: t.outcomes[key]! };
      else if (t.check) {
        const c = t.check(results, input.collected);
        o = typeof c === 'string' ? { outcome: key, expectation: c } : c;
      } else o = { outcome: key, expectation: t.outcomes ? 'forbidden' : 'acceptable' };
      return { outcomes: [o], counts: { violations: o.expectation === 'forbidden' ? 1 : 0 }, details: [] };
    },
  };
  loaded.set(module, sc);
  return sc;
}
