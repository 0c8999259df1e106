/**
 * Command-line argument helpers: one error type for bad usage (printed as one line, exit code 2) and the number and
 * address checks the subcommands share.
 */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

/** An integer flag within [min, max]. */
export function intFlag(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** A number of seconds >= 0 (fractions allowed). */
export function secondsFlag(name: string, value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n > 2 ** 31 / 1000) throw new UsageError(`--${name} must be a number of seconds >= 0 (got ${JSON.stringify(value)})`);
  return n;
}

/** HOST:PORT, [IPv6]:PORT. */
export function hostPort(name: string, value: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  if (!m) throw new UsageError(`--${name} must be HOST:PORT (got ${JSON.stringify(value)})`);
  return { host: m[1]!, port: intFlag(name, m[2]!, 1, 65535) };
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(name: string, value: string, words: readonly T[]): T {
  if (!(words as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${words.join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

/** Human-readable byte rate. */
export function rate(bytesPerSec: number): string {
  if (bytesPerSec >= 1e9) return `${(bytesPerSec / 1e9).toFixed(2)} GB/s`;
  if (bytesPerSec >= 1e6) return `${(bytesPerSec / 1e6).toFixed(1)} MB/s`;
  if (bytesPerSec >= 1e3) return `${(bytesPerSec / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(bytesPerSec)} B/s`;
}
