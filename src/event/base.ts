import { THREAD_TAG } from '../shm/thread-id.ts';
import { listen, unlisten } from '../shm/owner.ts';
import { LongTimer } from './long-timer.ts';
import { rlockTryLock, rlockUnlock, rlockLockAsync, threadLockWaits, threadLockWaitMs, lockWaitHistogram } from '../shm/rlock.ts';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { codedError, freedError, rangeError, typeError, cloneGuard } from '../errors.ts';
import type net from 'node:net';
import { intArg, maskArg, timevalArg, fnOrNull, objOrNull, type Timeval } from '../validate.ts';

export const EV_TIMEOUT = 0x01;
export const EV_READ = 0x02;
export const EV_WRITE = 0x04;
export const EV_SIGNAL = 0x08;
export const EV_PERSIST = 0x10;
export const EV_ET = 0x20;
export const EV_FINALIZE = 0x40;
export const EV_CLOSED = 0x80;

export const EVLOOP_ONCE = 0x01;
export const EVLOOP_NONBLOCK = 0x02;
export const EVLOOP_NO_EXIT_ON_EMPTY = 0x04;

/** libevent's MAX_DEFERREDS_QUEUED: deferred callbacks queued in one iteration beyond this wait for the next one. */
export const MAX_DEFERREDS_QUEUED = 32;
const MAX_PRIORITIES = 256;

/**
 * One unit of work the base can run (libevent's `struct event_callback`): an event, a deferred callback or a
 * finalizer. @thread base owner only (every field is local to the owning thread)
 */
export class EvCallback {
  /** @internal */ base: EventBase;
  /** @internal */ fn: (res: number) => void;
  /** @internal */ priority: number;
  /** @internal */ queued = false;
  /** @internal */ later = false;
  /** @internal */ res = 0;
  /**
   * @internal The shared lock this callback takes first, if any ([view, offset]; offset 0 = none). The base takes it
   * with tryLock before running the callback; when another thread holds it, the base does not block: it acquires it
   * asynchronously (Atomics.waitAsync) and runs the callback then, serving its other callbacks meanwhile.
   */
  lockOf: (() => [Int32Array, number]) | null = null;
  /** @internal */ constructor(base: EventBase, fn: (res: number) => void, priority: number, lockOf: (() => [Int32Array, number]) | null = null) {
    this.base = base;
    this.fn = fn;
    this.priority = priority;
    this.lockOf = lockOf;
  }
}

const BASE_CLONE_GUARD = cloneGuard(
  'an event base',
  'a base runs on the thread that made it; make one there with event_base_new(), or let startRuntime() run one per worker',
);

/**
 * An event base: the loop of one thread. It runs callbacks only inside `loop()`; the Node event loop supplies the I/O
 * and timers, which activate callbacks that the base then runs in priority order, one queue per iteration, as
 * libevent's event_process_active does.
 *
 * Thread contract: a base belongs to the thread that made it; every method runs on that thread only.
 */
export class EventBase {
  /** @internal Makes postMessage(this) fail with a message naming what to post instead (errors.ts cloneGuard). */
  readonly cloneGuard = BASE_CLONE_GUARD;
  /** @internal */ readonly owner = THREAD_TAG;
  /** @internal */ npriorities = 1;
  /** @internal */ queues: EvCallback[][] = [[]];
  /** @internal */ laterQueue: EvCallback[] = [];
  /** @internal */ nActive = 0;
  /** @internal Events added (pending) that keep the loop from exiting as "empty". */ nAdded = 0;
  /** @internal */ deferredThisIter = 0;
  /** @internal */ running = false;
  /** @internal */ gotExit = false;
  /** @internal */ gotBreak = false;
  /** @internal */ exitRequested = false;
  /** @internal loopexit timers: each is a pending event until it fires; the first to fire exits the loop. */ exitTimers = new Map<LongTimer, number>();
  /** @internal */ wake: (() => void) | null = null;
  /** @internal */ freed = false;
  /** @internal Objects to finalize when the base is freed (bufferevents whose finalizer is queued). */ finalizers = new Set<EvCallback>();
  /** @internal Told when the loop starts (sockets whose reading paused while the base was idle). */ onLoopStart = new Set<{ loopStarted(): void }>();

  /** @internal */
  live(): void {
    if (this.freed) throw freedError('event_base');
  }

  /** @internal Throw unless called on the owning thread. */
  inThread(): void {
    if (THREAD_TAG !== this.owner) throw codedError('ERR_BEV_WRONG_THREAD', 'this call must run on the thread that owns the event base');
  }

  /** event_base_priority_init: use `n` priorities (before any event is active). 0, or -1. */
  priorityInit(n: number): number {
    this.live();
    const np = intArg(n, 'npriorities');
    if (np < 1 || np > MAX_PRIORITIES) return -1;
    if (this.nActive > 0) return -1;
    this.npriorities = np;
    this.queues = Array.from({ length: np }, () => []);
    return 0;
  }

  /** @internal Mark a callback active (event_active_nolock_). */
  activate(cb: EvCallback, res: number): void {
    this.enqueue(cb, res);
    this.kick();
  }

  /**
   * @internal activate, for the completion of socket I/O that will not be followed at once by more of the same
   * socket's I/O (a read that did not fill its region, a write's completion). A waiting loop runs once Node has
   * delivered the rest of this poll's I/O (setImmediate), so one pass of the loop serves every connection that became
   * ready together, as one pass of libevent's loop serves all that one epoll_wait returned.
   */
  activateFromIo(cb: EvCallback, res: number): void {
    this.enqueue(cb, res);
    if (this.wake !== null && this.wakeSoon === null) this.wakeSoon = setImmediate(this.wakeNow);
  }

  private enqueue(cb: EvCallback, res: number): void {
    if (cb.queued) {
      cb.res |= res;
      return;
    }
    cb.queued = true;
    cb.res = res;
    this.nActive++;
    (this.queues[Math.min(cb.priority, this.npriorities - 1)] ?? this.queues[0]!).push(cb);
  }

  /** The wake-up activateFromIo scheduled, until it runs or a kick wakes the loop first. */
  private wakeSoon: NodeJS.Immediate | null = null;
  private readonly wakeNow = (): void => {
    this.wakeSoon = null;
    this.kick();
  };

  /** @internal loop iterations that ran callbacks' queue (base.stats) */ nIterations = 0;
  /** @internal callbacks run by this base's loop */ nCallbacksRun = 0;
  /** @internal deferred callbacks queued */ nDeferred = 0;

  /** @internal The callback-duration histogram, made on first use and kept when recording stops. */
  private cbHistogram: RecordableHistogram | null = null;
  /** @internal Where callback durations are recorded: the histogram while recording is on, else null. */
  cbHist: RecordableHistogram | null = null;
  /** @internal Nesting depth of timed callbacks (a callback that runs another one): only the outermost is recorded. */
  private cbDepth = 0;

  /**
   * Record how long each callback this base runs takes (not in libevent): an event's, a deferred callback's, or a
   * bufferevent's read, write or event callback run from I/O. A callback run inside another one counts in the outer
   * one's time. Off by default: the two clock reads per callback are paid only while it is on. The figures, in
   * nanoseconds, are `stats().callbackHistogram`.
   */
  recordCallbackDurations(on: boolean = true): void {
    this.live();
    this.cbHist = on ? (this.cbHistogram ??= createHistogram()) : null;
  }

  /** A queued callback while durations are recorded. */
  private runTimed(cb: EvCallback, res: number): void {
    const t0 = this.cbStart();
    try {
      cb.fn(res);
    } finally {
      this.cbEnd(t0);
    }
  }

  /** @internal Before running a callback: its start time, -1 when recording is off, -2 when nested in a timed one. */
  cbStart(): number {
    if (this.cbHist === null) return -1;
    return this.cbDepth++ === 0 ? performance.now() : -2;
  }

  /** @internal After running a callback (also when it threw), with what cbStart returned. */
  cbEnd(t0: number): void {
    if (t0 === -1) return;
    this.cbDepth--;
    if (t0 >= 0 && this.cbHist !== null) this.cbHist.record(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
  }

  /**
   * Counters of this base (not in libevent), readable on its thread: loop iterations, callbacks run, deferred
   * callbacks queued, callbacks active now, events pending, this thread's contended lock waits (count, total
   * milliseconds, and a histogram of the waits in nanoseconds from perf_hooks), and the durations of callbacks in
   * nanoseconds (a perf_hooks histogram, empty unless `recordCallbackDurations()` turned recording on).
   */
  stats(): { iterations: number; callbacksRun: number; deferred: number; active: number; pending: number; lockWaits: number; lockWaitMs: number; lockWaitHistogram: RecordableHistogram; callbackHistogram: RecordableHistogram } {
    this.live();
    return {
      iterations: this.nIterations,
      callbacksRun: this.nCallbacksRun,
      deferred: this.nDeferred,
      active: this.nActive,
      pending: this.nAdded,
      lockWaits: threadLockWaits(),
      lockWaitMs: threadLockWaitMs(),
      lockWaitHistogram: lockWaitHistogram(),
      callbackHistogram: (this.cbHistogram ??= createHistogram()),
    };
  }

  /** @internal Queue a deferred callback; past MAX_DEFERREDS_QUEUED in this iteration it waits for the next one. */
  scheduleDeferred(cb: EvCallback): boolean {
    if (cb.queued) return false;
    this.nDeferred++;
    // libevent (event_deferred_cb_schedule_): queue now while at most MAX_DEFERREDS_QUEUED were queued this iteration,
    // so 33 run in the iteration and the next ones wait for the next iteration
    if (this.deferredThisIter > MAX_DEFERREDS_QUEUED) {
      cb.queued = true;
      cb.later = true;
      cb.res = 0;
      this.nActive++;
      this.laterQueue.push(cb);
      this.kick();
      return true;
    }
    this.activate(cb, 0);
    this.deferredThisIter++;
    return true;
  }

  /** @internal Remove a callback from the active queues (event_del of an active event). */
  deactivate(cb: EvCallback): void {
    if (!cb.queued) return;
    const q = cb.later ? this.laterQueue : this.queues[Math.min(cb.priority, this.npriorities - 1)]!;
    const i = q.indexOf(cb);
    if (i >= 0) q.splice(i, 1);
    cb.queued = false;
    cb.later = false;
    this.nActive--;
  }

  /**
   * @internal One pending event fewer (event_del and the like). When none is left, wake a waiting loop so it can see
   * that it is empty and return, as libevent's loop does on its next check.
   */
  unpend(): void {
    if (--this.nAdded === 0) this.kick();
  }

  /**
   * @internal The time callbacks of this loop turn see (libevent's cached time, `event_base_gettimeofday_cached`): read
   * once when the turn starts running callbacks, so arming a timeout from a callback costs no clock read. Outside a
   * turn, the clock itself. performance.now() milliseconds.
   */
  now(): number {
    return this.timeCache !== 0 ? this.timeCache : performance.now();
  }
  private timeCache = 0;

  /** @internal Wake a loop that is waiting for activity. */
  kick(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      if (this.wakeSoon !== null) {
        clearImmediate(this.wakeSoon);
        this.wakeSoon = null;
      }
      w();
    }
  }

  /** Run callbacks of the highest-priority non-empty queue (event_process_active). Returns how many ran. */
  private processActive(): number {
    let ran = 0;
    for (let p = 0; p < this.queues.length; p++) {
      const q = this.queues[p]!;
      if (q.length === 0) continue;
      // Callbacks activated while this queue runs, at this priority, run in this iteration too (libevent's TAILQ).
      while (q.length > 0) {
        const cb = q.shift()!;
        cb.queued = false;
        this.nActive--;
        const res = cb.res;
        cb.res = 0;
        ran++;
        const lk = cb.lockOf === null ? null : cb.lockOf();
        if (lk !== null && lk[1] !== 0) {
          if (!rlockTryLock(lk[0], lk[1])) {
            this.runWhenLocked(cb, res, lk);
            continue;
          }
          try {
            if (this.cbHist === null) cb.fn(res);
            else this.runTimed(cb, res);
          } finally {
            rlockUnlock(lk[0], lk[1]);
          }
        } else if (this.cbHist === null) {
          cb.fn(res);
        } else {
          this.runTimed(cb, res);
        }
        if (this.gotBreak) return ran;
      }
      break;
    }
    return ran;
  }

  /** @internal Errors thrown by user code while this loop served other threads' requests (src/shm/owner.ts). */
  private deliveryErrors: unknown[] = [];

  /** @internal Callbacks waiting for a lock held by another thread (they keep the loop from exiting as empty). */
  nBlocked = 0;

  /** Contended lock: acquire it without blocking the loop, then run the callback holding it. */
  private runWhenLocked(cb: EvCallback, res: number, lk: [Int32Array, number]): void {
    this.nBlocked++;
    this.nAdded++;
    void rlockLockAsync(lk[0], lk[1]).then(() => {
      this.nBlocked--;
      this.unpend();
      try {
        if (this.running && !this.freed) {
          if (this.cbHist === null) cb.fn(res);
          else this.runTimed(cb, res);
        } else this.activate(cb, res); // the loop stopped meanwhile: run it when the loop runs again
      } catch (err) {
        // ran outside the loop's own call stack: the loop ends with the error, as for a callback that throws in it
        this.deliveryErrors.push(err);
      } finally {
        rlockUnlock(lk[0], lk[1]);
        this.kick();
      }
    });
  }

  /** event_base_loop. Resolves 0 on a normal exit, 1 when nothing was pending or active, -1 on error. */
  /**
   * event_base_loop. `options.signal` (not in libevent; `base.loop(flags, { signal })` or `base.loop({ signal })`): an
   * abort ends the loop as event_base_loopbreak does, and the loop's promise then rejects with an AbortError whose
   * `cause` is the signal's reason.
   */
  loop(flags?: number, options?: { signal?: AbortSignal }): Promise<number>;
  loop(options: { signal?: AbortSignal }): Promise<number>;
  async loop(flags: unknown = 0, options?: { signal?: AbortSignal }): Promise<number> {
    this.live();
    this.inThread();
    if (typeof flags === 'object' && flags !== null) {
      options = flags as { signal?: AbortSignal }; // base.loop({ signal }): flags 0
      flags = 0;
    }
    const f = maskArg(flags, 'flags');
    const signal = abortSignalOption(options);
    if (signal?.aborted) throw abortError(signal);
    if (this.running) return -1; // libevent: "already running"
    this.running = true;
    this.gotExit = false;
    this.gotBreak = false;
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      this.gotBreak = true;
      this.kick();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const keepAlive = setInterval(noop, 1 << 30); // a pending promise does not keep Node alive; this does
    let retval = 0;
    // requests from other threads (src/shm/owner.ts) are served while this loop runs; an error that user code throws
    // during such a delivery ends this loop as a throwing callback of its own does
    const sink = (err: unknown): void => {
      this.deliveryErrors.push(err);
      this.kick();
    };
    listen(sink);
    try {
      this.cbDepth = 0; // a callback that threw out of an earlier loop left its level behind
      for (const h of this.onLoopStart) h.loopStarted();
      for (;;) {
        if (this.exitRequested) {
          this.exitRequested = false;
          this.gotExit = true;
        }
        if (this.gotExit || this.gotBreak) break;
        // Move "active later" callbacks into the active queues, reset the per-iteration deferred count.
        this.deferredThisIter = 0;
        if (this.laterQueue.length > 0) {
          const later = this.laterQueue;
          this.laterQueue = [];
          for (const cb of later) {
            cb.queued = false;
            cb.later = false;
            this.nActive--;
            this.activate(cb, cb.res);
          }
        }
        // "Poll": let Node deliver I/O and timers. Without active work wait for some, unless NONBLOCK.
        if (this.nActive === 0) {
          if (this.nAdded === 0 && (f & EVLOOP_NO_EXIT_ON_EMPTY) === 0) {
            retval = 1;
            break;
          }
          if (f & EVLOOP_NONBLOCK) await yieldToIo();
          else await new Promise<void>((resolve) => (this.wake = resolve));
        } else {
          await yieldToIo();
        }
        if (this.freed) break;
        this.wake = null;
        if (this.deliveryErrors.length > 0) throw this.deliveryErrors.shift();
        if (this.exitRequested) {
          this.exitRequested = false;
          this.gotExit = true;
          // loopexit(NULL) lets the callbacks already active run, then exits
        }
        this.timeCache = performance.now();
        let ran: number;
        try {
          ran = this.processActive();
        } finally {
          this.timeCache = 0;
        }
        this.nIterations++;
        this.nCallbacksRun += ran;
        if (this.gotBreak) break;
        // EVLOOP_ONCE: done once something ran and nothing is left active (libevent's N_ACTIVE_CALLBACKS == 0), so
        // lower-priority or deferred-later callbacks queued with it run too
        if ((f & EVLOOP_ONCE) !== 0 && ran > 0 && this.nActive === 0) break;
        if (f & EVLOOP_NONBLOCK) break;
      }
    } catch (err) {
      retval = -1;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      unlisten(sink);
      clearInterval(keepAlive);
      this.wake = null;
      if (this.wakeSoon !== null) {
        clearImmediate(this.wakeSoon);
        this.wakeSoon = null;
      }
      this.running = false;
    }
    if (aborted) throw abortError(signal!);
    return retval;
  }

  /** event_base_loopexit: end the loop after `tv` (null: after the callbacks now active have run). 0. */
  loopexit(tv: Timeval | null): number {
    this.live();
    const ms = timevalArg(tv, 'tv');
    if (ms === null) {
      this.exitRequested = true;
      this.kick();
      return 0;
    }
    this.nAdded++;
    const deadline = performance.now() + ms;
    const t = new LongTimer();
    t.start(ms, () => {
      // libevent runs every due timeout in one iteration: the other exit timers that are due now fire with this one
      for (const [other, d] of this.exitTimers) {
        if (other === t || d <= performance.now() + 1) {
          other.clear();
          this.exitTimers.delete(other);
          this.nAdded--;
        }
      }
      this.exitRequested = true;
      this.kick();
    });
    this.exitTimers.set(t, deadline);
    return 0;
  }

  loopbreak(): number {
    this.live();
    this.gotBreak = true;
    this.kick();
    return 0;
  }

  /** `await using base = event_base_new()`: event_base_free at the end of the scope, after one non-blocking turn of
   * the loop so that bufferevents freed in the scope are finalized first (nothing when it was freed already). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.freed) return;
    if (!this.running) await this.loop(EVLOOP_NONBLOCK);
    if (!this.freed) this.free();
  }

  /** event_base_free: runs pending finalizers, then the base is gone. */
  free(): void {
    this.live();
    if (this.running) {
      // libevent's event_base_free under a running loop is undefined behaviour; here it is refused
      throw codedError('ERR_BEV_BASE_RUNNING', 'event_base_free on a base whose loop is running: end the loop first (event_base_loopbreak)');
    }
    // finalizers may queue more (a filter's drops the last reference on its underlying): run until none is left
    while (this.finalizers.size > 0) {
      for (const cb of [...this.finalizers]) {
        this.finalizers.delete(cb);
        if (cb.queued) this.deactivate(cb);
        cb.fn(0);
      }
    }
    for (const t of this.exitTimers.keys()) t.clear();
    this.nAdded -= this.exitTimers.size;
    this.exitTimers.clear();
    this.freed = true;
    this.kick();
  }
}

function noop(): void {}
/** `options` of a call that takes `{ signal }`: the signal, or undefined. */
/** `{ signal }` of an options object: the AbortSignal, or undefined. */
export function abortSignalOption(options: unknown): AbortSignal | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw typeError('options', 'an object', options);
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', signal);
  return signal;
}

/** The error an aborted operation rejects with, as Node's own APIs do (name 'AbortError', code 'ABORT_ERR'). */
/** The rejection of an aborted operation, as Node's own: name 'AbortError', code 'ABORT_ERR', cause the reason. */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  Object.defineProperty(e, 'code', { value: 'ABORT_ERR', enumerable: true });
  return e;
}

function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export type EventCb = (fd: net.Socket | number, what: number, arg: unknown) => void;

/**
 * A user event (`struct event`): a timer (fd -1), or an fd/socket registration that fires through `event_active`.
 * Node cannot poll an arbitrary file descriptor without reading from it, so EV_READ/EV_WRITE readiness of user
 * events is not watched; bufferevents do their own socket I/O. @thread base owner only
 */
export class Event extends EvCallback {
  /** @internal */ fd: net.Socket | number;
  /** @internal */ events: number;
  /** @internal */ cb: EventCb;
  /** @internal */ arg: unknown;
  /** @internal */ added = false;
  /** @internal */ readonly timer = new LongTimer();
  /** @internal */ timeoutMs: number | null = null;
  /** @internal */ deadline = 0;
  /** @internal */ freed = false;

  constructor(base: EventBase, fd: net.Socket | number, events: number, cb: EventCb, arg: unknown) {
    if (!(base instanceof EventBase) || typeof cb !== 'function') throw typeError('base', 'an EventBase (events come from event_new)', base);
    super(base, (res) => this.run(res), Math.floor(base.npriorities / 2));
    this.fd = fd;
    this.events = events;
    this.cb = cb;
    this.arg = arg;
  }

  /** @internal */
  live(): void {
    if (this.freed) throw freedError('event');
  }

  private run(res: number): void {
    if (this.freed) return;
    if ((this.events & EV_PERSIST) === 0) {
      this.delInternal();
    } else if (this.timeoutMs !== null && this.added) {
      this.armTimer(this.timeoutMs); // a persistent event's timeout restarts when it runs
    }
    this.cb(this.fd, res, this.arg);
  }

  private armTimer(ms: number): void {
    this.deadline = Date.now() + ms;
    this.timer.start(ms, () => this.base.activate(this, EV_TIMEOUT));
  }

  /** event_add: make the event pending, with a timeout when `tv` is given. 0, or -1. */
  add(tv: Timeval | null): number {
    this.live();
    this.base.live();
    const ms = timevalArg(tv, 'tv');
    if (!this.added) {
      this.added = true;
      this.base.nAdded++;
    }
    this.timeoutMs = ms;
    if (ms !== null) this.armTimer(ms);
    else this.timer.clear();
    return 0;
  }

  /** @internal */
  delInternal(): void {
    if (this.added) {
      this.added = false;
      this.base.unpend();
    }
    this.timer.clear();
  }

  del(): number {
    this.live();
    this.delInternal();
    this.base.deactivate(this);
    return 0;
  }

  /** event_active: make the event active with result flags `res`, as if it had fired. */
  active(res: number, _ncalls: number): void {
    this.live();
    const r = maskArg(res, 'res');
    this.base.activate(this, r);
  }

  /** event_pending: which of `what` are pending (or active); fills tv_out with the time left when a timer is set. */
  pending(what: number, tvOut: { tv_sec?: number; tv_usec?: number } | null): number {
    this.live();
    const w = maskArg(what, 'what');
    const out = objOrNull<{ tv_sec?: number; tv_usec?: number }>(tvOut, 'tv_out');
    let flags = 0;
    if (this.added) flags |= this.events & (EV_READ | EV_WRITE | EV_SIGNAL);
    if (this.timer.pending) flags |= EV_TIMEOUT;
    if (this.queued) flags |= this.res;
    flags &= w & (EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL);
    if (out && this.timer.pending && (w & EV_TIMEOUT)) {
      const left = Math.max(0, this.deadline - Date.now());
      out.tv_sec = Math.floor(left / 1000);
      out.tv_usec = Math.round((left % 1000) * 1000);
    }
    return flags;
  }

  /** event_priority_set: the priority the event runs at (0 is the most urgent). 0, or -1. */
  prioritySet(pri: number): number {
    this.live();
    const p = intArg(pri, 'pri');
    if (this.queued) return -1;
    if (p < 0 || p >= this.base.npriorities) return -1;
    this.priority = p;
    return 0;
  }

  free(): void {
    this.live();
    this.del();
    this.freed = true;
  }
}

export function newEvent(base: unknown, fd: unknown, what: unknown, cb: unknown, arg: unknown): Event {
  if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase', base);
  base.live();
  base.inThread();
  const ev = maskArg(what, 'what');
  const f = fnOrNull<EventCb>(cb, 'cb');
  if (f === null) throw typeError('cb', 'a function', cb);
  if (typeof fd !== 'number' && (typeof fd !== 'object' || fd === null)) throw typeError('fd', 'a number or a net.Socket', fd);
  if (typeof fd === 'number' && (!Number.isInteger(fd) || fd < -1)) throw rangeError('fd', '-1 or a file descriptor', fd);
  return new Event(base, fd as net.Socket | number, ev, f, arg);
}
