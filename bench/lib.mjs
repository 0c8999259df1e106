// Helpers shared by the side-by-side benchmarks (bench/echo.mjs, bench/chat.mjs): argument parsing, the CPU time and
// memory of a server's process tree from /proc, medians and number formatting.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

/** The repository root (bench/..), with a trailing slash. */
export const root = fileURLToPath(new URL('..', import.meta.url));

/** `opt(name, dflt)`: the value after `name` in `argv`, or `dflt`. */
export function options(argv) {
  return (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
}

/** "2 x AMD EPYC ..." */
export const machine = () => `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`;

// ---- /proc: CPU and memory of a server and its child processes -----------------------------------------------------
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux
/** `pid` and all its descendants (a process gone meanwhile is left out). */
export function descendants(pid) {
  const all = [pid];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) all.push(...descendants(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return all;
}
/** Sum `read(pid)` over the given processes (a process gone meanwhile counts 0). */
export function sumOverPids(pids, read) {
  let t = 0;
  for (const p of pids) {
    try {
      t += read(p);
    } catch {
      // gone meanwhile
    }
  }
  return t;
}
const cpuUsOne = (p) => {
  const st = readFileSync(`/proc/${p}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US; // utime, stime (fields 14 and 15)
};
const rssKbOne = (p) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
/** User+system CPU time (us) of a server and its child processes, all threads. */
export const cpuUs = (pid) => sumOverPids(descendants(pid), cpuUsOne);
/** RSS (KiB) of a server and its child processes. */
export const rssKb = (pid) => sumOverPids(descendants(pid), rssKbOne);
/** RSS (KiB) of a known list of processes (cheaper than rssKb for polling: no /proc scan). */
export const rssKbOf = (pids) => sumOverPids(pids, rssKbOne);

/** The whole machine's CPU time so far (us, all CPUs, from /proc/stat): busy (user, nice, system, irq, softirq, steal),
 *  of which softirq (on loopback, most of TCP's receive path) and steal (another tenant of the host), and idle. */
export function machineCpuUs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map((x) => Number(x) * TICK_US);
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq + steal, softirq, steal, idle: idle + iowait };
}

// ---- figures ------------------------------------------------------------------------------------------------------
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
/** { median, min, max } of a list of numbers. */
export const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
/** 1234.5 -> "1235", 12.34 -> "12.3" */
export const fmt = (v) => (v >= 100 ? Math.round(v).toString() : v.toFixed(1));
/** 1234567 -> "1.23M", 45678 -> "45.7k" */
export const fmtRate = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : fmt(v));
