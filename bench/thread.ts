/**
 * Cross-thread benchmarks: the same figures, names and workloads as bench/c/thread_bench.c (libevent + pthreads).
 * One line per figure: `<name>: <value> <unit>`.
 *
 * Thread A = this (main) thread: owns the event base and runs `event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)` until
 * a timer loopbreaks it. Thread B = a worker (bench/fixtures/xthread-writer.js) given `bufferevent_export(...)`
 * descriptors; it imports them and writes while (writer's output + reader's input) < 4 MiB.
 *   xthread_pair_write_16384: MB/s   B writes 16 KiB chunks into pair[0]; pair[1]'s read callback (on A) drains
 *   xthread_pair_write_64: ops/s     same with 64-byte writes; 64-byte writes consumed per second
 *   xthread_socket_write_16384: MB/s B writes into the client side of a loopback TCP connection; A drains the server
 *   lock_unlock_uncontended: ns/op   bufferevent_lock + bufferevent_unlock on a THREADSAFE pair element, one thread
 *   lock_unlock_contended: ns/op     main + worker each lock + counter++ + unlock; wall time / total ops
 * usage: node bench/thread.ts [-n SECONDS_PER_FIGURE]
 */
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import * as L from '../dist/index.js';

const secs = Number(process.argv[process.argv.indexOf('-n') + 1] ?? '') || 1;
const now = (): number => performance.now() / 1000;
const STATE = 0; // Int32 index: 0 idle, 1 go, 2 stop
const DONE = 2; // Int32 index: worker finished (contend)
const F64_WORKER_OPS = 2; // Float64 index (bytes 16..23)
const GO = 1;
const STOP = 2;

type Msg = { op: 'ready' } | { op: 'done'; writes: number; fullWaits: number; ops: number } | { op: 'error'; message: string; code?: string };
const worker = new Worker(new URL('./fixtures/xthread-writer.js', import.meta.url));
const inbox: Msg[] = [];
let waiter: ((m: Msg) => void) | null = null;
let workerFailure: Error | null = null;
worker.on('message', (m: Msg) => {
  if (waiter) {
    const w = waiter;
    waiter = null;
    w(m);
  } else inbox.push(m);
});
worker.on('error', (e) => {
  workerFailure = e;
  waiter?.({ op: 'error', message: String(e.stack ?? e) });
});
function next(op: 'ready' | 'done'): Promise<Msg> {
  return new Promise<Msg>((resolve, reject) => {
    const take = (m: Msg): void => {
      if (m.op === 'error') reject(new Error(`worker: ${m.message}${m.code ? ` (${m.code})` : ''}`));
      else if (m.op !== op) reject(new Error(`worker: expected ${op}, got ${m.op}`));
      else resolve(m);
    };
    if (workerFailure) reject(workerFailure);
    else if (inbox.length) take(inbox.shift()!);
    else waiter = take;
  });
}
const newCtrl = (): SharedArrayBuffer => new SharedArrayBuffer(32);

/** B writes `chunk`-byte writes into `writer` from the worker; A (here) drains `reader`. Returns consumed bytes / s. */
async function runXwrite(base: L.EventBase, writer: L.Bufferevent, reader: L.Bufferevent, chunk: number): Promise<number> {
  const ctrlSab = newCtrl();
  const ctrl = new Int32Array(ctrlSab);
  let consumed = 0;
  let lastCb = 0;
  let maxGap = 0; // longest time A's read callback did not run while B was writing (a stall detector)
  L.bufferevent_setcb(reader, (bev: L.Bufferevent) => {
    const input = L.bufferevent_get_input(bev);
    const n = L.evbuffer_get_length(input);
    if (Atomics.load(ctrl, STATE) === GO) {
      consumed += n;
      const t = now();
      maxGap = Math.max(maxGap, t - lastCb);
      lastCb = t;
    }
    L.evbuffer_drain(input, n);
  }, null, null, null);
  L.bufferevent_enable(reader, L.EV_READ);
  worker.postMessage({ op: 'write', writer: L.bufferevent_export(writer), reader: L.bufferevent_export(reader), chunk, ctrl: ctrlSab });
  await next('ready');
  let t1 = 0;
  const stop = L.evtimer_new(base, () => {
    t1 = now();
    Atomics.store(ctrl, STATE, STOP);
    L.event_base_loopbreak(base);
  }, null);
  L.evtimer_add(stop, { tv_sec: Math.floor(secs), tv_usec: Math.round((secs % 1) * 1e6) });
  const t0 = (lastCb = now());
  Atomics.store(ctrl, STATE, GO);
  Atomics.notify(ctrl, STATE);
  const rc = await L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY);
  if (rc !== 0) throw new Error(`event_base_loop returned ${rc}`);
  maxGap = Math.max(maxGap, t1 - lastCb);
  const done = (await next('done')) as Extract<Msg, { op: 'done' }>;
  L.event_free(stop);
  if (maxGap > 0.1) {
    // Not a figure: the owner stopped serving the writer (it sat at the 4 MiB cap), so the rate above is a stall.
    const left = L.evbuffer_get_length(L.bufferevent_get_output(writer)) + L.evbuffer_get_length(L.bufferevent_get_input(reader));
    console.error(`warning: ${chunk}-byte cross-thread writes: A's read callback did not run for ${(maxGap * 1000).toFixed(0)} ms ` +
      `(B found the 4 MiB cap reached ${done.fullWaits} times; ${left} B still queued at the end)`);
  }
  if (consumed === 0) throw new Error(`reader consumed nothing (worker made ${done.writes} writes)`);
  if (consumed > done.writes * chunk) throw new Error(`reader consumed ${consumed} B, worker wrote only ${done.writes * chunk} B`);
  return consumed / (t1 - t0);
}

async function pairWrite(chunk: number): Promise<void> {
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  if (L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair) !== 0) throw new Error('bufferevent_pair_new failed');
  L.bufferevent_enable(pair[0]!, L.EV_WRITE);
  const rate = await runXwrite(base, pair[0]!, pair[1]!, chunk);
  if (chunk >= 1024) console.log(`xthread_pair_write_${chunk}: ${(rate / 1e6).toFixed(1)} MB/s`);
  else console.log(`xthread_pair_write_${chunk}: ${(rate / chunk).toFixed(0)} ops/s`);
  L.bufferevent_free(pair[0]!);
  L.bufferevent_free(pair[1]!);
  L.event_base_free(base);
}

async function socketWrite(chunk: number): Promise<void> {
  const base = L.event_base_new();
  let server: L.Bufferevent | null = null;
  let connected = false;
  const lev = L.evconnlistener_new_bind(base, (_l: unknown, sock: Socket) => {
    server = L.bufferevent_socket_new(base, sock, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_THREADSAFE);
    if (connected) L.event_base_loopbreak(base);
  }, null, L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_REUSEABLE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 });
  if (!lev) throw new Error('listen failed');
  const client = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_THREADSAFE)!;
  let stopping = false;
  L.bufferevent_setcb(client, null, null, (_bev: L.Bufferevent, what: number) => {
    if (what & L.BEV_EVENT_CONNECTED) {
      connected = true;
      if (server) L.event_base_loopbreak(base);
    } else if (!stopping) throw new Error(`client event 0x${what.toString(16)}`);
  }, null);
  L.bufferevent_enable(client, L.EV_WRITE);
  if (L.bufferevent_socket_connect(client, { family: 'IPv4', address: '127.0.0.1', port: L.evconnlistener_get_port(lev) }) !== 0) {
    throw new Error('connect failed');
  }
  await L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY); // until connected and accepted
  if (!server || !connected) throw new Error('no connection');
  const rate = await runXwrite(base, client, server, chunk);
  console.log(`xthread_socket_write_${chunk}: ${(rate / 1e6).toFixed(1)} MB/s`);
  stopping = true;
  L.bufferevent_free(client);
  L.bufferevent_free(server);
  L.evconnlistener_free(lev);
  L.event_base_free(base);
}

function lockUncontended(): void {
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
  const bev = pair[0]!;
  let ops = 0;
  const t0 = now();
  let t: number;
  for (;;) {
    for (let i = 0; i < 4096; i++) {
      L.bufferevent_lock(bev);
      L.bufferevent_unlock(bev);
    }
    ops += 4096;
    if ((t = now()) - t0 >= secs) break;
  }
  console.log(`lock_unlock_uncontended: ${(((t - t0) * 1e9) / ops).toFixed(1)} ns/op`);
  L.bufferevent_free(pair[0]!);
  L.bufferevent_free(pair[1]!);
  L.event_base_free(base);
}

async function lockContended(): Promise<void> {
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
  const bev = pair[0]!;
  const ctrlSab = newCtrl();
  const ctrl = new Int32Array(ctrlSab);
  const counterSab = new SharedArrayBuffer(8);
  const counter = new Float64Array(counterSab);
  worker.postMessage({ op: 'contend', bev: L.bufferevent_export(bev), ctrl: ctrlSab, counter: counterSab });
  await next('ready');
  await new Promise((r) => setTimeout(r, 10)); // let the worker reach its start line
  let mine = 0;
  const t0 = now();
  Atomics.store(ctrl, STATE, GO);
  Atomics.notify(ctrl, STATE);
  while (now() - t0 < secs) {
    for (let i = 0; i < 256; i++) {
      L.bufferevent_lock(bev);
      counter[0] = counter[0]! + 1; // plain read-modify-write: exact only under mutual exclusion
      L.bufferevent_unlock(bev);
    }
    mine += 256;
  }
  Atomics.store(ctrl, STATE, STOP);
  while (Atomics.load(ctrl, DONE) === 0) Atomics.wait(ctrl, DONE, 0, 1000);
  const t = now();
  const done = await next('done');
  const theirs = new Float64Array(ctrlSab)[F64_WORKER_OPS]!;
  if ((done as Extract<Msg, { op: 'done' }>).ops !== theirs) throw new Error('worker op count mismatch');
  const total = mine + theirs;
  if (counter[0] !== total) throw new Error(`lock did not exclude: counter ${counter[0]} != ${total} ops (main ${mine}, worker ${theirs})`);
  console.log(`lock_unlock_contended: ${(((t - t0) * 1e9) / total).toFixed(1)} ns/op`);
  L.bufferevent_free(pair[0]!);
  L.bufferevent_free(pair[1]!);
  L.event_base_free(base);
}

try {
  await pairWrite(16384);
  await pairWrite(64);
  await socketWrite(16384);
  lockUncontended();
  await lockContended();
} finally {
  await worker.terminate();
}
