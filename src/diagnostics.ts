import dc from 'node:diagnostics_channel';
import util from 'node:util';

/**
 * What the library tells observers, through `node:diagnostics_channel` (made once here; a message is built only when
 * a channel has subscribers) and `NODE_DEBUG=bufferevent` (util.debuglog, fed by the same channels: one source).
 * Channels are per thread: subscribe in the thread whose objects you want to watch.
 *
 * | channel | message |
 * |---|---|
 * | `bufferevent:connect` (a TracingChannel: `tracing:bufferevent:connect:start`, `:asyncEnd`, `:error`) | `{ bev, target }` of `bev.connect()` |
 * | `bufferevent:event` | `{ bev, what }`: an event reported to a bufferevent (BEV_EVENT_* bits), on its owner |
 * | `bufferevent:free` | `{ bev }`: bufferevent_free was called |
 * | `bufferevent:lock-contended` | `{ lock, waitMs }`: this thread found a lock held and waited `waitMs` for it (lock: `{ sab, offset }`) |
 * | `bufferevent:handoff` | `{ worker, remoteAddress, remotePort }`: the runtime handed a connection to a worker |
 * | `bufferevent:owner-died` | `{ thread, locks }`: locks recovered from a dead thread (its THREAD_TAG) |
 * | `bufferevent:write-dropped` | `{ writes, bytes, reason }`: additions a foreign handle had queued behind a busy lock were dropped, because the buffer was freed (`reason: 'freed'`) or its end frozen (`'frozen'`) before the lock came free; on the writing thread |
 */
export const connectChannel = dc.tracingChannel<object, { bev: unknown; target: unknown }>('bufferevent:connect');
export const eventChannel = dc.channel('bufferevent:event');
export const freeChannel = dc.channel('bufferevent:free');
export const lockContendedChannel = dc.channel('bufferevent:lock-contended');
export const handoffChannel = dc.channel('bufferevent:handoff');
export const ownerDiedChannel = dc.channel('bufferevent:owner-died');
export const writeDroppedChannel = dc.channel('bufferevent:write-dropped');

const debug = util.debuglog('bufferevent');
if (debug.enabled) {
  const what = (w: number): string =>
    [
      [0x01, 'READING'],
      [0x02, 'WRITING'],
      [0x10, 'EOF'],
      [0x20, 'ERROR'],
      [0x40, 'TIMEOUT'],
      [0x80, 'CONNECTED'],
    ]
      .filter(([bit]) => (w & (bit as number)) !== 0)
      .map(([, n]) => n)
      .join('|');
  const target = (t: unknown): string => {
    const o = t as { host?: string; address?: string; port?: number } | null;
    return o ? `${o.host ?? o.address ?? '?'}:${o.port ?? '?'}` : '?';
  };
  connectChannel.subscribe({
    start: (m) => debug('connect %s', target(m.target)),
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (m) => debug('connected %s', target(m.target)),
    error: (m) => debug('connect %s failed: %s', target(m.target), ((m as { error?: Error }).error ?? {}).message),
  });
  eventChannel.subscribe((m) => debug('event %s', what((m as { what: number }).what)));
  freeChannel.subscribe(() => debug('free'));
  lockContendedChannel.subscribe((m) => debug('lock contended: waited %s ms', (m as { waitMs: number }).waitMs.toFixed(3)));
  handoffChannel.subscribe((m) => {
    const h = m as { worker: number; remoteAddress?: string; remotePort?: number };
    debug('handoff to worker %d from %s:%s', h.worker, h.remoteAddress ?? '?', h.remotePort ?? '?');
  });
  ownerDiedChannel.subscribe((m) => {
    const o = m as { thread: number; locks: number };
    debug('thread %d died: %d lock(s) recovered', o.thread, o.locks);
  });
  writeDroppedChannel.subscribe((m) => {
    const o = m as { writes: number; bytes: number; reason: string };
    debug('%d queued write(s), %d bytes, dropped: the buffer was %s', o.writes, o.bytes, o.reason);
  });
}

/** Say why a constructor returned null (as libevent logs it), when NODE_DEBUG=bufferevent is set. */
export function debugWhy(fmt: string, ...args: unknown[]): void {
  if (debug.enabled) debug(fmt, ...args);
}

/** The channels whose messages a runtime worker forwards to the main thread (startRuntime({ diagnostics: true })). */
const FORWARDED = ['bufferevent:event', 'bufferevent:free', 'bufferevent:lock-contended', 'bufferevent:owner-died', 'bufferevent:write-dropped'] as const;

/** What of a message can cross threads: plain values (a bufferevent object cannot; its shared key can). */
function cloneable(m: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((m ?? {}) as Record<string, unknown>)) {
    if (v === null || typeof v !== 'object' || v instanceof SharedArrayBuffer || (Object.getPrototypeOf(v) === Object.prototype && k === 'lock')) out[k] = v;
  }
  return out;
}

/**
 * In a runtime worker: subscribe to the forwarded channels and post each message to the main thread with `post`.
 * Returns the unsubscriber. @thread a runtime worker
 */
export function forwardDiagnostics(post: (msg: { type: 'diag'; channel: string; message: Record<string, unknown> }) => void): () => void {
  const subs = FORWARDED.map((name) => {
    const fn = (m: unknown): void => post({ type: 'diag', channel: name, message: cloneable(m) });
    dc.subscribe(name, fn);
    return () => dc.unsubscribe(name, fn);
  });
  return () => subs.forEach((u) => u());
}

/** On the main thread: publish a worker's forwarded message on the same channel, with `worker` set. */
export function republishDiagnostics(channel: string, message: Record<string, unknown>, worker: number): void {
  if (!(FORWARDED as readonly string[]).includes(channel)) return;
  const ch = dc.channel(channel);
  if (ch.hasSubscribers) ch.publish({ ...message, worker });
}
