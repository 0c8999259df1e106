import { processWideSab } from './process-sab.ts';
import { existsSync, readlinkSync } from 'node:fs';
import { THREAD_TAG } from './thread-id.ts';

/**
 * Which threads of this process are alive: a thread blocked in a lock uses this to tell whether the lock's holder
 * died, without help from any other thread (src/shm/rlock.ts calls it between wait slices).
 *
 * Each thread that loads the package records its OS thread id (Linux: `/proc/thread-self`) under its THREAD_TAG,
 * in a process-wide table and in its own arena's header (W_TID). The table is one SharedArrayBuffer passed down
 * through worker_threads environment data, so every worker started after the package was loaded in its parent
 * finds the same table. A holder is dead when its OS thread is no longer in `/proc/self/task`: that is true from the
 * moment the thread has exited, whatever ended it (`process.exit()`, an uncaught exception, `worker.terminate()`), and
 * whether or not its parent's event loop is running.
 *
 * Table layout (Int32, TABLE_SLOTS x 2 words; slot = tag mod TABLE_SLOTS):
 *
 * | word | field | written by                          | meaning                                  |
 * |------|-------|-------------------------------------|------------------------------------------|
 * | 2s   | tag   | the registering thread (Atomics)     | THREAD_TAG owning the slot, 0 when empty |
 * | 2s+1 | tid   | the registering thread, before `tag` | its OS thread id                         |
 *
 * A slot is overwritten by the thread whose tag is TABLE_SLOTS higher; a lookup checks the tag, so an overwritten
 * entry is "unknown" (no death check), never a wrong answer. Where `/proc` is missing the check is off and deaths are
 * learned only from the worker 'exit' event (src/shm/robust.ts).
 */
const TABLE_SLOTS = 8192;
const ENV_KEY = 'bufferevent:threads';

function readOsTid(): number {
  try {
    const t = readlinkSync('/proc/thread-self'); // "<pid>/task/<tid>"
    const tid = Number(t.slice(t.lastIndexOf('/') + 1));
    return Number.isInteger(tid) && tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

/** This thread's OS thread id, 0 where the platform does not tell. */
export const OS_TID: number = readOsTid();

const table = new Int32Array(processWideSab(ENV_KEY, TABLE_SLOTS * 8));
{
  const s = THREAD_TAG % TABLE_SLOTS;
  Atomics.store(table, 2 * s + 1, OS_TID);
  Atomics.store(table, 2 * s, THREAD_TAG); // publish: the tid above belongs to this tag
}

/** The OS thread id recorded for `tag`, or 0 when unknown. `fallback` is the tid from the tag's arena, if known. */
export function osTidOf(tag: number, fallback = 0): number {
  const s = tag % TABLE_SLOTS;
  if (Atomics.load(table, 2 * s) === tag) {
    const tid = Atomics.load(table, 2 * s + 1);
    if (tid !== 0) return tid;
  }
  return fallback;
}

/** True when the thread with this tag is known to have exited. False when alive or unknown. */
export function threadGone(tag: number, fallbackTid = 0): boolean {
  if (tag === THREAD_TAG || OS_TID === 0) return false;
  const tid = osTidOf(tag, fallbackTid);
  return tid !== 0 && !existsSync(`/proc/self/task/${tid}`);
}
