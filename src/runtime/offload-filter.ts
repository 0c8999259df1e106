import type { Piscina } from 'piscina';
import { Bufferevent, checkBev, BEV_OPT_DEFER_CALLBACKS } from '../bufferevent/core.ts';
import { filterNew, FilterBufferevent, BEV_OK, BEV_NEED_MORE } from '../bufferevent/filter.ts';
import type { Evbuffer } from '../evbuffer/evbuffer.ts';
import { EV_READ } from '../event/base.ts';
import { typeError } from '../errors.ts';

/**
 * A filter whose work runs in a piscina pool, off the I/O thread: for CPU-heavy transforms (compression, crypto)
 * that would otherwise stall every connection of the event base.
 *
 * piscina fits here because each chunk is a run-to-completion task; the event bases themselves are long-lived loops
 * and run on plain workers (src/runtime/runtime.ts).
 *
 * How it works: the filter function takes what is waiting in its source, sends it to the pool as one task (the bytes
 * are copied into a transferable ArrayBuffer) and reports BEV_NEED_MORE; when the task resolves, the result is added
 * to the destination (the filter's input, then its read callback is triggered; or the underlying's output, which
 * writes it). One task per direction is in flight at a time, so chunks keep their order; an EOF from the underlying is
 * passed on after the last input chunk (and the BEV_FINISHED pass) has come back. The task receives
 * `{ data: Uint8Array, finished: boolean }` (finished on BEV_FINISHED) and returns a Uint8Array (or ArrayBuffer).
 */
export interface OffloadFilterOptions {
  pool: Piscina;
  /** piscina task name for the input direction (underlying -> filter), or undefined for pass-through. */
  input?: string;
  /** piscina task name for the output direction (filter -> underlying). */
  output?: string;
  /** BEV_OPT_* for the filter (DEFER_CALLBACKS is added: results arrive asynchronously anyway). */
  options?: number;
}

interface Direction {
  task: string;
  busy: boolean;
  /** a chunk waits because a task was in flight */
  again: boolean;
  /** a BEV_FINISHED pass came while a task was in flight: the resubmission carries `finished` */
  finished: boolean;
  /** resolves when nothing is in flight any more */
  idle: Promise<void> | null;
  settle: (() => void) | null;
}

/** Make a filter bufferevent over `underlying` whose input and/or output transform runs as piscina tasks (above). */
export function offloadFilterNew(underlying: Bufferevent, opts: OffloadFilterOptions): FilterBufferevent {
  checkBev(underlying, 'underlying');
  underlying.live();
  if (!opts || typeof opts !== 'object') throw typeError('options', 'an OffloadFilterOptions object', opts);
  const pool = opts.pool;
  if (!pool || typeof (pool as { run?: unknown }).run !== 'function') throw typeError('options.pool', 'a Piscina pool', pool);
  let filter: FilterBufferevent | null = null;
  let inputDir: Direction | null = null;
  const make = (name: string | undefined, toFilterInput: boolean) => {
    if (name === undefined) return null;
    if (typeof name !== 'string') throw typeError(toFilterInput ? 'options.input' : 'options.output', 'a task name', name);
    const dir: Direction = { task: name, busy: false, again: false, finished: false, idle: null, settle: null };
    if (toFilterInput) inputDir = dir;
    const submit = (src: Evbuffer, dst: Evbuffer, finished: boolean): void => {
      const n = src.lengthLocked();
      if (n === 0 && !finished) return;
      const chunk = new Uint8Array(n);
      src.remove(chunk);
      dir.busy = true;
      dir.idle ??= new Promise<void>((r) => (dir.settle = r));
      void pool.run({ data: chunk, finished }, { name: dir.task, transferList: [chunk.buffer] }).then(
        (out: unknown) => {
          dir.busy = false;
          const f = filter;
          if (!f || f.dead) return;
          const bytes = out instanceof Uint8Array ? out : out instanceof ArrayBuffer ? new Uint8Array(out) : null;
          if (bytes && bytes.length > 0) {
            dst.add(bytes);
            if (toFilterInput) f.trigger(EV_READ, 0);
          }
          if (dir.again) {
            dir.again = false;
            const fin = dir.finished;
            dir.finished = false;
            f.increfAndLock();
            try {
              submit(src, dst, fin);
            } finally {
              f.decrefAndUnlock();
            }
          }
          if (!dir.busy) settle();
        },
        () => {
          dir.busy = false;
          settle();
          const f = filter;
          if (f && !f.dead) f.triggerEvent(0x20 | (toFilterInput ? 0x01 : 0x02), 0); // BEV_EVENT_ERROR|READING/WRITING
        },
      );
    };
    const settle = (): void => {
      const r = dir.settle;
      dir.idle = null;
      dir.settle = null;
      r?.();
    };
    return (src: Evbuffer, dst: Evbuffer, _limit: number, mode: number): number => {
      if (dir.busy) {
        dir.again = true;
        if (mode === 2) dir.finished = true;
        return BEV_NEED_MORE;
      }
      submit(src, dst, mode === 2);
      return src.lengthLocked() === 0 && dir.busy ? BEV_NEED_MORE : BEV_OK;
    };
  };
  const fin = make(opts.input, true);
  const fout = make(opts.output, false);
  filter = filterNew(
    underlying,
    fin ?? null,
    fout ?? null,
    (opts.options ?? 0) | BEV_OPT_DEFER_CALLBACKS,
    null,
    null,
  );
  // the underlying's EOF reaches the user after the last offloaded input chunk (and its BEV_FINISHED pass) is in
  filter.eofGate = () => (inputDir?.busy ? inputDir.idle : null);
  return filter;
}

