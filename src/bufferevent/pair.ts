import { EventBase, EV_READ, EV_WRITE } from '../event/base.ts';
import * as S from '../evbuffer/storage.ts';
import { EVBUFFER_CB_ENABLED, EVBUFFER_CB_NODEFER, type EvbufferCbInfo } from '../evbuffer/evbuffer.ts';
import { Bufferevent, type BevOps, BEV_EVENT_EOF, BEV_EVENT_READING, BEV_EVENT_WRITING, BEV_FINISHED, BEV_NORMAL, BEV_OPT_DEFER_CALLBACKS } from './core.ts';
import { GenericTimers } from './generic-timers.ts';

/**
 * One end of a bufferevent pair (bufferevent_pair.c). Both ends share one lock (pair[0]'s; reference-counted, so it
 * lives as long as either end). Transfers are synchronous, under that lock, in the thread that caused them; the
 * callbacks they trigger are always deferred (pairs force BEV_OPT_DEFER_CALLBACKS).
 */
export class PairBufferevent extends Bufferevent {
  readonly ops: BevOps = pairOps;
  /** @internal */ partner: PairBufferevent | null = null;
  /** @internal */ readonly timers: GenericTimers;

  constructor(base: EventBase, options: number, lockOff: number) {
    super(base, options, lockOff);
    this.timers = new GenericTimers(this);
    this.input.freeze(0);
    this.output.freeze(1);
    this.output.addCbInternal((_b, info) => this.outbufCb(info), null, EVBUFFER_CB_ENABLED | EVBUFFER_CB_NODEFER);
  }

  /** be_pair_outbuf_cb: net growth of the output moves it to the partner at once, if both sides want to talk. */
  private outbufCb(info: EvbufferCbInfo): void {
    const p = this.partner;
    if (info.n_added > info.n_deleted && p && wantsToTalk(this, p)) transfer(this, p, false);
  }

  override getPartner(): PairBufferevent | null {
    this.live();
    this.lockRaw();
    const p = this.partner;
    this.unlockRaw();
    return p;
  }

  /** @internal */ override cancelAll(): void {
    super.cancelAll();
    this.timers.cancel();
  }
}

function wantsToTalk(src: PairBufferevent, dst: PairBufferevent): boolean {
  return (src.enabled & EV_WRITE) !== 0 && (dst.enabled & EV_READ) !== 0 && dst.readSuspended === 0 && src.output.lengthLocked() > 0;
}

/** be_pair_transfer, with this project's fix C13: the *source's* write timer follows the source's output. @locks held */
function transfer(src: PairBufferevent, dst: PairBufferevent, ignoreWm: boolean): void {
  const si = src.output;
  const di = dst.input;
  const room = dst.readRoom(di.lengthLocked());
  const srcFront = si.front();
  let n: number;
  if (room === Infinity) {
    n = S.moveAll(di.a, di.h, si.a, si.h, false);
  } else if (room > 0) {
    n = S.moveN(di.a, di.h, si.a, si.h, room);
  } else {
    if (!ignoreWm) return;
    n = S.moveAll(di.a, di.h, si.a, si.h, false);
  }
  if (n && si.refCleanups !== null) si.handRefCleanups(di, srcFront, n, false); // references travel with their bytes
  if (n) {
    dst.countRead(n);
    src.countWritten(n);
  }
  di.invokeCallbacks();
  si.invokeCallbacks();
  if (n) {
    dst.timers.resetRead();
    if (si.lengthLocked() > 0) src.timers.resetWrite();
    else src.timers.delWrite();
  }
  dst.triggerNolock(EV_READ, 0);
  src.triggerNolock(EV_WRITE, 0);
}

export const pairOps: BevOps = {
  type: 'pair',
  enable(bev, events) {
    const b = bev as PairBufferevent;
    const p = b.partner;
    if (events & EV_READ) b.timers.resetRead();
    if (events & EV_WRITE && b.output.lengthLocked() > 0) b.timers.resetWrite();
    if (events & EV_READ && p && wantsToTalk(p, b)) transfer(p, b, false);
    if (events & EV_WRITE && p && wantsToTalk(b, p)) transfer(b, p, false);
    return 0;
  },
  disable(bev, events) {
    const b = bev as PairBufferevent;
    if (events & EV_READ) b.timers.delRead();
    if (events & EV_WRITE) b.timers.delWrite();
    return 0;
  },
  unlink(bev) {
    const b = bev as PairBufferevent;
    if (b.partner) {
      b.partner.setShared('pair', null);
      b.partner.partner = null;
      b.partner = null;
      b.setShared('pair', null);
    }
  },
  destruct() {},
  adjTimeouts(bev) {
    return (bev as PairBufferevent).timers.adjust();
  },
  flush(bev, iotype, mode) {
    const b = bev as PairBufferevent;
    const p = b.partner;
    if (!p) return -1;
    if (mode === BEV_NORMAL) return 0;
    if (iotype & EV_READ) transfer(p, b, true);
    if (iotype & EV_WRITE) transfer(b, p, true);
    if (mode === BEV_FINISHED) {
      let what = BEV_EVENT_EOF;
      if (iotype & EV_READ) what |= BEV_EVENT_WRITING;
      if (iotype & EV_WRITE) what |= BEV_EVENT_READING;
      p.runEventcb(what, 0, 0);
    }
    return 0; // libevent returns 0 even when data moved (QUIRK, C16)
  },
};

export function pairNew(base: EventBase, options: number): [PairBufferevent, PairBufferevent] {
  const opts = options | BEV_OPT_DEFER_CALLBACKS;
  const a = new PairBufferevent(base, opts, 0);
  const b = new PairBufferevent(base, opts, a.lockOff);
  a.partner = b;
  b.partner = a;
  a.setShared('pair', b);
  b.setShared('pair', a);
  return [a, b];
}
