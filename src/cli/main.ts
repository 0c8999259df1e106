#!/usr/bin/env node
/**
 * The `bufferevent` command: `serve` (the multi-core echo/chat/proxy server), `bench` (the side-by-side benchmarks
 * of a clone's bench/ directory), `--version`, `--help`. Bad usage prints one line and exits with code 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './args.ts';
import { MIN_NODE, atLeast } from '../node-version.ts';
import { parseServe, serve, serveHelp } from './serve.ts';

/** The package root: two levels up from src/cli/, one from dist/. */
const root = new URL(import.meta.url.endsWith('.ts') ? '../../' : '../', import.meta.url);

const help = `Usage: bufferevent <command> [options]

Commands:
  serve     a multi-core echo, chat or proxy server on shared bufferevents (bufferevent serve --help)
  stress    the thread-safety stress tester: seeded scenarios, replayable failures (bufferevent stress --help)
  bench     the side-by-side benchmarks against node:net, node:cluster and libevent (bufferevent bench --help)

Options:
  --version     print the version
  -h, --help    this text`;

const benchHelp = `Usage: bufferevent bench [--quick] [--json]

Runs the benchmarks of bench/ in a clone of the repository, one after the other (never two at once): the echo matrix
(bench/echo.mjs: this library's one base and runtime against node:net, node:cluster and libevent under the load
generator) and the chat fan-out (bench/chat.mjs). The C load generator and libevent's echo server are built by
bench/c/build.sh (needs a C compiler and libevent-dev).

  --quick       short rounds
  --json        one JSON object { echo, chat } on stdout
  -h, --help    this text`;

function version(): string {
  return (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;
}

function bench(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log(benchHelp);
    return 0;
  }
  const dir = fileURLToPath(new URL('bench/', root));
  const scripts = ['echo.mjs', 'chat.mjs'].map((s) => dir + s);
  const missing = scripts.filter((s) => !existsSync(s));
  if (missing.length > 0) {
    console.error(`bufferevent bench: ${missing.join(', ')} not found: the benchmarks run from a clone of the repository`);
    return 1;
  }
  const flags = [...(values.quick ? ['--quick'] : []), ...(values.json ? ['--json'] : [])];
  const out: Record<string, unknown> = {};
  for (const s of scripts) {
    const r = spawnSync(process.execPath, [s, ...flags], { stdio: ['ignore', values.json ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`bufferevent bench: ${s} failed (exit ${r.status ?? r.signal})`);
      return 1;
    }
    if (values.json) out[s.endsWith('echo.mjs') ? 'echo' : 'chat'] = JSON.parse(r.stdout);
  }
  if (values.json) console.log(JSON.stringify(out));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (!atLeast(process.versions.node, MIN_NODE)) {
    console.error(`bufferevent: needs Node >= ${MIN_NODE}; this is Node ${process.versions.node}`);
    return 1;
  }
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    console.error(help);
    return 2;
  }
  if (cmd === '--help' || cmd === '-h') {
    console.log(help);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(version());
    return 0;
  }
  if (cmd === 'serve') {
    const o = parseServe(rest);
    if (o === null) {
      console.log(serveHelp);
      return 0;
    }
    return serve(o);
  }
  if (cmd === 'stress') {
    // loaded here, after the version check: the stress engine loads the library itself
    const { parseStress, stress, stressHelp } = await import('./stress.ts');
    const o = parseStress(rest);
    if (o === null) {
      console.log(stressHelp);
      return 0;
    }
    return stress(o);
  }
  if (cmd === 'bench') return bench(rest);
  throw new UsageError(`unknown command ${JSON.stringify(cmd)} (commands: serve, stress, bench)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`bufferevent: ${(e as Error).message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(1);
  },
);
