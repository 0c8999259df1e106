import { describe, expect, it, afterEach } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runStressTest } from '../../src/stress/index.ts';

const counter = fileURLToPath(new URL('../fixtures/stress-counter.ts', import.meta.url));

describe('bufferevent/stress harness', () => {
  afterEach(() => {
    delete process.env.STRESS_COUNTER_LOCKED;
  });

  it('catches a racy user actor under the controlled scheduler and returns a replayable, shrunk schedule', async () => {
    const r = await runStressTest(counter, { mode: 'controlled', seed: 11, iterations: 60 });
    expect(r.ok).toBe(false);
    expect(r.failure).not.toBeNull();
    // both increments read 0: the lost update
    expect(r.failure!.outcome).toBe('[0,0,1]');
    expect(r.failure!.shrunk.length).toBeGreaterThan(0);
    expect(r.failure!.preemptions).toBeGreaterThan(0);
    expect(r.outcomes.find((o) => o.outcome === '[0,0,1]')?.expectation).toBe('forbidden');
    // the replay runs that exact schedule again and fails the same way
    const again = await runStressTest(counter, { replay: r.failure!.replay! });
    expect(again.failure?.outcome).toBe('[0,0,1]');
  });

  it('finds nothing forbidden when the actor takes evbuffer_lock around its read-modify-write', async () => {
    process.env.STRESS_COUNTER_LOCKED = '1'; // the worker threads inherit the environment
    const r = await runStressTest(counter, { mode: 'controlled', seed: 11, iterations: 40 });
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.outcomes.every((o) => o.expectation === 'acceptable')).toBe(true);
    expect(r.outcomes.reduce((n, o) => n + o.count, 0)).toBe(40);
  });

  it('rejects bad arguments with TypeError/RangeError', async () => {
    await expect(runStressTest('', {})).rejects.toThrow(TypeError);
    await expect(runStressTest(counter, { mode: 'sideways' as never })).rejects.toThrow(TypeError);
    await expect(runStressTest(counter, { iterations: 0 })).rejects.toThrow(RangeError);
  });
});
