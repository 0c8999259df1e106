/**
 * A one-shot timer for any delay libevent accepts, cheap to push back. Node's setTimeout fires at once (with a
 * TimeoutOverflowWarning) for delays above 2^31-1 ms (about 24.8 days); a longer delay runs as a chain of shorter
 * timers toward the same deadline.
 *
 * Pushing the deadline back (a bufferevent's read or write timeout after each read or write) keeps the Node timer
 * that is already running: when it fires early it is re-armed for the time left. Only a deadline earlier than the
 * running timer replaces it. So a busy connection with a timeout costs one clock read per re-arm, not a clearTimeout
 * and a setTimeout.
 *
 * Unref'd: an event base keeps itself alive through its own count of pending events. @thread the creator
 */
const MAX_NODE_DELAY = 2 ** 31 - 1;
/** A timer that fires this close to its deadline (ms) counts as due: Node's clock and performance.now() differ. */
const DUE_SLACK_MS = 1;

export class LongTimer {
  private t: NodeJS.Timeout | null = null;
  /** When the running Node timer fires (performance.now() time). */
  private fireAt = 0;
  private deadline = 0;
  private fn: (() => void) | null = null;

  /** True while armed. */
  get pending(): boolean {
    return this.fn !== null;
  }

  /** Run `fn` once after `ms` milliseconds from `now` (replacing an armed deadline). */
  start(ms: number, fn: () => void, now = performance.now()): void {
    this.deadline = now + ms;
    this.fn = fn;
    if (this.t !== null && this.fireAt <= this.deadline) return; // it fires first and re-arms for the rest
    this.schedule(now);
  }

  /** Disarm and stop the Node timer. */
  clear(): void {
    this.fn = null;
    if (this.t !== null) {
      clearTimeout(this.t);
      this.t = null;
    }
  }

  /**
   * Disarm, keeping the Node timer: a later `start` whose deadline is not earlier reuses it, and if it fires first it
   * does nothing. For timers that are disarmed and re-armed all the time (a write timeout, disarmed whenever the
   * output empties). The stale timer holds only this object; call `clear` when the owner goes away.
   */
  disarm(): void {
    this.fn = null;
  }

  private schedule(now: number): void {
    if (this.t !== null) clearTimeout(this.t);
    const delay = Math.min(Math.max(0, this.deadline - now), MAX_NODE_DELAY);
    this.fireAt = now + delay;
    this.t = setTimeout(this.onFire, delay);
    this.t.unref();
  }

  private readonly onFire = (): void => {
    this.t = null;
    const fn = this.fn;
    if (fn === null) return;
    const now = performance.now();
    if (this.deadline - now > DUE_SLACK_MS) {
      this.schedule(now);
      return;
    }
    this.fn = null;
    fn();
  };
}
