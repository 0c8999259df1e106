// The side-by-side echo matrix: this library (one event base on the main thread, and the runtime with N event-base
// workers) against what a Node user would pick instead (node:net on one thread, node:cluster with N processes) and
// against libevent (ev_echo with one base and with -t N), all under the same load generator, in one run.
//
// usage: node bench/echo.mjs [-n SECONDS] [-r ROUNDS] [-t N] [--idle CONNS] [--servers a,b] [--loads a,b|none]
//                            [--quick] [--json]
//   Needs bench/c/build/loadgen (bash bench/c/build.sh, gcc); the libevent columns need Debian's libevent-dev
//   (apt-get install -y libevent-dev) and are skipped with a note without it. dist/ must be built (npm run build).
//
// Rounds run the servers in rotating order (round r starts with server r); each figure is the median over rounds
// with min-max. Server CPU per message is the server's user+system time (all its threads and child processes, from
// /proc) over the loadgen run, divided by the messages echoed in it. Idle memory: N connections that each echoed one
// byte and stay open; the figure is the server's RSS growth per connection (all its processes).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { root, options, machine, cpuUs, rssKb, median, fmt } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = options(argv);
const quick = argv.includes('--quick');
const json = argv.includes('--json');
const secs = Number(opt('-n', quick ? '1' : '2'));
const rounds = Number(opt('-r', quick ? '1' : '3'));
const threads = Number(opt('-t', String(Math.min(2, os.availableParallelism()))));
const idleConns = Number(opt('--idle', quick ? '1000' : '10000'));
const warm = quick ? 0.3 : 0.5;
const build = `${root}/bench/c/build`;
const log = (s) => {
  if (!json) console.log(s);
};

if (!existsSync(`${build}/loadgen`)) {
  console.log('# loadgen not built (bash bench/c/build.sh): skipping the echo matrix');
  process.exit(0);
}
const haveLibevent = existsSync(`${build}/ev_echo`);
if (!haveLibevent) log('# libevent columns skipped: apt-get install -y libevent-dev, then bash bench/c/build.sh');

const node = process.execPath;
const allServers = [
  { name: 'bev-base', cmd: (p) => [node, ['bench/servers/bev-base.mjs', String(p)]] },
  { name: `bev-runtime-${threads}`, cmd: (p) => [node, ['bench/servers/bev-runtime.mjs', String(p), String(threads)]] },
  { name: 'net', cmd: (p) => [node, ['bench/servers/net.mjs', String(p)]] },
  { name: `cluster-${threads}`, cmd: (p) => [node, ['bench/servers/net.mjs', String(p), String(threads)]] },
  // the command a user runs (npm start), with its default bounds (idle timeout, watermarks, output cap)
  { name: `serve-${threads}`, cmd: (p) => [node, ['dist/cli.js', 'serve', '--threads', String(threads), '--port', String(p), '--quiet', '--max-conns', '100000']] },
  ...(haveLibevent
    ? [
        { name: 'libevent', cmd: (p) => [`${build}/ev_echo`, ['-p', String(p), '-T', '3600']] },
        { name: `libevent-t${threads}`, cmd: (p) => [`${build}/ev_echo`, ['-p', String(p), '-t', String(threads), '-T', '3600']] },
      ]
    : []),
];
const allLoads = [
  { name: 'pp_64x64', args: ['-m', 'pp', '-s', '64', '-c', '64'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_1024x64', args: ['-m', 'pp', '-s', '1024', '-c', '64'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_4096x64', args: ['-m', 'pp', '-s', '4096', '-c', '64'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_16384x64', args: ['-m', 'pp', '-s', '16384', '-c', '64'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_64x1', args: ['-m', 'pp', '-s', '64', '-c', '1'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_1024x1', args: ['-m', 'pp', '-s', '1024', '-c', '1'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_4096x1', args: ['-m', 'pp', '-s', '4096', '-c', '1'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'pp_16384x1', args: ['-m', 'pp', '-s', '16384', '-c', '1'], field: 'msgs_per_s', unit: 'rt/s' },
  { name: 'stream_64x16', args: ['-m', 'stream', '-s', '64', '-c', '16'], field: 'MB_per_s', unit: 'MB/s' },
  { name: 'stream_4096x16', args: ['-m', 'stream', '-s', '4096', '-c', '16'], field: 'MB_per_s', unit: 'MB/s' },
];

const pick = (list, flag) => {
  const v = opt(flag, null);
  return v === null ? list : list.filter((x) => v.split(',').includes(x.name));
};
const servers = pick(allServers, '--servers');
const loads = pick(allLoads, '--loads');

// ---- running things -----------------------------------------------------------------------------------------------
let nextPort = 20000 + Math.floor(Math.random() * 20000);
async function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
async function startServer(srv) {
  const port = nextPort++;
  const [cmd, args] = srv.cmd(port);
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 200 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 25));
  if (!(await canConnect(port))) throw new Error(`${srv.name} did not start: ${err}`);
  return { child, port };
}
async function stopServer(s) {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}
async function loadgen(port, args) {
  const p = spawn(`${build}/loadgen`, ['-p', String(port), ...args, '-d', String(secs), '-w', String(warm)]);
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  await new Promise((r) => p.on('close', r));
  const m = /RESULT .*/.exec(out);
  if (!m) throw new Error(`loadgen failed: ${err}`);
  return Object.fromEntries(m[0].split(' ').slice(1).map((kv) => kv.split('=')));
}
/** N connections that each echo one byte and stay open; returns the RSS growth per connection in bytes. */
async function idleMemory(pid, port, n, sourceAddr) {
  await new Promise((r) => setTimeout(r, 500)); // the server settles after start-up
  const before = rssKb(pid);
  const socks = [];
  const BATCH = 200;
  for (let i = 0; i < n; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(n, i + BATCH); k++) {
      batch.push(
        new Promise((resolve, reject) => {
          const s = net.connect({ port, host: '127.0.0.1', localAddress: sourceAddr });
          s.once('error', reject);
          s.once('connect', () => s.write('x'));
          s.once('data', () => resolve(s));
        }),
      );
    }
    socks.push(...(await Promise.all(batch)));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKb(pid);
  for (const s of socks) s.destroy();
  return ((after - before) * 1024) / n;
}

// ---- the matrix ---------------------------------------------------------------------------------------------------
const results = {}; // results[load][server] = [{ value, p50, p99, cpuUsPerMsg }]
const idle = {};
for (let r = 0; r < rounds; r++) {
  const order = servers.map((_, i) => servers[(i + r) % servers.length]);
  for (const srv of order) {
    const s = await startServer(srv);
    for (const l of loads) {
      const c0 = cpuUs(s.child.pid);
      const res = await loadgen(s.port, l.args);
      const c1 = cpuUs(s.child.pid);
      const msgs = Number(res.msgs_per_s) * (secs + warm);
      ((results[l.name] ??= {})[srv.name] ??= []).push({
        value: Number(res[l.field]),
        p50: Number(res.p50_us),
        p99: Number(res.p99_us),
        cpuUsPerMsg: msgs > 0 ? (c1 - c0) / msgs : NaN,
      });
    }
    await stopServer(s);
  }
}
// idle memory on a fresh server of each kind (memory freed by earlier loads would hide the growth)
if (idleConns > 0) {
  for (const srv of servers) {
    const s = await startServer(srv);
    idle[srv.name] = await idleMemory(s.child.pid, s.port, idleConns, `127.0.0.${2 + servers.indexOf(srv)}`);
    await stopServer(s);
  }
}

const summary = { machine: machine(), node: process.version, date: new Date().toISOString(), secs, rounds, threads, loads: {}, idleBytesPerConn: idle };
log(`# machine: ${summary.machine}, node ${summary.node}, ${summary.date}; ${rounds} rounds x ${secs} s, rotating order`);
for (const l of loads) {
  const row = {};
  for (const srv of servers) {
    const xs = results[l.name][srv.name];
    row[srv.name] = {
      median: median(xs.map((x) => x.value)),
      min: Math.min(...xs.map((x) => x.value)),
      max: Math.max(...xs.map((x) => x.value)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      cpuUsPerMsg: median(xs.map((x) => x.cpuUsPerMsg)),
    };
  }
  const best = Math.max(...Object.values(row).map((x) => x.median));
  summary.loads[l.name] = row;
  for (const srv of servers) {
    const x = row[srv.name];
    log(
      `${l.name} ${srv.name}: ${fmt(x.median)} ${l.unit} (${fmt(x.min)}-${fmt(x.max)}), p50 ${fmt(x.p50)} us, p99 ${fmt(x.p99)} us, ` +
        `cpu ${x.cpuUsPerMsg.toFixed(2)} us/msg, ${(x.median / best).toFixed(2)}x best`,
    );
  }
}
for (const srv of servers) if (idle[srv.name] !== undefined) log(`idle_${idleConns} ${srv.name}: ${Math.round(idle[srv.name])} B/conn`);

// the ratios the project aims at (those whose servers and loads ran)
const ran = (load, ...names) => summary.loads[load] !== undefined && names.every((n) => summary.loads[load][n] !== undefined);
const ratio = (load, a, b) => summary.loads[load][a].median / summary.loads[load][b].median;
const rt = `bev-runtime-${threads}`;
const cl = `cluster-${threads}`;
const lines = [];
// the runtime against the fastest of what a user would pick instead of it: libevent (one base or N threads) or cluster
const rivals = [cl, 'libevent', `libevent-t${threads}`];
for (const load of ['pp_64x64', 'pp_4096x64']) {
  const present = rivals.filter((n) => ran(load, n));
  if (!ran(load, rt) || present.length === 0) continue;
  const best = present.reduce((a, b) => (summary.loads[load][a].median >= summary.loads[load][b].median ? a : b));
  lines.push(`target ${load}: ${rt} / fastest of ${present.join(', ')} (${best}) = ${ratio(load, rt, best).toFixed(2)}x (>= 0.95x)`);
}
for (const load of ['stream_4096x16', 'stream_64x16']) if (ran(load, rt, cl)) lines.push(`target ${load}: ${rt} / ${cl} = ${ratio(load, rt, cl).toFixed(2)}x (>= 1.1x)`);
const oneConnection = (l) => l.args[l.args.indexOf('-c') + 1] === '1';
for (const l of loads) {
  if (!ran(l.name, 'bev-base', 'net')) continue;
  if (!oneConnection(l)) {
    lines.push(`target ${l.name}: bev-base / net = ${ratio(l.name, 'bev-base', 'net').toFixed(2)}x (>= 1.0x)`);
    continue;
  }
  // one connection: round trips at least 0.9x net's, p99 at most 2x net's, on one base and in the runtime
  for (const name of ['bev-base', rt].filter((n) => ran(l.name, n))) {
    const p99 = summary.loads[l.name][name].p99 / summary.loads[l.name].net.p99;
    lines.push(`target ${l.name}: ${name} / net = ${ratio(l.name, name, 'net').toFixed(2)}x round trips (>= 0.9x), p99 ${p99.toFixed(2)}x (<= 2x)`);
  }
}
if (idle.net) {
  for (const name of ['bev-base', rt]) if (idle[name] !== undefined) lines.push(`target idle: ${name} / net = ${(idle[name] / idle.net).toFixed(2)}x memory per connection (<= 2x)`);
}
summary.targets = lines;
for (const t of lines) log(t);
if (json) console.log(JSON.stringify(summary));
