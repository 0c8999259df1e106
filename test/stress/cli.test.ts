import { describe, expect, it, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/serve.ts';
import type { Counts } from '../../src/stress/scenario.ts';

/** `bufferevent stress`, run as a user runs it: the built command in a child process. */
const dir = mkdtempSync(join(tmpdir(), 'bev-stress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, 'stress', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
/** The --json object: the run's counters and the rest. */
interface Summary extends Omit<Counts, 'told'> {
  seed: number;
  mode: string;
  deaths: number;
  recoveries: number;
  trials: number;
  scheduleHash: number | null;
  outcomes: Array<{ scenario: string; outcome: string; count: number; expectation: string }>;
  failure: null | { file: string | null; reproduced: boolean; outcome: string[]; shrunk: { actors: number; ops: number; preemptions: number } | null };
}
async function json(args: string[]): Promise<{ code: number | null; s: Summary; stderr: string }> {
  const r = await run([...args, '--json']);
  return { code: r.code, s: JSON.parse(r.stdout) as Summary, stderr: r.stderr };
}

const scenarios = ['records', 'nested', 'pair', 'socket', 'control', 'free', 'linearizable'];

describe('bufferevent stress', () => {
  it.each(scenarios)('scenario %s passes on the library, free-running and controlled', async (name) => {
    for (const mode of ['random', 'controlled']) {
      const { code, s } = await json(['--scenario', name, '--threads', '3', '--ops', '300', '--seed', '5', '--mode', mode]);
      expect(s.violations, JSON.stringify(s.failure)).toBe(0);
      expect(code).toBe(0);
      expect(s.ops).toBeGreaterThanOrEqual(300);
      expect(s.outcomes.length).toBeGreaterThan(0);
      expect(s.outcomes.every((o) => o.scenario === name && o.expectation !== 'forbidden')).toBe(true);
      expect(s.mode).toBe(mode);
    }
  });

  it.each(['random', 'controlled'])('--inject skip-lock is caught as torn records, exit 1 (%s)', async (mode) => {
    const { code, s } = await json(['--scenario', 'records', '--threads', '3', '--ops', '20000', '--seed', '9', '--mode', mode, '--inject', 'skip-lock', '--out', `inj-${mode}.json`]);
    expect(code).toBe(1);
    expect(s.violations).toBeGreaterThan(0);
    expect(s.torn).toBeGreaterThan(0);
    expect(s.failure?.outcome).toContain('torn or interleaved records');
  });

  it('the same seed in controlled mode gives the same schedules and the same result', async () => {
    const args = ['--threads', '3', '--ops', '600', '--seed', '4242', '--mode', 'controlled', '--scenario', 'records', '--scenario', 'control', '--scenario', 'linearizable'];
    const a = await json(args);
    const b = await json(args);
    expect(a.code).toBe(0);
    expect(a.s.scheduleHash).not.toBeNull();
    expect(b.s.scheduleHash).toBe(a.s.scheduleHash);
    const stable = (s: Summary) => ({ ops: s.ops, bytes: s.bytes, trials: s.trials, outcomes: s.outcomes });
    expect(stable(b.s)).toEqual(stable(a.s));
    const c = await json([...args.slice(0, 5), '4243', ...args.slice(6)]);
    expect(c.s.scheduleHash).not.toBe(a.s.scheduleHash);
  });

  it('a failure writes a replay file that reruns it, shrunk to a smaller case', async () => {
    const { code, s } = await json(['--scenario', 'records', '--threads', '3', '--ops', '20000', '--seed', '31', '--mode', 'controlled', '--inject', 'skip-lock', '--out', 'fail.json']);
    expect(code).toBe(1);
    expect(s.failure?.reproduced).toBe(true);
    expect(s.failure?.file).toBe('fail.json');
    const shrunk = s.failure!.shrunk!;
    // controlled trials run 24 operations per actor: the shrunk case has fewer
    expect(shrunk.ops * shrunk.actors).toBeLessThan(24 * 3);
    const file = JSON.parse(readFileSync(join(dir, 'fail.json'), 'utf8')) as { spec: { ops: number; schedule: number[] } };
    expect(file.spec.ops).toBe(shrunk.ops);
    const replay = await run(['--replay', 'fail.json']);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('reproduced');
    expect(replay.stdout).toContain('FORBIDDEN: torn or interleaved records');
    const twice = await run(['--replay', 'fail.json']);
    expect(twice.stdout).toBe(replay.stdout);
  });

  it.each(['random', 'controlled'])('--kill-workers: writers die, holding the lock too; the lock is recovered and the stream stays whole (%s)', async (mode) => {
    const { code, s } = await json(['--scenario', 'records', '--scenario', 'nested', '--threads', '3', '--ops', '6000', '--seed', '77', '--mode', mode, '--kill-workers']);
    expect(s.violations, JSON.stringify(s.failure)).toBe(0);
    expect(code).toBe(0);
    expect(s.deaths).toBeGreaterThan(0);
    expect(s.recoveries).toBeGreaterThan(0);
    expect(s.outcomes.some((o) => o.outcome === 'lock recovered from a dead writer, told once')).toBe(true);
  });

  it('prints the outcome table, the counters and the environment', async () => {
    const r = await run(['--scenario', 'control', '--threads', '2', '--ops', '200', '--seed', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario\s+outcome\s+count\s+expectation/m);
    expect(r.stdout).toMatch(/control\s+every read whole, final state a last change\s+\d+\s+ACCEPTABLE/);
    expect(r.stdout).toMatch(/lost 0, duplicated 0, reordered 0, torn 0, violations 0/);
    expect(r.stdout).toMatch(/lock wait p50 .* p99 .*hold p50/);
    expect(r.stdout).toContain(`Node ${process.version}`);
  });

  it.each([
    [['--threads', '1'], /--threads must be an integer from 2 to 64/],
    [['--mode', 'sideways'], /--mode must be one of random, controlled/],
    [['--scenario', 'nope'], /--scenario must be one of/],
    [['--seconds', '0'], /--seconds must be more than 0/],
    [['--seconds', '1', '--ops', '5'], /not both/],
    [['--inject', 'bugs'], /--inject must be one of skip-lock/],
    [['--replay', 'missing.json'], /cannot read missing\.json/],
    [['--replay', 'bad.json'], /not JSON/],
    [['--frobnicate'], /Unknown option/],
  ])('bad arguments exit 2 with one line: %j', async (args, re) => {
    writeFileSync(join(dir, 'bad.json'), '{');
    const r = await run(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'missing.json'))).toBe(false);
  });
});
