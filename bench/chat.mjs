// The chat fan-out matrix: every line a client sends reaches every other client. This library's chat server
// (`dist/cli.js serve --mode chat`, N event-base threads) against what a Node user would write instead (node:net on one
// thread: bench/servers/chat-net.mjs; node:cluster with N processes relaying through the primary with process.send:
// bench/servers/chat-cluster.mjs), all under the same client driver, in one run.
//
// usage: node bench/chat.mjs [--quick] [--json] [--servers bev,net,cluster] [-r ROUNDS] [-t N] [--clients C]
//                            [--lines L] [--warm L] [--window W] [--batch B] [--size BYTES] [--timeout SECONDS]
//   Defaults: 64 clients x 1000 lines of 64 B (+50 warm-up each), window 8, batch 1, 3 rounds, N = 2 threads/processes
//   (a timed phase of ~2-3 s per run at ~2M deliveries/s). --quick: 100 lines (+20 warm-up), 1 round: a smoke run,
//   its timed phase is ~0.25 s. dist/cli.js must be built (npm run build) for the bev column; without it that column
//   is skipped with a note. Exits 1 if a server fails to start, dies, or loses, splits, reorders or repeats a line
//   (that server is then left out of later rounds and of the figures; the others still run).
//   Every server is started on port 0 and must print `listening on 127.0.0.1:PORT` on stdout once it accepts (the
//   CLI's convention; the echo servers' "ready" is not used here), and should exit 0 on SIGTERM (a note says if not).
//   Each runs in its own process group, SIGTERMed (8 s grace: the CLI drains queued output for up to 5 s) and then
//   SIGKILLed whole at the end of its run, on error and when this script exits (Ctrl-C included); a server has 15 s to
//   start, a run --timeout seconds (300), and the clients fail a run that makes no progress for 10 s, naming the
//   receivers and lines missing.
//
// The clients: one child process (this file with --client) holds all C connections (TCP_NODELAY), so send and
// receive timestamps come from one clock (performance.now(), in us). Each line is `M` sender(3) seq(7)
// send-time-us(15) padding `\n`, fixed-size; a receiver checks every line's length, digits and padding, that it is
// not its own, and that each sender's sequence numbers arrive 0, 1, 2, ... with no gap, repeat or reorder; at the
// end every receiver must have had every line of every other sender. Any violation fails the run with the line seen.
//
// Pacing (a closed loop): a line counts as delivered once all C-1 receivers have seen it (one shared counter per
// in-flight line, in the client process); each sender keeps at most W of its own lines sent and not yet delivered,
// and sends the next ones as its lines complete (checked after each read the client parses), one line per write by
// default (--batch B: up to B per write; "lines/write" in the output). Each sender's lines complete in order (a
// receiver that saw line q+1 saw line q), so a ring of W counters per sender is enough. The most a server can have
// queued is therefore C x W lines x (C-1) receivers (64 x 8 x 63 x 64 B = 2 MB by default), for every server alike.
// Latency is from the sender's write call to the receiving client parsing the line, so it includes the client
// process's own queueing; by Little's law it is bounded by about C x W x (C-1) / (deliveries per second): a figure
// of the window, to compare between servers, not with an open-loop chat. W (and B) set how many lines a server finds
// per read and so how much it batches: node:net on the 2-core machine, one run each, 400 lines: W=2 0.37M
// deliveries/s at 1.7 us CPU/delivery, W=8 1.3-2.0M at 0.4-0.6 us, W=32 2.3M at 0.2 us (client-bound, below); W=32
// with B=32 3.7M at 0.1 us. Compare servers at one W and B.
//
// Before the timed phase: all C connect; every client sends one `Y` line (re-sent every 100 ms until each client
// has seen one from every other: the server has registered every connection); then a warm-up of --warm lines per
// client (same sequence numbers, verified, not timed). The timed phase starts once the server's CPU time is read.
//
// Figures per server, medians over rounds (throughput with min-max): deliveries per second (lines x (C-1) / the
// timed phase's wall time), p50 and p99 delivery latency, server CPU per delivery (user+system time of all its
// threads and processes from /proc over the timed phase / deliveries; x (C-1) for per line sent), the server's
// average cores busy, its peak RSS (all its processes, sampled every 200 ms from start to stop), the client
// process's cores busy, lines per client write and per client read (how much the server gathers into one write to a
// receiver, as the receiver sees it), and the whole machine's busy cores over the timed phase (/proc/stat;
// softirq, most of loopback TCP, is counted there and in no process; "other processes" is the rest: anything else
// running on the machine, with a note when it passes 0.25 cores; steal shown if any). Rounds run the servers in
// rotating order (round r starts with server r), each on a fresh server process. Ratios: bev / cluster, bev / net.
//
// Is one client process the bottleneck? It is one Node thread that reads and parses every delivery: ~0.25 us of
// JavaScript plus ~0.18 us of system time per delivery, so it saturates its core near 2.3M deliveries/s (W=32
// above: client 0.98 cores). At the default W=8 it ran at 0.6-0.95 cores against node:net and node:cluster, with the
// machine 1.7-1.9 of 2 cores busy (server + client + ~0.2 softirq): the figures are those of a whole saturated
// 2-core machine of which the client takes ~40%, and a server with 2 threads (bev, cluster) competes with it for the
// cores. More client processes would not help on 2 cores (same work, and they would lose the shared clock). Read
// "client ... cores" (near 1.0: the figure is the client's) and CPU per delivery, the figure least dependent on it.
import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { root, options, machine, machineCpuUs, descendants, cpuUs, rssKbOf, median, spread, fmtRate } from './lib.mjs';

const argv = process.argv.slice(2);
if (argv[0] === '--client') await clientMain();
else await driverMain();

// ==== the client process ===========================================================================================
async function clientMain() {
  const cfg = await new Promise((r) => process.once('message', r));
  process.on('disconnect', () => process.exit(1)); // the driver is gone
  const { port, clients: N, window: W, batch: B, size: L, warm, lines, stall } = cfg;
  const total = warm + lines;
  const PAD = L - 30;
  const pads = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i).repeat(PAD));
  const padByte = (s, q) => 97 + ((s * 7 + q) % 26);
  const line = (kind, s, q, ts) =>
    `${kind}${String(s).padStart(3, '0')} ${String(q).padStart(7, '0')} ${String(ts).padStart(15, '0')} ${pads[(s * 7 + q) % 26]}\n`;
  const nowUs = () => Math.floor(performance.now() * 1000);

  const socks = new Array(N);
  const rest = new Array(N).fill(null); // a partial line at the end of a receiver's last read
  const sent = new Int32Array(N);
  const acked = new Int32Array(N); // lines of sender s seen by all N-1 receivers
  const limit = new Int32Array(N); // the current phase sends lines [.., limit)
  const next = new Int32Array(N * N); // next[r*N+s]: the sequence number receiver r expects from sender s
  const cnt = new Uint16Array(N * W); // receivers that saw in-flight line q of sender s: cnt[s*W + q%W]
  const seenY = new Uint8Array(N * N);
  let ySeen = 0;
  let delivered = 0; // M lines received, over all receivers
  let doneSenders = 0;
  let timedFrom = Infinity; // latency is recorded for lines with seq >= timedFrom
  const lat = new Float32Array(N * (N - 1) * lines); // us; exact to 16 s
  let nLat = 0;
  let writes = 0; // client writes in the timed phase
  let reads = 0; // reads (data events) of the clients in the timed phase
  let readBytes = 0;
  const dirty = [];
  const isDirty = new Uint8Array(N);
  let phase = 'connect';
  let onPhaseDone = null;
  let failed = false;
  let closing = false;

  function fail(message) {
    if (failed) return;
    failed = true;
    closing = true;
    for (const s of socks) s?.destroy();
    process.send({ type: 'error', message: `client (${phase}): ${message}` }, () => process.exit(1));
  }
  const show = (data, a, b) => JSON.stringify(data.toString('latin1', a, Math.min(b + 1, a + 200)));
  const bad = (r, data, pos, nl, what) => fail(`receiver ${r}, line ${show(data, pos, nl)}: ${what}`);
  const digits = (data, off, n) => {
    let v = 0;
    for (let i = off; i < off + n; i++) {
      const c = data[i] - 48;
      if (c < 0 || c > 9) return -1;
      v = v * 10 + c;
    }
    return v;
  };

  function sendMore(s, ts) {
    while (sent[s] < limit[s] && sent[s] - acked[s] < W) {
      let out = '';
      for (let k = 0; k < B && sent[s] < limit[s] && sent[s] - acked[s] < W; k++) out += line('M', s, sent[s]++, ts);
      socks[s].write(out, 'latin1');
      if (timedFrom !== Infinity) writes++;
    }
  }
  function flush() {
    if (dirty.length === 0) return;
    const ts = nowUs();
    for (const s of dirty) {
      isDirty[s] = 0;
      sendMore(s, ts);
    }
    dirty.length = 0;
  }

  function onData(r, buf) {
    if (failed) return;
    const now = performance.now() * 1000;
    if (timedFrom !== Infinity) {
      reads++;
      readBytes += buf.length;
    }
    let data = buf;
    if (rest[r] !== null) {
      data = Buffer.concat([rest[r], buf]);
      rest[r] = null;
    }
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) break;
      if (nl - pos + 1 !== L) return bad(r, data, pos, nl, `${nl - pos + 1} bytes, expected ${L} (a split or merged line)`);
      const kind = data[pos];
      const s = digits(data, pos + 1, 3);
      const q = digits(data, pos + 5, 7);
      const ts = digits(data, pos + 13, 15);
      if (s < 0 || q < 0 || ts < 0 || data[pos + 4] !== 32 || data[pos + 12] !== 32 || data[pos + 28] !== 32) return bad(r, data, pos, nl, `malformed`);
      if (PAD > 0 && (data[pos + 29] !== padByte(s, q) || data[nl - 1] !== padByte(s, q))) return bad(r, data, pos, nl, `corrupt padding`);
      if (s >= N) return bad(r, data, pos, nl, `no sender ${s}`);
      if (s === r) return bad(r, data, pos, nl, `its own line came back`);
      if (kind === 89 /* Y */) {
        if (!seenY[r * N + s]) {
          seenY[r * N + s] = 1;
          ySeen++;
        }
      } else if (kind === 77 /* M */) {
        const k = r * N + s;
        if (q !== next[k]) return bad(r, data, pos, nl, `line ${q} from sender ${s} where ${next[k]} was due (${q > next[k] ? 'a gap' : 'a repeat or reorder'})`);
        next[k] = q + 1;
        delivered++;
        if (q >= timedFrom) lat[nLat++] = now - ts;
        const slot = s * W + (q % W);
        if (++cnt[slot] === N - 1) {
          cnt[slot] = 0;
          if (acked[s] !== q) return bad(r, data, pos, nl, `line ${q} of sender ${s} completed before line ${acked[s]} (internal)`);
          acked[s] = q + 1;
          if (acked[s] === limit[s]) doneSenders++;
          else if (!isDirty[s]) {
            isDirty[s] = 1;
            dirty.push(s);
          }
        }
      } else return bad(r, data, pos, nl, `unknown line kind`);
      pos = nl + 1;
    }
    if (pos < data.length) rest[r] = data.subarray(pos);
    flush();
    if (onPhaseDone && (phase === 'sync' ? ySeen === N * (N - 1) : doneSenders === N)) {
      const f = onPhaseDone;
      onPhaseDone = null;
      f();
    }
  }

  // no progress for `stall` seconds: fail with who is missing what
  let lastProgress = -1;
  let idleSecs = 0;
  setInterval(() => {
    const p = delivered + ySeen;
    idleSecs = p === lastProgress && onPhaseDone ? idleSecs + 1 : 0;
    lastProgress = p;
    if (idleSecs < stall) return;
    let missing = 0;
    const worst = [];
    for (let r = 0; r < N; r++) {
      for (let s = 0; s < N; s++) {
        if (s === r) continue;
        const m = phase === 'sync' ? 1 - seenY[r * N + s] : sent[s] - next[r * N + s];
        if (m > 0) {
          missing += m;
          if (worst.length < 5) worst.push(`receiver ${r} lacks ${phase === 'sync' ? 'a Y line' : `lines ${next[r * N + s]}..${sent[s] - 1}`} from sender ${s}`);
        }
      }
    }
    fail(`no progress for ${stall} s: ${missing} deliveries missing (${worst.join('; ')})`);
  }, 1000).unref();

  const phaseDone = () => new Promise((r) => (onPhaseDone = r));

  // connect
  await Promise.all(
    Array.from(
      { length: N },
      (_, r) =>
        new Promise((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
          socks[r] = s;
          s.once('connect', resolve);
          s.on('data', (d) => onData(r, d));
          s.on('error', (e) => fail(`connection ${r}: ${e.message}`));
          s.on('close', () => {
            if (!closing) fail(`the server closed connection ${r}`);
          });
        }),
    ),
  );
  // sync: every connection registered
  phase = 'sync';
  const sync = () => {
    for (let s = 0; s < N; s++) socks[s].write(line('Y', s, 0, 0), 'latin1');
  };
  const syncDone = phaseDone();
  sync();
  const resync = setInterval(sync, 100);
  await syncDone;
  clearInterval(resync);
  // warm-up
  const runPhase = async (upTo) => {
    doneSenders = 0;
    limit.fill(upTo);
    const done = phaseDone();
    const ts = nowUs();
    for (let s = 0; s < N; s++) sendMore(s, ts);
    await done;
  };
  if (warm > 0) {
    phase = 'warm-up';
    await runPhase(warm);
  }
  process.send({ type: 'ready' });
  await new Promise((r) => process.once('message', r)); // go
  phase = 'timed';
  timedFrom = warm;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await runPhase(total);
  const t1 = performance.now();
  const c = process.cpuUsage(c0);
  process.send({ type: 'end' }); // the driver reads the server's and the machine's CPU now, before the checks below
  // verify the totals (each line was checked on arrival; this checks that none is missing)
  for (let r = 0; r < N; r++) {
    for (let s = 0; s < N; s++) {
      if (s !== r && next[r * N + s] !== total) return fail(`receiver ${r} has ${next[r * N + s]} of sender ${s}'s ${total} lines`);
    }
  }
  if (delivered !== N * (N - 1) * total || nLat !== lat.length) return fail(`${delivered} deliveries, expected ${N * (N - 1) * total}`);
  lat.sort();
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  closing = true;
  for (const s of socks) s.destroy();
  process.send(
    {
      type: 'done',
      secs: (t1 - t0) / 1000,
      deliveries: lat.length,
      p50Us: pct(0.5),
      p99Us: pct(0.99),
      maxUs: lat[lat.length - 1],
      clientCores: (c.user + c.system) / 1000 / (t1 - t0),
      linesPerWrite: (N * lines) / writes,
      linesPerRead: readBytes / L / reads,
    },
    () => process.exit(0),
  );
}

// ==== the driver ===================================================================================================
async function driverMain() {
  const opt = options(argv);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: node bench/chat.mjs [--quick] [--json] [--servers bev,net,cluster] [-r ROUNDS] [-t N] [--clients C] [--lines L] [--warm L] [--window W] [--batch B] [--size BYTES] [--timeout SECONDS]');
    return;
  }
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const rounds = Number(opt('-r', quick ? '1' : '3'));
  const threads = Number(opt('-t', '2'));
  const cfg = {
    clients: Number(opt('--clients', '64')),
    lines: Number(opt('--lines', quick ? '100' : '1000')),
    warm: Number(opt('--warm', quick ? '20' : '50')),
    window: Number(opt('--window', '8')),
    batch: Number(opt('--batch', '1')),
    size: Number(opt('--size', '64')),
    stall: 10,
  };
  const timeoutS = Number(opt('--timeout', '300'));
  if (!(cfg.clients >= 2 && cfg.clients <= 999 && cfg.size >= 30 && cfg.window >= 1 && cfg.window < 65536 && cfg.batch >= 1 && cfg.lines >= 1 && cfg.warm + cfg.lines < 1e7)) {
    throw new Error('need 2 <= --clients <= 999, --size >= 30, 1 <= --window < 65536, --batch >= 1, --lines >= 1, lines + warm-up < 10^7');
  }
  const log = (s) => {
    if (!json) console.log(s);
  };
  const notes = [];
  const note = (s) => {
    notes.push(s);
    if (!json) console.log(`# ${s}`);
  };

  // ---- processes: every server in its own process group, killed whole at the end, on error and on exit ----------
  const live = new Set(); // { child, group }
  const killAll = () => {
    for (const l of live) {
      try {
        process.kill(l.group ? -l.child.pid : l.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

  const node = process.execPath;
  const cli = `${root}dist/cli.js`;
  const allServers = [
    { name: 'bev', cmd: [node, ['dist/cli.js', 'serve', '--mode', 'chat', '--threads', String(threads), '--port', '0', '--quiet']], desc: `dist/cli.js serve --mode chat --threads ${threads}` },
    { name: 'net', cmd: [node, ['bench/servers/chat-net.mjs', '0']], desc: 'bench/servers/chat-net.mjs (one thread)' },
    { name: 'cluster', cmd: [node, ['bench/servers/chat-cluster.mjs', '0', String(threads)]], desc: `bench/servers/chat-cluster.mjs, ${threads} processes` },
  ];
  const want = opt('--servers', null)?.split(',');
  for (const w of want ?? []) if (!allServers.some((s) => s.name === w)) throw new Error(`no server ${w} (bev, net, cluster)`);
  let servers = allServers.filter((s) => !want || want.includes(s.name));
  if (servers.some((s) => s.name === 'bev') && !existsSync(cli)) {
    note('bev skipped: dist/cli.js does not exist (npm run build)');
    servers = servers.filter((s) => s.name !== 'bev');
  }
  if (servers.length === 0) {
    note('no server to run');
    if (json) console.log(JSON.stringify({ notes }));
    return;
  }

  const tail = (s) => (s.length > 2000 ? `...${s.slice(-2000)}` : s).trim();
  async function startServer(srv) {
    const [cmd, args] = srv.cmd;
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const s = { srv, child, group: true, port: 0, pids: [], err: '', exit: null, stopping: false };
    live.add(s);
    s.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        s.exit = { code, signal };
        r();
      }),
    );
    child.stderr.on('data', (d) => (s.err = (s.err + d).slice(-8000)));
    let out = '';
    try {
      s.port = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no "listening on 127.0.0.1:PORT" on stdout within 15 s')), 15000);
        child.once('error', (e) => reject(e));
        child.stdout.on('data', (d) => {
          if (s.port) return; // keep draining, stop collecting
          out += d;
          const m = /listening on [\d.]+:(\d+)/.exec(out);
          if (m) {
            clearTimeout(t);
            s.port = Number(m[1]);
            resolve(s.port);
          }
        });
        s.exited.then(() => reject(new Error(`it exited (${s.exit.signal ?? `code ${s.exit.code}`}) before listening`)));
      });
    } catch (e) {
      await stopServer(s);
      throw new Error(`${srv.name} did not start (${srv.cmd[1].join(' ')}): ${e.message}${s.err ? `\n${tail(s.err)}` : ''}${out ? `\nstdout: ${tail(out)}` : ''}`);
    }
    s.pids = descendants(child.pid);
    return s;
  }
  const STOP_GRACE_MS = 8000; // the CLI drains queued output for up to 5 s on SIGTERM
  async function stopServer(s) {
    s.stopping = true;
    if (s.child.pid === undefined) return void live.delete(s); // never started
    if (!s.exit) {
      s.child.kill('SIGTERM');
      let killed = false;
      const t = setTimeout(() => {
        killed = true;
        try {
          process.kill(-s.child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, STOP_GRACE_MS);
      await s.exited;
      clearTimeout(t);
      if (killed) note(`${s.srv.name} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM: killed`);
      else if (s.exit.code !== 0) note(`${s.srv.name} exited with ${s.exit.signal ?? `code ${s.exit.code}`} on SIGTERM (expected 0)`);
    }
    try {
      process.kill(-s.child.pid, 'SIGKILL'); // whatever is left of its process group (cluster workers)
    } catch {
      // none left
    }
    live.delete(s);
  }

  /** One timed run against a started server: the client process, the server's CPU over the timed phase, peak RSS. */
  function runClients(s) {
    return new Promise((resolve, reject) => {
      const client = fork(fileURLToPath(import.meta.url), ['--client'], { cwd: root, stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv: [] });
      const l = { child: client, group: false };
      live.add(l);
      let err = '';
      client.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
      let peakKb = 0;
      const poll = setInterval(() => (peakKb = Math.max(peakKb, rssKbOf(s.pids))), 200);
      let [c0, c1, m0, m1, w0, w1] = [0, 0, null, null, 0, 0]; // server CPU, machine CPU, wall (ms) at go and end
      let settled = false;
      const finish = (e, v) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        clearTimeout(hard);
        if (e) {
          try {
            client.kill('SIGKILL');
          } catch {
            // gone
          }
        }
        live.delete(l);
        if (e) reject(e);
        else {
          // a client that said it is done exits at once; one that does not must not keep this script alive
          if (client.exitCode === null && client.signalCode === null) {
            const stuck = setTimeout(() => {
              note('a client process did not exit after its run: killed');
              client.kill('SIGKILL');
            }, 5000);
            client.once('exit', () => clearTimeout(stuck));
          }
          resolve(v);
        }
      };
      const hard = setTimeout(() => finish(new Error(`timed out after ${timeoutS} s (--timeout)`)), timeoutS * 1000);
      const serverDied = () => `the server exited during the run (${s.exit.signal ?? `code ${s.exit.code}`})${s.err ? `:\n${tail(s.err)}` : ''}`;
      s.exited.then(() => {
        if (!s.stopping) finish(new Error(serverDied()));
      });
      // a client error may be the first sign of a server that died: give its exit a moment to arrive, then say so
      const clientFailed = (msg) => setTimeout(() => finish(new Error(s.exit ? `${serverDied()}\n(${msg})` : msg)), 300);
      client.on('message', (m) => {
        if (m.type === 'ready') {
          c0 = cpuUs(s.child.pid);
          m0 = machineCpuUs();
          w0 = performance.now();
          client.send('go');
        } else if (m.type === 'end') {
          c1 = cpuUs(s.child.pid);
          m1 = machineCpuUs();
          w1 = performance.now();
        } else if (m.type === 'done') {
          const wall = (w1 - w0) / 1000; // the driver's view of the timed phase (a little longer than the client's)
          const cores = (k) => (m1[k] - m0[k]) / 1e6 / wall;
          peakKb = Math.max(peakKb, rssKbOf(s.pids));
          finish(null, {
            deliveriesPerS: m.deliveries / m.secs,
            p50Ms: m.p50Us / 1000,
            p99Ms: m.p99Us / 1000,
            maxMs: m.maxUs / 1000,
            cpuUsPerDelivery: (c1 - c0) / m.deliveries,
            serverCores: (c1 - c0) / 1e6 / wall,
            clientCores: m.clientCores,
            machineCores: cores('busy'),
            softirqCores: cores('softirq'),
            stealCores: cores('steal'),
            otherCores: cores('busy') - cores('softirq') - cores('steal') - (c1 - c0) / 1e6 / wall - m.clientCores,
            linesPerWrite: m.linesPerWrite,
            linesPerRead: m.linesPerRead,
            peakRssMB: peakKb / 1024,
            secs: m.secs,
          });
        } else if (m.type === 'error') clientFailed(m.message);
      });
      client.on('exit', (code, signal) => {
        if (!settled) clientFailed(`the client process exited (${signal ?? `code ${code}`})${err ? `:\n${tail(err)}` : ''}`);
      });
      client.send({ port: s.port, ...cfg });
    });
  }

  // ---- the matrix -------------------------------------------------------------------------------------------------
  const date = new Date().toISOString();
  log(
    `# machine: ${machine()}, node ${process.version}, ${date}; ${cfg.clients} clients x ${cfg.lines} lines of ${cfg.size} B ` +
      `(+${cfg.warm} warm-up), window ${cfg.window}, ${cfg.batch} line(s) per client write; ${rounds} rounds, rotating order`,
  );
  for (const srv of servers) log(`# ${srv.name}: ${srv.desc}`);
  const results = {}; // results[server] = [run, ...]
  const failed = new Set();
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]).filter((srv) => !failed.has(srv.name));
    for (const srv of order) {
      let s = null;
      try {
        s = await startServer(srv);
        (results[srv.name] ??= []).push(await runClients(s));
      } catch (e) {
        failed.add(srv.name);
        const msg = `FAILED ${srv.name} (round ${r + 1}): ${e.message}`;
        notes.push(msg);
        console.error(`# ${msg}`);
      } finally {
        if (s) await stopServer(s);
      }
    }
  }

  const summary = { machine: machine(), node: process.version, date, rounds, threads, ...cfg, servers: {}, ratios: {}, notes };
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const nCpu = os.cpus().length;
  for (const srv of servers) {
    if (failed.has(srv.name) || !results[srv.name]) continue;
    const xs = results[srv.name];
    const row = {
      deliveriesPerS: spread(xs.map((x) => x.deliveriesPerS)),
      p50Ms: med(xs, 'p50Ms'),
      p99Ms: med(xs, 'p99Ms'),
      cpuUsPerDelivery: med(xs, 'cpuUsPerDelivery'),
      serverCores: med(xs, 'serverCores'),
      peakRssMB: med(xs, 'peakRssMB'),
      clientCores: med(xs, 'clientCores'),
      machineCores: med(xs, 'machineCores'),
      softirqCores: med(xs, 'softirqCores'),
      stealCores: med(xs, 'stealCores'),
      otherCores: med(xs, 'otherCores'),
      linesPerWrite: med(xs, 'linesPerWrite'),
      linesPerRead: med(xs, 'linesPerRead'),
      runs: xs,
    };
    summary.servers[srv.name] = row;
    const disturbed = xs.filter((x) => x.otherCores > 0.25 || x.stealCores > 0.1).length;
    if (disturbed) note(`${srv.name}: in ${disturbed} of ${xs.length} runs other processes (or steal) took > 0.25 cores: its figures are disturbed`);
    const d = row.deliveriesPerS;
    log(
      `chat ${srv.name}: ${fmtRate(d.median)} deliveries/s (${fmtRate(d.min)}-${fmtRate(d.max)}), p50 ${row.p50Ms.toFixed(2)} ms, ` +
        `p99 ${row.p99Ms.toFixed(2)} ms, cpu ${row.cpuUsPerDelivery.toFixed(2)} us/delivery (server ${row.serverCores.toFixed(2)} cores), ` +
        `peak rss ${row.peakRssMB.toFixed(1)} MB; client ${row.clientCores.toFixed(2)} cores, ${row.linesPerWrite.toFixed(1)} lines/write, ${row.linesPerRead.toFixed(1)} lines/read; ` +
        `machine ${row.machineCores.toFixed(2)} of ${nCpu} cores busy (softirq ${row.softirqCores.toFixed(2)}, ` +
        `other processes ${Math.max(0, row.otherCores).toFixed(2)}${row.stealCores >= 0.01 ? `, steal ${row.stealCores.toFixed(2)}` : ''})`,
    );
  }
  for (const other of ['cluster', 'net']) {
    const a = summary.servers.bev;
    const b = summary.servers[other];
    if (!a || !b) continue;
    const ratio = {
      deliveriesPerS: a.deliveriesPerS.median / b.deliveriesPerS.median,
      cpuUsPerDelivery: a.cpuUsPerDelivery / b.cpuUsPerDelivery,
      p99Ms: a.p99Ms / b.p99Ms,
      peakRssMB: a.peakRssMB / b.peakRssMB,
    };
    summary.ratios[`bev/${other}`] = ratio;
    log(
      `ratio bev/${other}: ${ratio.deliveriesPerS.toFixed(2)}x deliveries/s, ${ratio.cpuUsPerDelivery.toFixed(2)}x cpu/delivery, ` +
        `${ratio.p99Ms.toFixed(2)}x p99, ${ratio.peakRssMB.toFixed(2)}x peak rss`,
    );
  }
  if (json) console.log(JSON.stringify(summary));
  if (failed.size > 0) process.exitCode = 1;
}
