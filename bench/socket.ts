/**
 * Loopback socket streaming, the same workload as bench/c/socket_stream.c: one base; a listener accepts one
 * connection whose read callback drains everything; the client keeps up to 256 KiB queued in 16 KiB writes (write
 * low watermark 128 KiB). Prints `socket_stream_16384: <x> MB/s` (bytes received by the server, 1 MB = 1e6 B).
 * usage: node bench/socket.ts [-n SECONDS]
 */
import * as L from '../dist/index.js';

const secs = Number(process.argv[process.argv.indexOf('-n') + 1] ?? '') || 2;
const QUEUE_MAX = 256 * 1024;
const chunk = new Uint8Array(16384).fill(120);
const base = L.event_base_new();
let received = 0;
let t0 = 0;
let server: L.Bufferevent | null = null;

const lev = L.evconnlistener_new_bind(base, (_l, sock) => {
  server = L.bufferevent_socket_new(base, sock, L.BEV_OPT_CLOSE_ON_FREE)!;
  L.bufferevent_setcb(server, (bev: L.Bufferevent) => {
    const input = L.bufferevent_get_input(bev);
    const n = L.evbuffer_get_length(input);
    received += n;
    L.evbuffer_drain(input, n);
  }, null, null, null);
  L.bufferevent_enable(server!, L.EV_READ);
  t0 = performance.now();
  const stop = L.evtimer_new(base, () => L.event_base_loopbreak(base), null);
  L.evtimer_add(stop, { tv_sec: Math.floor(secs), tv_usec: Math.round((secs % 1) * 1e6) });
}, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 });
if (!lev) throw new Error('listen failed');

const client = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
const fill = (bev: L.Bufferevent): void => {
  const out = L.bufferevent_get_output(bev);
  while (L.evbuffer_get_length(out) < QUEUE_MAX) L.bufferevent_write(bev, chunk);
};
L.bufferevent_setcb(client, null, fill, (bev: L.Bufferevent, what: number) => {
  if (what & L.BEV_EVENT_CONNECTED) fill(bev);
  else throw new Error(`client event 0x${what.toString(16)}`);
}, null);
L.bufferevent_setwatermark(client, L.EV_WRITE, QUEUE_MAX / 2, 0);
L.bufferevent_socket_connect(client, { family: 'IPv4', address: '127.0.0.1', port: L.evconnlistener_get_port(lev) });
await L.event_base_dispatch(base);
const t = performance.now();
console.log(`socket_stream_16384: ${(received / 1e6 / ((t - t0) / 1000)).toFixed(1)} MB/s`);
L.bufferevent_free(client);
if (server) L.bufferevent_free(server);
L.evconnlistener_free(lev);
L.event_base_free(base);
