/**
 * Drives the built `bufferevent` command (dist/cli.js) as a user would: a child process, its stdout and stderr read
 * line by line, and real node:net clients over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface Served {
  proc: ChildProcess;
  port: number;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stderr line matching `re` (already seen or still to come). */
  stderrLine(re: RegExp): Promise<string>;
  /** Resolves with the first JSON stats tick (serve --json) for which `pred` holds. */
  tick(pred: (t: Tick) => boolean): Promise<Tick>;
  /** SIGINT; resolves with the exit code and the JSON summary (with --json). */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; summary: Summary | null }>;
}

export interface Tick {
  workers: Array<{ worker: number; connections: number; bytesInPerSec: number; drops: number; buffered: number; peakQueued: number; served: number; peers: number }>;
  rejected: number;
}
export interface Summary {
  served: number;
  rejected: number;
  dropped: number;
  bytesIn: number;
  bytesOut: number;
  peakQueued: number;
}

const running = new Set<ChildProcess>();
/** Kill what a failed test left running. */
export function killLeftovers(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}

function lines(stream: NodeJS.ReadableStream, into: string[], onLine: () => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      into.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      onLine();
    }
  });
}

/** Run `node dist/cli.js <args>` to completion. */
export async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d));
  const [code] = (await once(proc, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Start `serve --port 0 --json <args>` and wait for its "listening on" line. */
export async function startServe(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  lines(proc.stdout!, stdout, poke);
  lines(proc.stderr!, stderr, poke);
  const exited = once(proc, 'exit') as Promise<[number | null]>;
  exited.then(() => {
    running.delete(proc);
    poke();
  });
  const waitFor = <T>(find: () => T | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const v = find();
        if (v !== undefined) {
          waiters.delete(check);
          resolve(v);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          waiters.delete(check);
          reject(new Error(`serve exited (${proc.exitCode ?? proc.signalCode}) before ${what}; stderr: ${stderr.join(' | ')}`));
        }
      };
      waiters.add(check);
      check();
    });
  const listening = await waitFor(() => stdout.find((l) => l.startsWith('listening on ')), 'listening');
  const port = Number(/:(\d+)$/.exec(listening)![1]);
  return {
    proc,
    port,
    stdout,
    stderr,
    stderrLine: (re) => waitFor(() => stderr.find((l) => re.test(l)), `a stderr line matching ${re}`),
    tick: (pred) =>
      waitFor(() => {
        for (const l of stdout) {
          if (!l.startsWith('{"time"')) continue;
          const t = JSON.parse(l) as Tick;
          if (pred(t)) return t;
        }
        return undefined;
      }, 'the expected stats'),
    async stop(signal = 'SIGINT') {
      proc.kill(signal);
      const [code] = await exited;
      const s = stdout.find((l) => l.startsWith('{"summary"'));
      return { code, summary: s ? (JSON.parse(s) as { summary: Summary }).summary : null };
    },
  };
}

/** A client that collects what it receives; `until(n)` resolves once n bytes arrived in total. */
export async function connect(port: number): Promise<{ sock: net.Socket; received(): Buffer; until(n: number): Promise<Buffer>; closed: Promise<void> }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true); // a client that only writes would otherwise wait for the server's delayed ACKs
  sock.on('error', () => {});
  const chunks: Buffer[] = [];
  let total = 0;
  const waits: Array<{ n: number; resolve: () => void }> = [];
  sock.on('data', (d: Buffer) => {
    chunks.push(d);
    total += d.length;
    for (const w of waits.filter((x) => total >= x.n)) {
      waits.splice(waits.indexOf(w), 1);
      w.resolve();
    }
  });
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await once(sock, 'connect');
  const received = (): Buffer => Buffer.concat(chunks);
  return {
    sock,
    received,
    closed,
    until: (n) =>
      total >= n
        ? Promise.resolve(received())
        : Promise.race([
            new Promise<void>((resolve) => waits.push({ n, resolve })),
            closed.then(() => {
              if (total < n) throw new Error(`closed after ${total} of ${n} bytes`);
            }),
          ]).then(received),
  };
}
