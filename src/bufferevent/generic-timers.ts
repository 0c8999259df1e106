import { EV_READ, EV_WRITE } from '../event/base.ts';
import { BevTimer } from './bev-timer.ts';
import { Bufferevent, BEV_EVENT_READING, BEV_EVENT_TIMEOUT, BEV_EVENT_WRITING } from './core.ts';

/**
 * The generic read/write timeout events of pairs and filters (bufferevent_init_generic_timeout_cbs_): pure timers
 * that, when they fire, disable the direction and report TIMEOUT|READING or TIMEOUT|WRITING. @thread base owner
 */
export class GenericTimers {
  readonly read: BevTimer;
  readonly write: BevTimer;
  private readonly bev: Bufferevent;
  constructor(bev: Bufferevent) {
    this.bev = bev;
    this.read = new BevTimer(bev.base, () => this.fire(EV_READ), bev.lockOfFn);
    this.write = new BevTimer(bev.base, () => this.fire(EV_WRITE), bev.lockOfFn);
  }

  private fire(dir: number): void {
    const bev = this.bev;
    if (bev.dead) return;
    bev.increfAndLock();
    try {
      bev.disable(dir);
      bev.runEventcb(BEV_EVENT_TIMEOUT | (dir === EV_READ ? BEV_EVENT_READING : BEV_EVENT_WRITING), 0, 0);
    } finally {
      bev.decrefAndUnlock();
    }
  }

  /** BEV_RESET_GENERIC_READ_TIMEOUT: re-add when a timeout is set. */
  resetRead(): void {
    const t = timerisset(this.bev.timeoutRead);
    if (t !== null) this.read.arm(t);
  }
  resetWrite(): void {
    const t = timerisset(this.bev.timeoutWrite);
    if (t !== null) this.write.arm(t);
  }
  delRead(): void {
    this.read.clear();
  }
  delWrite(): void {
    this.write.clear();
  }

  /** bufferevent_generic_adj_timeouts_ */
  adjust(): number {
    const bev = this.bev;
    const en = bev.enabled;
    const tr = timerisset(bev.timeoutRead);
    const tw = timerisset(bev.timeoutWrite);
    if (en & EV_READ && !bev.readSuspended && tr !== null) this.read.arm(tr);
    else this.read.clear();
    if (en & EV_WRITE && !bev.writeSuspended && tw !== null && bev.output.lengthLocked() > 0) this.write.arm(tw);
    else this.write.clear();
    return 0;
  }

  /** The bufferevent is going away. */
  cancel(): void {
    this.read.dispose();
    this.write.dispose();
  }
}

/** evutil_timerisset: a zero timeval means "no timeout" (libevent stores it as cleared). Returns the ms or null. */
function timerisset(ms: number | null): number | null {
  return ms === null || ms <= 0 ? null : ms;
}
