/**
 * Loopback helpers for the socket, connect and listener tests: raw TCP socket pairs made with plain `node:net`
 * (independent of the code under test), a port nobody listens on, a loop driver that runs the event base until a
 * condition holds, and a check that no socket handle is left open.
 */
import net from 'node:net';
import * as L from '../../src/index.ts';

/** Every socket the helpers made, so a failed test can close what it left open (see `closeLeftovers`). */
const made = new Set<net.Socket>();

/** Every server the helpers made. */
const servers = new Set<net.Server>();

/** Close every socket and server the helpers made that is still open (after a failed test, whose cleanup did not
 * run). */
export function closeLeftovers(): void {
  for (const s of made) s.destroy();
  made.clear();
  for (const srv of servers) srv.close();
  servers.clear();
}

/** Forget the sockets made so far (after a passing test: they were closed by the test or the library). */
export function forgetSockets(): void {
  made.clear();
  servers.clear();
}

/** A connected TCP pair over 127.0.0.1: `client` (made with net.connect) and `server` (accepted), both paused,
 * half-close allowed. The listening server is already closed when this resolves. */
export async function tcpPair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const srv = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => srv.once('connection', resolve));
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  client.pause();
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  made.add(client);
  made.add(server);
  srv.close(); // stops listening now; its callback would wait for the accepted connection to end
  return { client, server };
}

/** A TCP server on 127.0.0.1 that records accepted sockets (paused, half-close allowed). */
export async function tcpServer(): Promise<{ port: number; accepted: net.Socket[]; close(): Promise<void> }> {
  const accepted: net.Socket[] = [];
  const srv = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    made.add(s);
    accepted.push(s);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  servers.add(srv);
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of accepted) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that was just bound and released, so connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Run the base (EVLOOP_ONCE at a time) until `pred()` holds. A short one-shot timer wakes each iteration, so
 * conditions produced outside the base (a plain net.Socket receiving data) are seen too. Throws after `limitMs`.
 */
export async function runUntil(base: L.EventBase, pred: () => boolean, limitMs = 10_000): Promise<void> {
  const tick = L.evtimer_new(base, () => {}, null);
  const t0 = Date.now();
  try {
    while (!pred()) {
      if (Date.now() - t0 > limitMs) throw new Error(`runUntil: condition not reached within ${limitMs} ms`);
      L.evtimer_add(tick, { tv_sec: 0, tv_usec: 10_000 });
      await L.event_base_loop(base, L.EVLOOP_ONCE);
    }
  } finally {
    L.event_free(tick);
  }
}

/** Run the base for about `ms` milliseconds (for "nothing else happens" checks). */
export async function runFor(base: L.EventBase, ms: number): Promise<void> {
  const t0 = Date.now();
  await runUntil(base, () => Date.now() - t0 >= ms, ms + 10_000);
}

/** Wait (Node's own loop only) until `pred()` holds. */
export async function waitFor(pred: () => boolean, limitMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > limitMs) throw new Error(`waitFor: condition not reached within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A loopback round trip on a connection of its own: once it resolves, whatever a socket of this process sent to
 * another before the call (data, a FIN) has been delivered to Node too. For "nothing happened" checks without a sleep.
 */
export async function ioBarrier(): Promise<void> {
  const { client, server } = await tcpPair();
  const got = new Promise((resolve) => server.once('data', resolve));
  server.resume();
  client.write('.');
  await got;
  client.destroy();
  server.destroy();
}

const SOCKET_KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap'];

/** How many TCP/UDP handles are open (ref'd) now. */
export function socketHandleCount(): number {
  return process.getActiveResourcesInfo().filter((k) => SOCKET_KINDS.includes(k)).length;
}

/**
 * Resolve once no more TCP/UDP handles are open (ref'd) than `baseline` (what an earlier, failed test may have
 * left behind); reject with what is left after `limitMs`.
 */
export async function expectNoSocketHandles(limitMs = 2_000, baseline = 0): Promise<void> {
  const left = (): string[] => process.getActiveResourcesInfo().filter((k) => SOCKET_KINDS.includes(k));
  const t0 = Date.now();
  while (left().length > baseline) {
    if (Date.now() - t0 > limitMs) throw new Error(`socket handles left open: ${left().join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Collect what a plain net.Socket receives. */
export function collect(sock: net.Socket): { data: () => Buffer; ended: () => boolean; closed: () => boolean } {
  const chunks: Buffer[] = [];
  let ended = false;
  let closed = false;
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.on('end', () => (ended = true));
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  sock.resume();
  return { data: () => Buffer.concat(chunks), ended: () => ended, closed: () => closed };
}

/** Read everything in a bufferevent's input as a string. */
export function drainString(bev: L.Bufferevent): string {
  const input = L.bufferevent_get_input(bev);
  const n = L.evbuffer_get_length(input);
  const out = new Uint8Array(n);
  L.evbuffer_remove(input, out, n);
  return Buffer.from(out).toString('latin1');
}
