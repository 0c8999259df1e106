import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import net from 'node:net';
import os from 'node:os';
import { EventEmitter, once } from 'node:events';
import { rangeError, typeError } from '../errors.ts';
import { Arena } from '../shm/arena.ts';
import { Registry, registryMemory } from './registry.ts';
import { handoffChannel, republishDiagnostics } from '../diagnostics.ts';

/**
 * The multi-core runtime: N event-base threads (worker_threads, one event base each) serving connections accepted
 * here and handed over with `postMessage(msg, [socket])` (Node >= 24.20), or accepted by each worker itself on a
 * shared port (`reusePort`). The user names a module; each worker imports it and calls its `onConnection`.
 *
 * Why not piscina: an event base is a long-lived loop that must receive sockets at any time; piscina runs tasks to
 * completion and cannot address one particular worker. Raw workers host the bases.
 *
 * The user module (ESM) exports:
 *   `onConnection(base, socket, info)`  required: serve `socket` (a net.Socket) on `base`, typically with
 *                                      `bufferevent_socket_new(base, socket, BEV_OPT_CLOSE_ON_FREE)`.
 *   `setup(base, ctx)`                 optional: run once when the worker starts (ctx = { index, workerData,
 *                                      registry }: the worker's view of the registry, src/runtime/registry.ts).
 *   `teardown(base)`                   optional: run at shutdown, after the listener stopped and before draining.
 * A connection counts as open until its socket closes; shutdown waits (up to `drainMs`) for all to close.
 */
export interface RuntimeOptions {
  /** The user's module (a path or file: URL) exporting onConnection (and optionally setup / teardown). */
  module: string | URL;
  /** Event-base threads to start (default: os.availableParallelism()). */
  workers?: number;
  /** Where to listen. Port 0 picks one (see `port`). */
  host?: string;
  port?: number;
  /** 'round-robin' (default) or 'least-loaded' (fewest open connections). Ignored with reusePort. */
  distribution?: 'round-robin' | 'least-loaded';
  /** Route by key: connections with the same key always go to the same worker (e.g. by remote address). */
  routeKey?: (info: ConnectionInfo) => string | null;
  /** Each worker listens on the port itself (SO_REUSEPORT); the kernel spreads connections. */
  reusePort?: boolean;
  /** Start a new worker when one dies (default true). Its locks are recovered by the robust-lock watch. */
  restart?: boolean;
  /** Passed to each worker's setup(). Must be structured-cloneable. */
  workerData?: unknown;
  /** Keys the registry can hold at once (default 16384). */
  registrySize?: number;
  /** Open connections past which a new one is closed at once and counted in `rejected` (default: no limit). */
  maxConnections?: number;
  /**
   * Forward the workers' diagnostics_channel messages (bufferevent:event, :free, :lock-contended, :owner-died) to
   * this thread, where they are published on the same channels with `worker` set (default false: channels are per
   * thread).
   */
  diagnostics?: boolean;
  /**
   * The workers' V8 heap limits (Node's `Worker` `resourceLimits`). Default: a young generation of at most
   * {@link WORKER_YOUNG_GENERATION_MB} MB, V8's defaults otherwise. A burst of new connections makes V8 grow a
   * worker's young generation to its maximum (48 MB by default) and keep it; at 8 MB a worker serving 10,000 idle
   * connections holds about 6 KB less per connection and serves the echo benchmarks as fast.
   */
  resourceLimits?: ResourceLimits;
}

/** The young-generation cap of a runtime worker's V8 heap unless `resourceLimits` says otherwise (MB). */
export const WORKER_YOUNG_GENERATION_MB = 8;

export interface ConnectionInfo {
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

interface Slot {
  worker: Worker;
  index: number;
  ready: Promise<void>;
  /** set when the worker said it is ready, cleared when it exits */
  up: boolean;
  /** the id of the worker's arena, once it said it is ready (its registry entries go when it exits) */
  arenaId: number;
  exited: boolean;
  /** connections for this slot while its worker (re)starts */
  pending: Array<{ sock: net.Socket; info: ConnectionInfo }>;
  /** when this slot's worker was restarted (for the crash-loop cap) */
  restarts: number[];
}

const workerUrl = import.meta.url.endsWith('.ts')
  ? new URL('../../workers/event-base.worker.ts', import.meta.url)
  : new URL('./event-base.worker.js', import.meta.url);

/**
 * Events: 'reject' (remoteAddress, remotePort) when `maxConnections` closed a new connection; 'restart' (index) after a worker died and a new one was started for its slot; 'down' (index) when a slot is
 * given up (5 failed starts in 10 s); 'connection-error' (error, index) when the module's onConnection threw (that
 * connection was closed, the worker goes on).
 */
export class Runtime extends EventEmitter {
  /** The port connections are accepted on. */
  port = 0;
  /** Connections handed to each worker so far. */
  readonly dispatched: number[];
  /** Workers started again after dying. */
  restarts = 0;
  /** Connections closed at once because `maxConnections` were open. */
  rejected = 0;
  /** The main thread's view of the registry of published bufferevents (src/runtime/registry.ts). */
  readonly registry: Registry;
  private readonly slots: Slot[] = [];
  private readonly load: Int32Array;
  private server: net.Server | null = null;
  private rr = 0;
  private closing = false;
  private readonly opts: Required<Pick<RuntimeOptions, 'workers' | 'distribution' | 'restart'>> & RuntimeOptions;
  /** What each worker is started with (RuntimeOptions.resourceLimits over the default). */
  private readonly limits: ResourceLimits;
  private readonly moduleHref: string;

  /** @internal use startRuntime() */
  constructor(opts: RuntimeOptions) {
    super();
    if (opts === null || typeof opts !== 'object') throw typeError('options', 'a RuntimeOptions object', opts);
    if (opts.workers !== undefined && typeof opts.workers !== 'number') throw typeError('workers', 'a number', opts.workers);
    if (opts.routeKey !== undefined && typeof opts.routeKey !== 'function') throw typeError('routeKey', 'a function', opts.routeKey);
    if (opts.port !== undefined && (typeof opts.port !== 'number' || !Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
      throw typeof opts.port !== 'number' ? typeError('port', 'a number', opts.port) : rangeError('port', 'an integer from 0 to 65535', opts.port);
    }
    const n = opts.workers ?? os.availableParallelism();
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw rangeError('workers', 'an integer from 1 to 1024', n);
    if (opts.distribution !== undefined && opts.distribution !== 'round-robin' && opts.distribution !== 'least-loaded') {
      throw rangeError('distribution', "'round-robin' or 'least-loaded'", opts.distribution);
    }
    if (typeof opts.module !== 'string' && !(opts.module instanceof URL)) throw typeError('module', 'a path or URL', opts.module);
    if (opts.diagnostics !== undefined && typeof opts.diagnostics !== 'boolean') throw typeError('diagnostics', 'a boolean', opts.diagnostics);
    for (const name of ['registrySize', 'maxConnections'] as const) {
      const v = opts[name];
      if (v === undefined) continue;
      if (typeof v !== 'number') throw typeError(name, 'a number', v);
      if (!Number.isInteger(v) || v < 1 || v > 1 << 22) throw rangeError(name, 'an integer from 1 to 4194304', v);
    }
    const rl = opts.resourceLimits;
    if (rl !== undefined && (rl === null || typeof rl !== 'object')) throw typeError('resourceLimits', 'an object', rl);
    this.limits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...rl };
    this.opts = { distribution: 'round-robin', restart: true, ...opts, workers: n };
    this.moduleHref = opts.module instanceof URL ? opts.module.href : new URL(opts.module, `file://${process.cwd()}/`).href;
    this.load = new Int32Array(new SharedArrayBuffer(4 * n));
    this.dispatched = new Array(n).fill(0);
    this.registry = new Registry(registryMemory(opts.registrySize ?? 16384), -1);
  }

  /** Open connections per worker, as the workers count them (shared memory). */
  openConnections(): number[] {
    return Array.from(this.load, (_, i) => Atomics.load(this.load, i));
  }

  /** @internal */
  async start(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    if (this.opts.reusePort) {
      // Reserve a port with a listener of our own, let every worker bind it too, then let ours go.
      const probe = net.createServer();
      probe.listen({ host, port: this.opts.port ?? 0, reusePort: true });
      await once(probe, 'listening');
      this.port = (probe.address() as net.AddressInfo).port;
      for (let i = 0; i < this.opts.workers; i++) this.spawn(i);
      await Promise.all(this.slots.map((s) => s.ready));
      probe.close();
      await once(probe, 'close');
    } else {
      for (let i = 0; i < this.opts.workers; i++) this.spawn(i);
      await Promise.all(this.slots.map((s) => s.ready));
      this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (sock) => this.dispatch(sock));
      this.server.listen({ host, port: this.opts.port ?? 0 });
      await once(this.server, 'listening');
      this.port = (this.server.address() as net.AddressInfo).port;
    }
  }

  private spawn(index: number): void {
    const worker = new Worker(workerUrl, {
      resourceLimits: this.limits,
      workerData: {
        module: this.moduleHref,
        index,
        load: this.load,
        userData: this.opts.workerData,
        registry: this.registry.sab,
        reusePort: this.opts.reusePort ? { host: this.opts.host ?? '127.0.0.1', port: this.port } : null,
        diagnostics: this.opts.diagnostics === true,
      },
    });
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ready.catch(() => {}); // a failed (re)start is handled by 'exit'; start() awaits the first ones itself
    const slot: Slot = { worker, index, ready, up: false, arenaId: 0, exited: false, pending: this.slots[index]?.pending ?? [], restarts: this.slots[index]?.restarts ?? [] };
    worker.on('message', (m: { type: string; message?: unknown; channel?: string; arena?: SharedArrayBuffer }) => {
      if (m.type === 'diag') return republishDiagnostics(m.channel!, m.message as Record<string, unknown>, index);
      if (m.type === 'ready') {
        slot.up = true;
        if (m.arena) this.shareArena(slot, m.arena);
        resolveReady();
        for (const p of slot.pending.splice(0)) this.send(slot, p.sock, p.info);
      } else if (m.type === 'error') rejectReady(new Error(m.message as string));
      else if (m.type === 'connection-error') this.emit('connection-error', new Error(m.message as string), index);
    });
    worker.on('error', (e) => rejectReady(e));
    worker.on('exit', () => {
      slot.exited = true;
      slot.up = false;
      rejectReady(new Error(`worker ${index} exited before it was ready`));
      Atomics.store(this.load, index, 0);
      if (slot.arenaId !== 0) this.registry.removeOwner(slot.arenaId); // its connections died with it
      // restart, unless this slot keeps dying (5 times within 10 s): then it stays down and gets no connections
      const now = Date.now();
      slot.restarts = slot.restarts.filter((t) => now - t < 10_000);
      if (!this.closing && this.opts.restart && slot.restarts.length < 5) {
        slot.restarts.push(now);
        this.restarts++;
        this.spawn(index); // its locks were recovered by the owner-death watch (src/shm/robust.ts)
        this.emit('restart', index);
      } else {
        for (const p of slot.pending.splice(0)) p.sock.destroy();
        if (!this.closing) this.emit('down', index);
      }
    });
    this.slots[index] = slot;
  }

  /**
   * A worker's arena: attach it here (registry lookups on this thread) and send every worker the arenas of all the
   * others, so each can import what the others publish.
   */
  private shareArena(slot: Slot, sab: SharedArrayBuffer): void {
    slot.arenaId = Arena.attach(sab).id;
    this.arenas.set(slot.index, sab);
    const list = [...this.arenas.values()];
    for (const s of this.slots) if (s.up && !s.exited) s.worker.postMessage({ type: 'arenas', list });
    this.registry.rescan();
  }
  private readonly arenas = new Map<number, SharedArrayBuffer>();

  /** Hand a connection to a worker (round robin, least loaded, or by route key). You may call it with sockets you
   * accepted yourself (paused, e.g. from a server made with { pauseOnConnect: true }). */
  dispatch(sock: net.Socket, key?: string | null): number {
    sock.on('error', () => {}); // a reset before the worker has it must not crash this thread
    if (this.closing) {
      sock.destroy();
      return -1;
    }
    if (this.opts.maxConnections !== undefined && this.openConnections().reduce((x, y) => x + y, 0) >= this.opts.maxConnections) {
      this.rejected++;
      const addr = sock.remoteAddress ?? '';
      const port = sock.remotePort ?? 0;
      sock.destroy();
      this.emit('reject', addr, port);
      return -1;
    }
    const info: ConnectionInfo = {
      remoteAddress: sock.remoteAddress ?? '',
      remotePort: sock.remotePort ?? 0,
      localPort: sock.localPort ?? 0,
    };
    // slots whose worker is down for good (exited and not being restarted) get nothing
    const alive = this.slots.filter((s) => !this.isDown(s));
    if (alive.length === 0) {
      sock.destroy();
      return -1;
    }
    const n = alive.length;
    let k = key ?? this.opts.routeKey?.(info) ?? null;
    let i: number;
    if (k !== null) {
      i = alive[hash(k) % n]!.index;
    } else if (this.opts.distribution === 'least-loaded') {
      i = alive[0]!.index;
      for (const s of alive) if (Atomics.load(this.load, s.index) < Atomics.load(this.load, i)) i = s.index;
    } else {
      i = alive[this.rr++ % n]!.index;
    }
    const slot = this.slots[i]!;
    Atomics.add(this.load, i, 1); // counted now; the worker subtracts when the socket closes
    this.dispatched[i]!++;
    if (slot.up) this.send(slot, sock, info);
    else slot.pending.push({ sock, info }); // restarting: it gets the connection once ready (keeps key affinity)
    k = null;
    return i;
  }

  /** A slot whose worker exited and was not restarted. */
  private isDown(s: Slot): boolean {
    return s.exited && this.slots[s.index] === s;
  }

  private send(slot: Slot, sock: net.Socket, info: ConnectionInfo): void {
    if (handoffChannel.hasSubscribers) handoffChannel.publish({ worker: slot.index, remoteAddress: info.remoteAddress, remotePort: info.remotePort });
    slot.worker.postMessage({ type: 'conn', socket: sock, info }, [sock as unknown as TransferListItem]);
  }

  /** `await using rt = await startRuntime(...)`: close() at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Stop accepting, let the workers drain (up to drainMs) and close; resolves when no thread or handle is left. */
  async close(drainMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const s of this.slots) for (const p of s.pending.splice(0)) p.sock.destroy(); // before the server waits on them
    this.registry.close();
    if (this.server) {
      const closed = once(this.server, 'close');
      this.server.close();
      await closed;
    }
    await Promise.all(
      this.slots.map(async (s) => {
        for (const p of s.pending.splice(0)) p.sock.destroy();
        if (s.exited) return;
        const exited = once(s.worker, 'exit');
        s.worker.postMessage({ type: 'shutdown', drainMs });
        const timer = setTimeout(() => void s.worker.terminate(), drainMs + 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Start the runtime: workers ready, listener bound (`runtime.port`). */
export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const rt = new Runtime(opts);
  try {
    await rt.start();
  } catch (e) {
    await rt.close(0);
    throw e;
  }
  return rt;
}
