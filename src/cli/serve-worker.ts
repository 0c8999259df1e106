/**
 * The runtime module of `bufferevent serve`: what each event-base worker does with the connections handed to it.
 *
 * - echo:  every byte read is moved to the output (evbuffer_add_buffer: chains are relinked, not copied).
 * - chat:  each connection is a THREADSAFE bufferevent published in the runtime's registry; the complete lines of
 *          each read are written as one block, with one bufferevent_write per receiver, into every other published
 *          connection, on whichever worker owns it. A block is whole lines and one write, so lines arrive whole;
 *          one sender's blocks are written in order by one thread, so they arrive in order everywhere.
 * - proxy: each client is relayed to the upstream, with the read/write watermark backpressure of libevent's
 *          le-proxy sample in both directions: when a side's output passes maxOutput its partner stops reading
 *          until the output drains to half of it.
 *
 * Bounds: a read high watermark on every connection; chat lines over maxLine drop their sender; in echo and chat a
 * connection whose queued output passes maxOutput is dropped (a writer never adds to an output already past it, so
 * what one connection queues is bounded by maxOutput plus one read: in chat, the lines of one read, at most the
 * read high watermark); timeouts drop idle connections.
 * Everything here runs on the worker's own thread, except that chat writes reach other workers' bufferevents under
 * their locks. @thread the worker
 */
import net from 'node:net';
import * as L from '../index.ts';
import { STAT, STAT_FIELDS, STATS_FLUSH_MS, type ServeConfig } from './config.ts';

type DataCb = (bev: L.Bufferevent, c: Conn) => void;
type EventCb = (bev: L.Bufferevent, what: number, c: Conn) => void;
/** Callbacks typed with their context. */
function setcb(bev: L.Bufferevent, read: DataCb | null, write: DataCb | null, event: EventCb, c: Conn): void {
  L.bufferevent_setcb(bev, read as L.BevDataCb | null, write as L.BevDataCb | null, event as L.BevEventCb, c);
}

interface Conn {
  bev: L.Bufferevent;
  remote: string;
  /** chat: its registry key */
  key: string | null;
  /** proxy: the other side */
  partner: Conn | null;
  closing: boolean;
}

let cfg: ServeConfig;
let index = -1;
let registry: L.Registry;
let row: Float64Array;
const counters = new Float64Array(STAT_FIELDS);
const conns = new Map<L.Bufferevent, Conn>();
/** chat: every published connection, this worker's own objects and imported handles on the others' */
const peers = new Map<string, L.Bufferevent>();
let nextId = 0;
let flushTimer: NodeJS.Timeout | null = null;
let timeouts: L.Timeval | null = null;

/** The runtime's worker hook: read the serve options, open the stats block, join the chat registry. */
export function setup(_base: L.EventBase, ctx: { index: number; workerData: unknown; registry: L.Registry }): void {
  cfg = ctx.workerData as ServeConfig;
  index = ctx.index;
  registry = ctx.registry;
  row = new Float64Array(cfg.stats, index * STAT_FIELDS * 8, STAT_FIELDS);
  if (cfg.idleTimeout > 0) {
    const s = Math.floor(cfg.idleTimeout);
    timeouts = { tv_sec: s, tv_usec: Math.round((cfg.idleTimeout - s) * 1e6) };
  }
  if (cfg.mode === 'chat') {
    registry.on('join', (key: string) => {
      const bev = registry.lookup(key);
      if (bev) peers.set(key, bev);
    });
    registry.on('leave', (key: string) => peers.delete(key));
  }
  flushTimer = setInterval(flush, STATS_FLUSH_MS);
  flushTimer.unref();
}

/** Copy this worker's counters into its row of the shared statistics. */
function flush(): void {
  let buffered = 0;
  for (const c of conns.values()) {
    try {
      buffered += L.evbuffer_get_length(L.bufferevent_get_output(c.bev));
    } catch {
      // freed between its free and its removal from the map
    }
  }
  counters[STAT.buffered] = buffered;
  counters[STAT.lockWaits] = L.threadLockWaits();
  counters[STAT.peers] = peers.size;
  row.set(counters);
}

function queued(n: number): void {
  if (n > counters[STAT.peakQueued]!) counters[STAT.peakQueued] = n;
}

/** The runtime's worker hook: a connection handed to this worker becomes a bufferevent of the chosen mode. */
export function onConnection(base: L.EventBase, socket: net.Socket, info: { remoteAddress: string; remotePort: number }): void {
  const remote = `${info.remoteAddress}:${info.remotePort}`;
  // Chat callbacks lock other connections (broadcast), so they must not run holding their own lock: two workers
  // each inside a read callback would wait for each other's lock forever (AB-BA).
  const threadsafe = cfg.mode === 'chat' ? L.BEV_OPT_THREADSAFE | L.BEV_OPT_DEFER_CALLBACKS | L.BEV_OPT_UNLOCK_CALLBACKS : 0;
  // Chat: TCP_NODELAY. A receiver gets one gathered write per pass of its owner's loop (everything queued for it
  // since the last), so Nagle's algorithm has nothing left to coalesce; it would only hold a receiver's next block
  // until the client's delayed ACK, and a client that waits for its own lines then sends nothing to carry the ACK.
  if (cfg.mode === 'chat') socket.setNoDelay(true);
  const bev = L.bufferevent_socket_new(base, socket, L.BEV_OPT_CLOSE_ON_FREE | threadsafe)!;
  const c = open(bev, remote);
  counters[STAT.served]!++; // clients only: a proxy's upstream connections are not counted
  if (cfg.mode === 'echo') {
    setcb(bev, echoRead, null, onEvent, c);
  } else if (cfg.mode === 'chat') {
    c.key = `${index}.${nextId++}`;
    registry.publish(c.key, bev);
    peers.set(c.key, bev);
    // The owner enforces its own output bound: foreign writes run this callback here, on the owner.
    L.evbuffer_add_cb(L.bufferevent_get_output(bev), (_buf, cbinfo) => {
      if (cbinfo.n_added > 0 && cbinfo.orig_size + cbinfo.n_added - cbinfo.n_deleted > cfg.maxOutput) {
        setImmediate(() => drop(c, `queued output passed --max-output (${cfg.maxOutput} bytes)`));
      }
    }, null);
    setcb(bev, chatRead, null, onEvent, c);
  } else {
    const up = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const u = open(up, `upstream ${cfg.upstream!.host}:${cfg.upstream!.port}`);
    c.partner = u;
    u.partner = c;
    setcb(bev, proxyRead, null, onEvent, c);
    setcb(up, proxyRead, null, onEvent, u);
    const { host, port } = cfg.upstream!;
    const family = net.isIP(host);
    const r = family === 0
      ? L.bufferevent_socket_connect_hostname(up, null, L.AF_UNSPEC, host, port)
      : L.bufferevent_socket_connect(up, { family: family === 6 ? 'IPv6' : 'IPv4', address: host, port });
    if (r < 0) {
      drop(c, 'cannot connect to the upstream');
      return;
    }
  }
}

const SERVE_MAX_READ = 64 * 1024;
const SERVE_MAX_WRITE = 256 * 1024;

function open(bev: L.Bufferevent, remote: string): Conn {
  const c: Conn = { bev, remote, key: null, partner: null, closing: false };
  conns.set(bev, c);
  // libevent's 16 KiB single-read/write caps cost a streaming server more than half its throughput here (each read
  // and write has a fixed cost in JavaScript): reads up to 64 KiB, writes gathered up to 256 KiB
  L.bufferevent_set_max_single_read(bev, SERVE_MAX_READ);
  L.bufferevent_set_max_single_write(bev, SERVE_MAX_WRITE);
  L.bufferevent_setwatermark(bev, L.EV_READ, 0, cfg.readHigh);
  if (timeouts) L.bufferevent_set_timeouts(bev, timeouts, timeouts);
  L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
  return c;
}

function close(c: Conn): void {
  if (!conns.delete(c.bev)) return;
  if (c.key !== null) peers.delete(c.key);
  L.bufferevent_free(c.bev); // its registry entry leaves when it is finalized
}

/** Close a connection for a bound, with a log line. */
function drop(c: Conn, why: string): void {
  if (!conns.has(c.bev)) return;
  counters[STAT.drops]!++;
  console.error(`worker ${index}: dropped ${c.remote}: ${why}`);
  if (c.partner) close(c.partner);
  close(c);
}

function onEvent(_bev: L.Bufferevent, what: number, c: Conn): void {
  if (what & L.BEV_EVENT_TIMEOUT) {
    drop(c, `idle for ${cfg.idleTimeout} s (--idle-timeout)`);
  } else if (what & L.BEV_EVENT_CONNECTED) {
    return;
  } else if (what & (L.BEV_EVENT_EOF | L.BEV_EVENT_ERROR)) {
    if (c.partner) {
      proxyEnd(c, what);
      return;
    }
    close(c);
  }
}

// ---- echo --------------------------------------------------------------------------------------------------------

function echoRead(bev: L.Bufferevent, c: Conn): void {
  const input = L.bufferevent_get_input(bev);
  const output = L.bufferevent_get_output(bev);
  const n = L.evbuffer_get_length(input);
  counters[STAT.bytesIn]! += n;
  const q = L.evbuffer_get_length(output) + n;
  if (q > cfg.maxOutput) {
    drop(c, `queued output passed --max-output (${cfg.maxOutput} bytes): the client does not read`);
    return;
  }
  L.evbuffer_add_buffer(output, input);
  counters[STAT.bytesOut]! += n;
  queued(q);
}

// ---- chat --------------------------------------------------------------------------------------------------------

/**
 * Take every complete line the input holds, in one block, and broadcast the block: the receivers get each of this
 * sender's lines whole and in order, with one write per receiver per pass of the loop instead of one per line.
 */
function chatRead(bev: L.Bufferevent, c: Conn): void {
  const input = L.bufferevent_get_input(bev);
  const n = L.evbuffer_get_length(input);
  if (n === 0) return;
  const view = L.evbuffer_pullup(input, -1)!;
  const last = view.lastIndexOf(10);
  // every line, and the unfinished one after the last newline, must fit --max-line
  for (let from = 0; ; ) {
    const at = view.indexOf(10, from);
    if ((at < 0 ? n : at) - from > cfg.maxLine) {
      drop(c, `line longer than --max-line (${cfg.maxLine} bytes)`);
      return;
    }
    if (at < 0) break;
    from = at + 1;
  }
  if (last < 0) return;
  const block = Buffer.from(view.subarray(0, last + 1)); // a copy: the view is only valid until the input changes
  L.evbuffer_drain(input, last + 1);
  counters[STAT.bytesIn]! += block.length;
  broadcast(c.key!, block);
}

/**
 * The blocks this pass of the loop read, in the order it read them. The first one queues a microtask, which runs
 * once the pass's callbacks are done (the loop runs them all in one turn): each receiver then gets everything the
 * pass read from the others under one lock and in one or two copies, not one lock round trip per sender.
 */
let passBlocks: Array<{ from: string; block: Buffer }> = [];

function broadcast(from: string, block: Buffer): void {
  if (passBlocks.push({ from, block }) === 1) queueMicrotask(flushPass);
}

/**
 * Write the pass's blocks into every other published connection, each receiver's lines from one sender whole and
 * in order. A receiver whose lock another thread holds right now (its owner reading or writing its socket, the
 * other worker writing to it) is not waited for: its part goes to that receiver's backlog here, and the backlog is
 * written on a later turn of this thread's loop, before anything newer for that receiver, so each receiver still
 * gets every sender's lines in order. On a machine with more busy threads than cores a lock holder can be
 * descheduled for milliseconds; waiting for it would stall every other receiver.
 */
function flushPass(): void {
  const entries = passBlocks;
  passBlocks = [];
  // one buffer for the pass; a receiver gets the runs of it between its own blocks
  const all = entries.length === 1 ? entries[0]!.block : Buffer.concat(entries.map((e) => e.block));
  for (const [key, peer] of peers) {
    const blocks: Buffer[] = [];
    let runStart = 0;
    let at = 0;
    for (const e of entries) {
      if (e.from === key) {
        if (at > runStart) blocks.push(all.subarray(runStart, at));
        runStart = at + e.block.length;
      }
      at += e.block.length;
    }
    if (at > runStart) blocks.push(runStart === 0 ? all : all.subarray(runStart, at));
    if (blocks.length === 0) continue;
    const b = backlog.get(peer);
    if (b !== undefined) {
      b.blocks.push(...blocks);
      continue;
    }
    if (!writeTo(peer, key, blocks, false)) {
      backlog.set(peer, { key, blocks, tries: 0 });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushBacklog);
      }
    }
  }
}

/** Blocks waiting for a busy receiver's lock, per receiver, in order. */
const backlog = new Map<L.Bufferevent, { key: string; blocks: Buffer[]; tries: number }>();
let flushScheduled = false;
/** Turns of the loop a backlog waits for its receiver's lock before this thread blocks on it. */
const BACKLOG_TRIES = 32;

function flushBacklog(): void {
  flushScheduled = false;
  for (const [peer, b] of backlog) if (writeTo(peer, b.key, b.blocks, ++b.tries > BACKLOG_TRIES)) backlog.delete(peer);
  if (backlog.size > 0) {
    flushScheduled = true;
    setImmediate(flushBacklog);
  }
}

/**
 * Write blocks into one receiver under its lock: false (nothing written) when the lock is busy and `wait` is not
 * set. A receiver already past maxOutput gets nothing more: its owner drops it (its output callback saw the write
 * that crossed the bound). A receiver that went away is forgotten.
 */
function writeTo(peer: L.Bufferevent, key: string, blocks: Buffer[], wait: boolean): boolean {
  try {
    const out = L.bufferevent_get_output(peer);
    // the output's lock is the bufferevent's; bufferevent_lock also holds a reference, which bufferevent_unlock drops
    const tried = out.tryLock();
    if (!tried) {
      if (!wait) return false;
      L.bufferevent_lock(peer);
    }
    try {
      for (const block of blocks) {
        const q = L.evbuffer_get_length(out);
        if (q > cfg.maxOutput) break;
        L.bufferevent_write(peer, block);
        counters[STAT.bytesOut]! += block.length;
        queued(q + block.length);
      }
    } finally {
      if (tried) out.unlockRaw();
      else L.bufferevent_unlock(peer);
    }
  } catch (e) {
    lost(key, e);
  }
  return true;
}

/** A receiver that went away while we wrote: forget it (its 'leave' is on its way). */
function lost(key: string, e: unknown): void {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_BEV_FREED') {
    peers.delete(key);
  } else if (code !== 'ERR_BEV_OWNER_DIED') {
    throw e;
  }
}

// ---- proxy -------------------------------------------------------------------------------------------------------

/** Move what one side read to the other side's output; past maxOutput, stop reading until the partner drains. */
function proxyRead(bev: L.Bufferevent, c: Conn): void {
  const p = c.partner;
  if (!p) return;
  const input = L.bufferevent_get_input(bev);
  const dst = L.bufferevent_get_output(p.bev);
  const n = L.evbuffer_get_length(input);
  counters[STAT.bytesIn]! += n;
  L.evbuffer_add_buffer(dst, input);
  counters[STAT.bytesOut]! += n;
  const q = L.evbuffer_get_length(dst);
  queued(q);
  if (q >= cfg.maxOutput) {
    setcb(p.bev, proxyRead, proxyDrained, onEvent, p);
    L.bufferevent_setwatermark(p.bev, L.EV_WRITE, cfg.maxOutput >>> 1, cfg.maxOutput);
    L.bufferevent_disable(bev, L.EV_READ);
  }
}

/** The partner's output fell to half of maxOutput: read again from this side. */
function proxyDrained(bev: L.Bufferevent, c: Conn): void {
  setcb(bev, proxyRead, null, onEvent, c);
  L.bufferevent_setwatermark(bev, L.EV_WRITE, 0, 0);
  if (c.partner && !c.closing) L.bufferevent_enable(c.partner.bev, L.EV_READ);
}

/** One side ended: pass on what it read, let the other side finish writing it, then close both. */
function proxyEnd(c: Conn, what: number): void {
  const p = c.partner!;
  if (what & L.BEV_EVENT_ERROR && c.remote.startsWith('upstream') && !p.closing) {
    const err = L.evutil_socket_error_to_string(L.EVUTIL_SOCKET_ERROR());
    console.error(`worker ${index}: ${c.remote}: ${err}; closing ${p.remote}`);
  }
  proxyRead(c.bev, c);
  c.partner = null;
  p.partner = null;
  close(c);
  finishThenClose(p);
}

/** Stop reading; free once the output is written (at once when it is empty). */
function finishThenClose(c: Conn): void {
  c.closing = true;
  if (!conns.has(c.bev)) return;
  L.bufferevent_disable(c.bev, L.EV_READ);
  if (L.evbuffer_get_length(L.bufferevent_get_output(c.bev)) === 0) {
    close(c);
    return;
  }
  L.bufferevent_setwatermark(c.bev, L.EV_WRITE, 0, 0);
  setcb(c.bev, null, () => close(c), () => close(c), c);
}

/** Shutdown: stop reading everywhere, let each connection write what it has queued, then close it. */
export function teardown(): void {
  if (flushTimer) clearInterval(flushTimer);
  for (const [peer, b] of backlog) writeTo(peer, b.key, b.blocks, true);
  backlog.clear();
  for (const c of [...conns.values()]) {
    c.partner = null;
    finishThenClose(c);
  }
  flush();
}
