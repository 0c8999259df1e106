import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, intFlag, oneOf, secondsFlag } from './args.ts';
import { SCENARIOS, scenarioByName } from '../stress/scenarios/index.ts';
import {
  StressPool,
  defaultThreads,
  environment,
  parseReplay,
  percentiles,
  replayFile,
  reproduce,
  runStress,
  runTrial,
  shrink,
  type ReplayFile,
  type RunOptions,
  type RunTotals,
  type TrialResult,
} from '../stress/engine.ts';
import { formatSchedule, preemptions } from '../stress/scheduler.ts';

export const stressHelp = `Usage: bufferevent stress [options]

Runs the library's thread-safety scenarios on worker threads and checks every byte: each record carries its writer
and sequence number, and the checker reports lost, duplicated, reordered and torn records, histories that no
sequential evbuffer explains, and forbidden end states. Exit code 0 when nothing forbidden was seen, 1 when a
violation was found, 2 for bad arguments.

  --threads N        worker threads (actors) per trial, 2 to 64 (default: ${defaultThreads()})
  --seconds S        run for S seconds (default 10)
  --ops K            run until K operations were done (instead of --seconds)
  --seed X           the run's seed (default: random; printed)
  --mode M           random: real threads running free (default); controlled: one thread at a time, switched
                     at each lock acquire/release by a seeded scheduler, so a seed gives the same run every time
  --scenario NAME    only this scenario (repeatable): ${SCENARIOS.map((s) => s.name).join(', ')}
  --kill-workers     terminate writer threads at random points, often while they hold a lock
  --inject FAULT     skip-lock: the record writers skip the lock around multi-part records (must be caught)
  --replay FILE      rerun a failure from the file a failing run wrote
  --out FILE         where a failure's replay file goes (default: bufferevent-stress-SEED.json)
  --json             one JSON object on stdout instead of the report
  -h, --help         this text

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n')}`;

/** The run's options (engine.ts RunOptions) and what only the command has. */
export interface StressArgs extends Omit<RunOptions, 'opsPerTrial' | 'onTrial'> {
  replay: ReplayFile | null;
  out: string | null;
  json: boolean;
}

/** Parse the flags; null for --help. Throws UsageError for anything wrong. */
export function parseStress(argv: string[]): StressArgs | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      threads: { type: 'string' },
      seconds: { type: 'string' },
      ops: { type: 'string' },
      seed: { type: 'string' },
      mode: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      'kill-workers': { type: 'boolean', default: false },
      inject: { type: 'string' },
      replay: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  if (values.seconds !== undefined && values.ops !== undefined) throw new UsageError('give --seconds or --ops, not both');
  const names = values.scenario ?? SCENARIOS.map((s) => s.name);
  const scenarios = names.map((n) => {
    const s = scenarioByName(n);
    if (!s) throw new UsageError(`--scenario must be one of ${SCENARIOS.map((x) => x.name).join(', ')} (got ${JSON.stringify(n)})`);
    return s;
  });
  let replay: ReplayFile | null = null;
  if (values.replay !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.replay, 'utf8');
    } catch (e) {
      throw new UsageError(`--replay: cannot read ${values.replay} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    try {
      replay = parseReplay(text);
    } catch (e) {
      throw new UsageError(`--replay: ${values.replay}: ${(e as Error).message}`);
    }
    if (!scenarioByName(replay.spec.scenario)) throw new UsageError(`--replay: unknown scenario ${JSON.stringify(replay.spec.scenario)}`);
  }
  const threads = values.threads !== undefined ? intFlag('threads', values.threads, 2, 64) : defaultThreads();
  const seconds = values.seconds !== undefined ? secondsFlag('seconds', values.seconds) : null;
  if (seconds !== null && seconds <= 0) throw new UsageError('--seconds must be more than 0');
  return {
    threads,
    seconds: values.ops === undefined ? (seconds ?? 10) : null,
    ops: values.ops !== undefined ? intFlag('ops', values.ops, 1, 2 ** 40) : null,
    seed: values.seed !== undefined ? intFlag('seed', values.seed, 0, 2 ** 32 - 1) : Math.floor(Math.random() * 2 ** 32),
    mode: values.mode !== undefined ? oneOf('mode', values.mode, ['random', 'controlled'] as const) : 'random',
    scenarios,
    killWorkers: values['kill-workers'],
    inject: values.inject !== undefined ? oneOf('inject', values.inject, ['skip-lock'] as const) : null,
    replay,
    out: values.out ?? null,
    json: values.json,
  };
}

const us = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(1)} us`);

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(w[c]!))).join('  ')).join('\n');
}

function traceText(r: TrialResult): string[] {
  const lines: string[] = [];
  r.results.forEach((res, a) => {
    lines.push(`  thread ${a}${res === null ? ' (died)' : ''}:`);
    for (const t of (res?.trace ?? []).slice(0, 40)) lines.push(`    ${t}`);
    if ((res?.trace?.length ?? 0) > 40) lines.push(`    ... ${res!.trace!.length - 40} more`);
    if (res?.error) lines.push(`    threw ${res.error}`);
  });
  return lines;
}

interface FailureReport {
  scenario: string;
  seed: number;
  outcome: string[];
  details: string[];
  reproduced: boolean;
  file: string | null;
  schedule: string;
  shrunk: { actors: number; ops: number; preemptions: number; schedule: string; trace: string[] } | null;
}

/** After a violation: make it replayable (controlled), shrink it, write the replay file. */
async function explain(a: StressArgs, failing: TrialResult, log: (s: string) => void): Promise<FailureReport> {
  const sc = scenarioByName(failing.spec.scenario)!;
  const pool = new StressPool(a.threads);
  try {
    let ctl: TrialResult | null = failing.spec.mode === 'controlled' ? failing : null;
    if (ctl === null) {
      log('reproducing under the controlled scheduler...');
      ctl = await reproduce(pool, sc, failing);
    }
    const report: FailureReport = {
      scenario: failing.spec.scenario,
      seed: failing.spec.seed,
      outcome: failing.check.outcomes.filter((o) => o.expectation === 'forbidden').map((o) => o.outcome),
      details: failing.check.details.slice(0, 10),
      reproduced: ctl !== null,
      file: null,
      schedule: ctl ? formatSchedule(ctl.schedule) : '',
      shrunk: null,
    };
    if (ctl === null) return report;
    log('shrinking...');
    const { trial } = await shrink(pool, sc, ctl);
    const file = a.out ?? `bufferevent-stress-${failing.spec.seed}.json`;
    writeFileSync(file, JSON.stringify(replayFile(trial), null, 1) + '\n');
    report.file = file;
    report.shrunk = {
      actors: trial.spec.actors,
      ops: trial.spec.ops,
      preemptions: preemptions(trial.schedule),
      schedule: formatSchedule(trial.schedule),
      trace: traceText(trial),
    };
    report.details = trial.check.details.slice(0, 10);
    return report;
  } finally {
    await pool.close();
  }
}

function summary(a: StressArgs, t: RunTotals, seconds: number, failure: FailureReport | null): Record<string, unknown> {
  return {
    ops: t.ops,
    bytes: t.bytes,
    lost: t.lost,
    duplicated: t.duplicated,
    reordered: t.reordered,
    torn: t.torn,
    violations: t.violations,
    seed: a.seed,
    mode: a.mode,
    deaths: t.deaths,
    recoveries: t.recoveries,
    trials: t.trials,
    seconds: Number(seconds.toFixed(3)),
    opsPerSecond: Math.round(t.ops / Math.max(seconds, 1e-9)),
    scheduleHash: a.mode === 'controlled' ? t.scheduleHash : null,
    lockWaitUs: percentiles(t.lockWait),
    lockHoldUs: percentiles(t.lockHold),
    outcomes: [...t.rows.values()],
    failure,
    environment: environment(),
  };
}

/** The `stress` command. Returns the exit code. */
export async function stress(a: StressArgs): Promise<number> {
  const tty = process.stderr.isTTY === true && !a.json;
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${s}\n`);
  };
  if (a.replay !== null) return replay(a, a.replay, log);
  let last = 0;
  const report = await runStress({
    threads: a.threads,
    seconds: a.seconds,
    ops: a.ops,
    seed: a.seed,
    mode: a.mode,
    scenarios: a.scenarios,
    killWorkers: a.killWorkers,
    inject: a.inject,
    onTrial(_r, t) {
      const now = performance.now();
      if (tty && now - last > 200) {
        last = now;
        process.stderr.write(`\r\x1b[K${t.trials} trials  ${t.ops} ops  ${t.deaths} deaths  ${t.violations} violations`);
      }
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const t = report.totals;
  const failure = report.firstFailure ? await explain(a, report.firstFailure, log) : null;
  const s = summary(a, t, report.seconds, failure);
  if (a.json) {
    console.log(JSON.stringify(s));
    return t.violations === 0 ? 0 : 1;
  }
  const rows = [['scenario', 'outcome', 'count', 'expectation']];
  for (const r of t.rows.values()) rows.push([r.scenario, r.outcome, String(r.count), r.expectation.toUpperCase()]);
  const lw = percentiles(t.lockWait);
  const lh = percentiles(t.lockHold);
  const env = environment();
  console.log(table(rows));
  console.log('');
  console.log(`mode ${a.mode}, seed ${a.seed}, ${a.threads} threads, ${t.trials} trials in ${report.seconds.toFixed(1)} s`);
  console.log(`${t.ops} operations (${Math.round(t.ops / Math.max(report.seconds, 1e-9))}/s), ${t.bytes} bytes checked`);
  console.log(`lost ${t.lost}, duplicated ${t.duplicated}, reordered ${t.reordered}, torn ${t.torn}, violations ${t.violations}`);
  console.log(`deaths ${t.deaths}, recoveries ${t.recoveries}`);
  console.log(`lock wait p50 ${us(lw.p50)} p99 ${us(lw.p99)} max ${us(lw.max)}; hold p50 ${us(lh.p50)} p99 ${us(lh.p99)} max ${us(lh.max)}`);
  if (a.mode === 'controlled') console.log(`schedule hash ${t.scheduleHash.toString(16)}`);
  console.log(`Node ${env.node}, V8 ${env.v8}, ${env.cpus} CPUs (${env.cpu}), ${env.platform}${(env.execArgv as string[]).length ? `, flags ${(env.execArgv as string[]).join(' ')}` : ''}`);
  if (failure) printFailure(failure);
  return t.violations === 0 ? 0 : 1;
}

function printFailure(f: FailureReport): void {
  console.log('');
  console.log(`VIOLATION in ${f.scenario} (trial seed ${f.seed}): ${f.outcome.join('; ')}`);
  for (const d of f.details) console.log(`  ${d}`);
  if (!f.reproduced) {
    console.log('not reproduced under the controlled scheduler; rerun with the same --seed in random mode');
    return;
  }
  console.log(`schedule (actor per step): ${f.schedule}`);
  if (f.shrunk) {
    console.log(`shrunk: ${f.shrunk.actors} threads, ${f.shrunk.ops} operations each, ${f.shrunk.preemptions} context switches`);
    console.log(`  schedule: ${f.shrunk.schedule}`);
    for (const l of f.shrunk.trace) console.log(l);
  }
  if (f.file) console.log(`replay: bufferevent stress --replay ${f.file}`);
}

async function replay(a: StressArgs, file: ReplayFile, log: (s: string) => void): Promise<number> {
  const sc = scenarioByName(file.spec.scenario)!;
  const pool = new StressPool(Math.max(file.spec.actors, 2));
  try {
    const r = await runTrial(pool, sc, { ...file.spec, mode: 'controlled' }, true);
    const forbidden = r.check.outcomes.filter((o) => o.expectation === 'forbidden').map((o) => o.outcome);
    if (a.json) {
      console.log(JSON.stringify({ scenario: file.spec.scenario, seed: file.spec.seed, outcome: r.check.outcomes, violations: r.counts.violations, reproduced: forbidden.length > 0, schedule: r.schedule.length, details: r.check.details }));
    } else {
      log(`replaying ${file.spec.scenario}: ${file.spec.actors} threads, ${file.spec.ops} operations, ${file.spec.schedule?.length ?? 0} steps`);
      for (const o of r.check.outcomes) console.log(`${o.expectation.toUpperCase()}: ${o.outcome}`);
      for (const d of r.check.details.slice(0, 10)) console.log(`  ${d}`);
      for (const l of traceText(r)) console.log(l);
      console.log(forbidden.length > 0 ? `reproduced (recorded: ${file.outcome.join('; ')})` : 'not reproduced: the recorded failure did not happen');
    }
    return forbidden.length > 0 ? 1 : 0;
  } finally {
    await pool.close();
  }
}
