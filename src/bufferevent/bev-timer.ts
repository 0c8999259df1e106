import { EventBase, EvCallback } from '../event/base.ts';
import { LongTimer } from '../event/long-timer.ts';

/**
 * A pure timer owned by a bufferevent (ev_read / ev_write of pairs and filters, the generic timeout events). Its
 * event and timer are made the first time it is armed: most connections never set a timeout.
 * @thread base owner only
 */
export class BevTimer {
  private pri: number;
  private t: LongTimer | null = null;
  private cb: EvCallback | null = null;
  private readonly base: EventBase;
  private readonly fn: () => void;
  private readonly lockOf: (() => [Int32Array, number]) | null;
  constructor(base: EventBase, fn: () => void, lockOf: (() => [Int32Array, number]) | null = null) {
    this.base = base;
    this.fn = fn;
    this.lockOf = lockOf;
    this.pri = Math.floor(base.npriorities / 2);
  }
  /** The timer's priority follows its bufferevent's (bufferevent_priority_set). */
  set priority(p: number) {
    this.pri = p;
    if (this.cb !== null) this.cb.priority = p;
  }
  get pending(): boolean {
    return this.t !== null && this.t.pending;
  }
  /** Arm for `ms`, replacing a pending deadline (the running Node timer is kept when it fires first). */
  arm(ms: number): void {
    if (this.t !== null && this.t.pending) this.base.unpend();
    if (this.cb !== null) this.base.deactivate(this.cb);
    this.cb ??= new EvCallback(this.base, this.fn, this.pri, this.lockOf);
    this.base.nAdded++;
    (this.t ??= new LongTimer()).start(ms, this.fire, this.base.now());
  }
  private readonly fire = (): void => {
    this.base.unpend();
    this.base.activate(this.cb!, 1);
  };
  /** Disarm (the Node timer is kept for the next arm: LongTimer.disarm). */
  clear(): void {
    if (this.t !== null && this.t.pending) {
      this.t.disarm();
      this.base.unpend();
    }
    if (this.cb !== null) this.base.deactivate(this.cb);
  }
  /** Disarm and let the Node timer go: the bufferevent is going away. */
  dispose(): void {
    this.clear();
    this.t?.clear();
  }
}
