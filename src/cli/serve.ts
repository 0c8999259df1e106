/**
 * `bufferevent serve`: the runtime (one event base per worker thread, connections accepted once on this thread and
 * handed over) running src/cli/serve-worker.ts, with live statistics and a graceful stop on SIGINT/SIGTERM.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startRuntime, type Runtime } from '../runtime/runtime.ts';
import { hostPort, intFlag, oneOf, rate, secondsFlag, UsageError } from './args.ts';
import { readStats, statsMemory, type ServeConfig, type ServeMode, type StatRow } from './config.ts';

export const serveHelp = `Usage: bufferevent serve [options]

A multi-core server: one event base per worker thread; connections are accepted once and handed to the workers.

Modes:
  --mode echo            every connection echoes what it receives (default)
  --mode chat            a line received on any connection is written to every other connection, on every worker
  --mode proxy           every connection is relayed to --upstream, with watermark backpressure both ways

Options:
  --host HOST            address to listen on (default 127.0.0.1)
  --port N               port (default 7000; 0 picks a free one)
  --threads N            worker threads (default: available parallelism, here ${os.availableParallelism()})
  --upstream HOST:PORT   where proxy mode connects
  --read-high BYTES      read high watermark of every connection (default 262144)
  --max-line BYTES       chat: a longer line drops its sender (default 8192)
  --max-output BYTES     echo, chat: a connection whose queued output passes this is dropped;
                         proxy: the backpressure threshold (default 1048576)
  --max-conns N          connections open at once; past it new ones are closed at once (default 10000)
  --idle-timeout SEC     drop a connection idle this long; 0 never (default 300)
  --quiet                no live statistics
  --json                 one JSON object per second on stdout instead of the live lines, and a JSON summary
  -h, --help             this text

Prints "listening on HOST:PORT" once it accepts. SIGINT or SIGTERM: stop accepting, let connections write what is
queued (up to 5 s), close everything, print a summary, exit 0.`;

export interface ServeOptions {
  host: string;
  port: number;
  threads: number;
  config: Omit<ServeConfig, 'stats'>;
  maxConns: number;
  quiet: boolean;
  json: boolean;
}

/** Parse `serve`'s arguments. Throws UsageError for anything wrong; returns null for --help. */
export function parseServe(argv: string[]): ServeOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '7000' },
        threads: { type: 'string' },
        mode: { type: 'string', default: 'echo' },
        upstream: { type: 'string' },
        'read-high': { type: 'string', default: '262144' },
        'max-line': { type: 'string', default: '8192' },
        'max-output': { type: 'string', default: '1048576' },
        'max-conns': { type: 'string', default: '10000' },
        'idle-timeout': { type: 'string', default: '300' },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const mode = oneOf<ServeMode>('mode', v.mode!, ['echo', 'chat', 'proxy']);
  if (mode === 'proxy' && v.upstream === undefined) throw new UsageError('--mode proxy needs --upstream HOST:PORT');
  if (mode !== 'proxy' && v.upstream !== undefined) throw new UsageError('--upstream is only for --mode proxy');
  if (v.host!.length === 0) throw new UsageError('--host must not be empty');
  return {
    host: v.host!,
    port: intFlag('port', v.port!, 0, 65535),
    threads: v.threads === undefined ? os.availableParallelism() : intFlag('threads', v.threads, 1, 1024),
    maxConns: intFlag('max-conns', v['max-conns']!, 1, 1 << 22),
    quiet: v.quiet!,
    json: v.json!,
    config: {
      mode,
      upstream: v.upstream === undefined ? null : hostPort('upstream', v.upstream),
      readHigh: intFlag('read-high', v['read-high']!, 1, 2 ** 31 - 1),
      maxLine: intFlag('max-line', v['max-line']!, 1, 2 ** 31 - 1),
      maxOutput: intFlag('max-output', v['max-output']!, 1, 2 ** 31 - 1),
      idleTimeout: secondsFlag('idle-timeout', v['idle-timeout']!),
    },
  };
}

const workerModule = new URL(import.meta.url.endsWith('.ts') ? './serve-worker.ts' : './serve-worker.js', import.meta.url);

/** Run the server until SIGINT/SIGTERM. Resolves with the exit code. */
export async function serve(o: ServeOptions): Promise<number> {
  const stats = statsMemory(o.threads);
  let rt: Runtime;
  try {
    rt = await startRuntime({
      module: workerModule,
      workers: o.threads,
      host: o.host,
      port: o.port,
      workerData: { ...o.config, stats } satisfies ServeConfig,
      maxConnections: o.maxConns,
      registrySize: o.maxConns,
    });
  } catch (e) {
    console.error(`bufferevent serve: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
    return 1;
  }
  rt.on('reject', (addr: string, port: number) => console.error(`rejected ${addr}:${port}: --max-conns (${o.maxConns}) connections are open`));
  rt.on('connection-error', (e: Error, i: number) => console.error(`worker ${i}: a connection failed: ${e.message}`));
  rt.on('restart', (i: number) => console.error(`worker ${i} died and was restarted`));
  rt.on('down', (i: number) => console.error(`worker ${i} keeps dying: it gets no more connections`));
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  console.log(`listening on ${shown}:${rt.port}`);

  const live = !o.quiet && (o.json || process.stdout.isTTY === true);
  let last = Array.from({ length: o.threads }, (_, i) => readStats(stats, i));
  let lastT = performance.now();
  let drawn = 0;
  const tick = setInterval(() => {
    const now = Array.from({ length: o.threads }, (_, i) => readStats(stats, i));
    const t = performance.now();
    const dt = (t - lastT) / 1000;
    const open = rt.openConnections();
    const rows = now.map((r, i) => workerFigures(i, r, last[i]!, open[i] ?? 0, dt));
    last = now;
    lastT = t;
    if (o.json) {
      console.log(JSON.stringify({ time: new Date().toISOString(), workers: rows, rejected: rt.rejected, restarts: rt.restarts }));
    } else {
      const lines = rows.map(
        (w) =>
          `worker ${w.worker}: ${w.connections} conns  in ${rate(w.bytesInPerSec)}  out ${rate(w.bytesOutPerSec)}  ` +
          `lock waits ${w.lockWaitsPerSec}/s  drops ${w.drops}  queued ${w.buffered} B`,
      );
      process.stdout.write((drawn > 0 ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''));
      drawn = lines.length;
    }
  }, 1000);
  if (!live) clearInterval(tick);

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  clearInterval(tick);
  const forced = (): never => {
    console.error('bufferevent serve: second signal, exiting without draining');
    process.exit(1);
  };
  process.once('SIGINT', forced);
  process.once('SIGTERM', forced);
  if (!o.quiet && !o.json) console.error(`${signal}: stopping (draining up to 5 s)`);
  await rt.close(5000);
  const rows = Array.from({ length: o.threads }, (_, i) => readStats(stats, i));
  const sum = (k: keyof StatRow): number => rows.reduce((s, r) => s + r[k], 0);
  const summary = {
    served: sum('served'),
    rejected: rt.rejected,
    dropped: sum('drops'),
    bytesIn: sum('bytesIn'),
    bytesOut: sum('bytesOut'),
    peakQueued: Math.max(...rows.map((r) => r.peakQueued)),
    lockWaits: sum('lockWaits'),
    restarts: rt.restarts,
  };
  if (o.json) console.log(JSON.stringify({ summary }));
  else {
    console.log(
      `stopped: served ${summary.served} connections (${summary.rejected} rejected, ${summary.dropped} dropped), ` +
        `${summary.bytesIn} bytes in, ${summary.bytesOut} bytes out`,
    );
  }
  return 0;
}

function workerFigures(i: number, r: StatRow, prev: StatRow, open: number, dt: number) {
  return {
    worker: i,
    connections: open,
    bytesInPerSec: Math.round((r.bytesIn - prev.bytesIn) / dt),
    bytesOutPerSec: Math.round((r.bytesOut - prev.bytesOut) / dt),
    lockWaitsPerSec: Math.round((r.lockWaits - prev.lockWaits) / dt),
    drops: r.drops,
    buffered: r.buffered,
    peakQueued: r.peakQueued,
    served: r.served,
    peers: r.peers,
  };
}
