/**
 * evbuffer and pair benchmarks: the same figures, names and workloads as bench/c/evbuffer_bench.c (libevent), so
 * bench/run.ts can print ratios from one run. One line per figure: `<name>: <value> <unit>`.
 * usage: node bench/evbuffer.ts [-n SECONDS_PER_FIGURE]
 */
import * as L from '../dist/index.js';

const secs = Number(process.argv[process.argv.indexOf('-n') + 1] ?? '') || 1;
const now = (): number => performance.now() / 1000;

function addRemove(n: number): void {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31 + 7) & 255;
  const out = new Uint8Array(n);
  const buf = L.evbuffer_new();
  let ops = 0;
  const t0 = now();
  let t: number;
  for (;;) {
    for (let i = 0; i < 1024; i++) {
      if (L.evbuffer_add(buf, data, n) !== 0) throw new Error('evbuffer_add failed');
      if (L.evbuffer_remove(buf, out, n) !== n) throw new Error('evbuffer_remove short');
    }
    ops += 1024;
    if ((t = now()) - t0 >= secs) break;
  }
  console.log(`evbuffer_add_remove_${n}: ${(ops / (t - t0)).toFixed(0)} ops/s`);
  L.evbuffer_free(buf);
}

function readln(): void {
  // same generator as the C baseline: xorshift32 from 0x12345678
  let s = 0x12345678;
  const rng = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const methods = ['GET', 'PUT', 'POST', 'HEAD'];
  const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  for (let i = 0; i < 1000; i++) {
    const m = methods[rng() % 4]!;
    const plen = 5 + (rng() % 16);
    let p = '';
    for (let k = 0; k < plen; k++) p += alnum[rng() % alnum.length];
    text += `${m} /${p}.html HTTP/1.1\r\n`;
  }
  const block = Buffer.from(text, 'latin1');
  const buf = L.evbuffer_new();
  let lines = 0;
  const t0 = now();
  let t: number;
  for (;;) {
    L.evbuffer_add(buf, block);
    let got = 0;
    while (L.evbuffer_readln(buf, null, L.EVBUFFER_EOL_CRLF) !== null) got++;
    if (got !== 1000) throw new Error(`readln: ${got} lines`);
    lines += 1000;
    if ((t = now()) - t0 >= secs) break;
  }
  console.log(`evbuffer_readln: ${(lines / (t - t0)).toFixed(0)} lines/s`);
  L.evbuffer_free(buf);
}

function addPrintf(): void {
  const buf = L.evbuffer_new();
  let calls = 0;
  let i = 0;
  const t0 = now();
  let t: number;
  for (;;) {
    for (let k = 0; k < 1024; k++, i++) {
      if (L.evbuffer_add_printf(buf, '%s %d %u %x %5.2f\r\n', 'key', i, (i * 7) >>> 0, i, i * 0.5) < 0) throw new Error('printf');
    }
    L.evbuffer_drain(buf, L.evbuffer_get_length(buf));
    calls += 1024;
    if ((t = now()) - t0 >= secs) break;
  }
  console.log(`evbuffer_add_printf: ${(calls / (t - t0)).toFixed(0)} calls/s`);
  L.evbuffer_free(buf);
}

async function pairStream(): Promise<void> {
  const chunk = new Uint8Array(16384).fill(120);
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, 0, pair);
  let bytes = 0;
  L.bufferevent_setcb(pair[1]!, (bev: L.Bufferevent) => {
    const input = L.bufferevent_get_input(bev);
    const n = L.evbuffer_get_length(input);
    bytes += n;
    L.evbuffer_drain(input, n);
  }, null, null, null);
  L.bufferevent_enable(pair[1]!, L.EV_READ);
  L.bufferevent_setcb(pair[0]!, null, (bev: L.Bufferevent) => L.bufferevent_write(bev, chunk), null, null);
  L.bufferevent_enable(pair[0]!, L.EV_WRITE);
  const stop = L.evtimer_new(base, () => L.event_base_loopbreak(base), null);
  L.evtimer_add(stop, { tv_sec: Math.floor(secs), tv_usec: Math.round((secs % 1) * 1e6) });
  L.bufferevent_write(pair[0]!, chunk);
  const t0 = now();
  await L.event_base_dispatch(base);
  const t = now();
  console.log(`pair_stream_16384: ${(bytes / 1e6 / (t - t0)).toFixed(1)} MB/s`);
  L.event_free(stop);
  L.bufferevent_free(pair[0]!);
  L.bufferevent_free(pair[1]!);
  L.event_base_free(base);
}

addRemove(64);
addRemove(1024);
addRemove(16384);
readln();
addPrintf();
await pairStream();
