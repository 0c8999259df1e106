// Benchmark runner: builds the libevent C baseline (when Debian's libevent-dev is installed), then runs each pair of
// programs one after the other (never two at once) and prints one line per figure plus its ratio to libevent.
// usage: npm run bench [-- -n SECONDS]      (dist/ must be built: `npm run bench` builds it first)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const nArg = process.argv.indexOf('-n');
const secs = nArg > 0 ? process.argv[nArg + 1] : '1';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const out = new Map();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\w+): ([\d.]+) (\S+)$/.exec(line.trim());
    if (m) out.set(m[1], { value: Number(m[2]), unit: m[3] });
  }
  return out;
}

execFileSync('bash', ['bench/c/build.sh'], { cwd: root, stdio: 'inherit' });
const haveC = existsSync(`${root}/bench/c/build/evbuffer_bench`);
console.log(`# machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);

const suites = [
  { c: ['bench/c/build/evbuffer_bench', ['-n', secs]], ts: [process.execPath, ['bench/evbuffer.ts', '-n', secs]] },
  { c: ['bench/c/build/socket_stream', ['-n', String(Math.max(2, Number(secs)))]], ts: [process.execPath, ['bench/socket.ts', '-n', String(Math.max(2, Number(secs)))]] },
  { c: ['bench/c/build/thread_bench', ['-n', secs]], ts: [process.execPath, ['bench/thread.ts', '-n', secs]] },
];
for (const s of suites) {
  const base = haveC ? run(...s.c) : new Map();
  const mine = run(...s.ts);
  for (const [name, v] of mine) {
    console.log(`${name}: ${v.value} ${v.unit}`);
    const b = base.get(name);
    if (b) {
      console.log(`${name}_libevent: ${b.value} ${b.unit}`);
      console.log(`${name}_ratio: ${(v.value / b.value).toFixed(3)} x`);
    }
  }
}

// The side-by-side echo matrix (bench/echo.mjs): this library against node:net, node:cluster and libevent.
const echo = spawnSync(process.execPath, ['bench/echo.mjs', '-n', String(Math.max(2, Number(secs)))], { cwd: root, encoding: 'utf8' });
process.stdout.write(echo.stdout);
if (echo.status !== 0) process.stderr.write(echo.stderr);
