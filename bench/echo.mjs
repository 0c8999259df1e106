// Multi-core echo server: the runtime (2 event-base workers, connections handed over from the main thread) against
// libevent's ev_echo with 2 worker threads (../shared/tools), under the same loads from loadgen. One line per figure
// and its ratio. Needs bench/c/build/{loadgen,ev_echo} (bash bench/c/build.sh). usage: node bench/echo.mjs [-n SECONDS]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRuntime } from '../dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const nArg = process.argv.indexOf('-n');
const secs = nArg > 0 ? process.argv[nArg + 1] : '3';
const build = `${root}/bench/c/build`;
if (!existsSync(`${build}/loadgen`) || !existsSync(`${build}/ev_echo`)) {
  console.log('# loadgen/ev_echo not built (bash bench/c/build.sh): skipping the echo benchmark');
  process.exit(0);
}
const loads = [
  { name: 'echo_pp_64', args: ['-m', 'pp', '-s', '64', '-c', '64'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'echo_stream_4096', args: ['-m', 'stream', '-s', '4096', '-c', '16'], field: 'MB_per_s', unit: 'MB/s' },
];
// asynchronous: the runtime's main thread must keep accepting and handing over connections meanwhile
async function load(port, args) {
  const p = spawn(`${build}/loadgen`, ['-p', String(port), ...args, '-d', secs, '-w', '0.5']);
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  await new Promise((r) => p.on('close', r));
  const m = /RESULT .*/.exec(out);
  if (!m) throw new Error(`loadgen failed: ${err}`);
  return Object.fromEntries(m[0].split(' ').slice(1).map((kv) => kv.split('=')));
}
const mine = {};
const rt = await startRuntime({ module: new URL('./fixtures/echo-module.js', import.meta.url), workers: 2 });
for (const l of loads) mine[l.name] = Number((await load(rt.port, l.args))[l.field]);
await rt.close();
const port = 19000 + Math.floor(Math.random() * 1000);
const ev = spawn(`${build}/ev_echo`, ['-p', String(port), '-t', '2', '-T', '120'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const theirs = {};
for (const l of loads) theirs[l.name] = Number((await load(port, l.args))[l.field]);
ev.kill();
for (const l of loads) {
  console.log(`${l.name}: ${mine[l.name]} ${l.unit}`);
  console.log(`${l.name}_libevent: ${theirs[l.name]} ${l.unit}`);
  console.log(`${l.name}_ratio: ${(mine[l.name] / theirs[l.name]).toFixed(3)} x`);
}
