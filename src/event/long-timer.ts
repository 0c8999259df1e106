/**
 * A one-shot timer for any delay libevent accepts. Node's setTimeout fires at once (with a TimeoutOverflowWarning)
 * for delays above 2^31-1 ms (about 24.8 days); a longer delay is run as a chain of shorter timers toward the same
 * deadline. Unref'd: an event base keeps itself alive through its own count of pending events. @thread the creator
 */
const MAX_NODE_DELAY = 2 ** 31 - 1;

export class LongTimer {
  private t: NodeJS.Timeout | null = null;

  /** True while armed. */
  get pending(): boolean {
    return this.t !== null;
  }

  /** Run `fn` once after `ms` milliseconds (replacing an armed timer). */
  start(ms: number, fn: () => void): void {
    this.clear();
    const deadline = performance.now() + ms;
    const step = (): void => {
      const left = deadline - performance.now();
      if (left > MAX_NODE_DELAY) {
        this.t = setTimeout(step, MAX_NODE_DELAY);
      } else {
        this.t = setTimeout(() => {
          this.t = null;
          fn();
        }, Math.max(0, left));
      }
      this.t.unref();
    };
    step();
  }

  clear(): void {
    if (this.t !== null) {
      clearTimeout(this.t);
      this.t = null;
    }
  }
}
