/**
 * What `bufferevent serve` passes to its workers, and the shared statistics block they fill in.
 */
export type ServeMode = 'echo' | 'chat' | 'proxy';

export interface ServeConfig {
  mode: ServeMode;
  /** proxy: where every client connection is relayed */
  upstream: { host: string; port: number } | null;
  /** read high watermark of every connection, in bytes */
  readHigh: number;
  /** chat: a longer line drops its sender */
  maxLine: number;
  /** echo, chat: a connection whose queued output passes this is dropped; proxy: the backpressure threshold */
  maxOutput: number;
  /** seconds without progress (read or write) after which a connection is dropped; 0: never */
  idleTimeout: number;
  /** the statistics block (statsLayout) */
  stats: SharedArrayBuffer;
}

/**
 * Statistics, one row of STAT_FIELDS Float64 numbers per worker. Each row is written only by its worker, with plain
 * stores of whole numbers, flushed every STATS_FLUSH_MS from counters kept in the worker; the main thread reads them
 * once a second. A reader may see a row half-updated (one field newer than another), never a torn number.
 *
 * | field      | meaning                                                                   |
 * |------------|---------------------------------------------------------------------------|
 * | bytesIn    | bytes read from clients (and, in proxy mode, from upstreams)              |
 * | bytesOut   | bytes queued for writing to clients (and upstreams)                       |
 * | drops      | connections this worker dropped for a bound (line, output, idle)          |
 * | lockWaits  | lock acquisitions on this worker that waited for another thread           |
 * | buffered   | bytes queued for output on this worker's connections, sampled at the flush |
 * | peakQueued | the most bytes ever queued on one connection right after a write to it     |
 * | served     | client connections this worker has served                                 |
 * | peers      | chat: connections this worker writes lines to (its own and the others')    |
 */
export const STAT = { bytesIn: 0, bytesOut: 1, drops: 2, lockWaits: 3, buffered: 4, peakQueued: 5, served: 6, peers: 7 } as const;
export const STAT_FIELDS = 8;
export const STATS_FLUSH_MS = 250;

export function statsMemory(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(workers * STAT_FIELDS * 8);
}

export type StatRow = { -readonly [K in keyof typeof STAT]: number };

/** Worker `i`'s row, as the main thread reads it. */
export function readStats(sab: SharedArrayBuffer, i: number): StatRow {
  const f = new Float64Array(sab, i * STAT_FIELDS * 8, STAT_FIELDS);
  const row = {} as StatRow;
  for (const k of Object.keys(STAT) as Array<keyof typeof STAT>) row[k] = f[STAT[k]]!;
  return row;
}
