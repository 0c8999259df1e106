import type net from 'node:net';
import { EV_READ, EV_WRITE } from '../event/base.ts';
import { Evbuffer, EVBUFFER_CB_ENABLED, EVBUFFER_CB_NODEFER, type EvbufferCbEntry, type EvbufferCbInfo } from '../evbuffer/evbuffer.ts';
import {
  Bufferevent,
  type BevOps,
  BEV_EVENT_EOF,
  BEV_EVENT_ERROR,
  BEV_EVENT_READING,
  BEV_EVENT_WRITING,
  BEV_FINISHED,
  BEV_NORMAL,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_OPT_THREADSAFE,
  BEV_SUSPEND_FILT_READ,
} from './core.ts';
import { GenericTimers } from './generic-timers.ts';
import { typeError } from '../errors.ts';

export const BEV_OK = 0;
export const BEV_NEED_MORE = 1;
export const BEV_ERROR = 2;

export type FilterCb = (src: Evbuffer, dst: Evbuffer, dstLimit: number, mode: number, ctx: unknown) => number;

/** be_null_filter: move up to `limit` bytes (all when negative). */
function nullFilter(src: Evbuffer, dst: Evbuffer, limit: number): number {
  const n = limit < 0 ? src.lengthLocked() : limit;
  return src.removeBuffer(dst, n) >= 0 ? BEV_OK : BEV_ERROR;
}

/**
 * A filtering bufferevent (bufferevent_filter.c) over an underlying bufferevent.
 *
 * Project decisions (docs/libevent-notes.md): a THREADSAFE filter shares one lock with its underlying (giving the
 * underlying a lock if it had none), so there is a single lock order and no AB-BA deadlock (C19); a filter returning
 * BEV_ERROR reports ERROR|READING or ERROR|WRITING; on the underlying's EOF the input filter gets one BEV_FINISHED pass
 * before the EOF is passed on (C12).
 */
export class FilterBufferevent extends Bufferevent {
  readonly ops: BevOps = filterOps;
  /** @internal */ underlying: Bufferevent;
  /** @internal */ readonly inFilter: FilterCb | null;
  /** @internal */ readonly outFilter: FilterCb | null;
  /** @internal */ readonly freeContext: ((ctx: unknown) => void) | null;
  /** @internal */ readonly ctx: unknown;
  /** @internal */ readonly timers: GenericTimers;
  /** @internal */ readonly outbufEntry: EvbufferCbEntry;
  /** @internal */ readonly inbufEntry: EvbufferCbEntry;
  /** @internal */ gotEof = false;
  /** @internal For filters that finish asynchronously: a promise to wait for before passing the EOF on, or null. */
  eofGate: (() => Promise<void> | null) | null = null;
  /** @internal */ released = false;

  constructor(
    underlying: Bufferevent,
    inFilter: FilterCb | null,
    outFilter: FilterCb | null,
    options: number,
    freeContext: ((ctx: unknown) => void) | null,
    ctx: unknown,
    lockOff: number,
  ) {
    super(underlying.base, options, lockOff);
    this.underlying = underlying;
    this.inFilter = inFilter;
    this.outFilter = outFilter;
    this.freeContext = freeContext;
    this.ctx = ctx;
    this.timers = new GenericTimers(this);
    this.outbufEntry = this.output.addCbInternal((_b, info) => this.outbufCb(info), null, EVBUFFER_CB_ENABLED | EVBUFFER_CB_NODEFER);
    this.inbufEntry = this.input.addCbInternal((_b, info) => this.inbufCb(info), null, EVBUFFER_CB_NODEFER);
  }

  private runIn(mode: number, limit: number): number {
    const src = this.underlying.input;
    const dst = this.input;
    const r = this.inFilter ? this.inFilter(src, dst, limit, mode, this.ctx) : nullFilter(src, dst, limit);
    return checkResult(r);
  }
  private runOut(mode: number, limit: number): number {
    const src = this.output;
    const dst = this.underlying.output;
    const r = this.outFilter ? this.outFilter(src, dst, limit, mode, this.ctx) : nullFilter(src, dst, limit);
    return checkResult(r);
  }

  private readbufFull(state: number): boolean {
    return state === BEV_NORMAL && this.readRoom(this.input.lengthLocked()) <= 0;
  }
  private underlyingWritebufFull(state: number): boolean {
    const u = this.underlying;
    const high = u.wmWriteHigh;
    return state === BEV_NORMAL && high !== 0 && u.output.lengthLocked() >= high;
  }

  /** be_filter_process_input. Returns [result, processedAny]. @locks held */
  processInput(state: number): [number, boolean] {
    if (state === BEV_NORMAL && (!(this.enabled & EV_READ) || this.readbufFull(state))) return [BEV_OK, false];
    let processed = false;
    let r: number;
    do {
      let limit = -1;
      const room = this.readRoom(this.input.lengthLocked());
      if (state === BEV_NORMAL && room !== Infinity) limit = room;
      r = this.runIn(state, limit);
      if (r === BEV_OK) processed = true;
    } while (
      r === BEV_OK &&
      this.enabled & EV_READ &&
      this.underlying.input.lengthLocked() > 0 &&
      !this.readbufFull(state) &&
      !this.dead
    );
    if (processed) this.timers.resetRead();
    if (r === BEV_ERROR) this.runEventcb(BEV_EVENT_ERROR | BEV_EVENT_READING, 0, 0);
    return [r, processed];
  }

  /** be_filter_read_nolock_ @locks held */
  readNolock(): void {
    if (this.dead) return;
    const state = this.gotEof ? BEV_FINISHED : BEV_NORMAL;
    const [, processed] = this.processInput(state);
    if (processed) {
      this.triggerNolock(EV_READ, 0);
      if (this.underlying.input.lengthLocked() > 0 && this.readbufFull(state)) {
        this.inbufEntry.flags |= EVBUFFER_CB_ENABLED; // drain below high later processes the leftover
      }
    }
  }

  /**
   * bufferevent_filtered_inbuf_cb: once the user has drained our input below the high watermark, process what waits
   * in the underlying. While the input is still full the callback stays enabled for the next change (a first drain
   * that leaves the input at or above high must not lose the wake-up).
   */
  private inbufCb(_info: EvbufferCbInfo): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      if (this.readbufFull(this.gotEof ? BEV_FINISHED : BEV_NORMAL)) return;
      this.inbufEntry.flags &= ~EVBUFFER_CB_ENABLED;
      if (this.underlying.input.lengthLocked() > 0) this.readNolock();
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** be_filter_process_output. @locks held */
  processOutput(state: number): [number, boolean] {
    if (state === BEV_NORMAL && (!(this.enabled & EV_WRITE) || this.underlyingWritebufFull(state) || this.output.lengthLocked() === 0)) {
      return [BEV_OK, false];
    }
    this.outbufEntry.flags &= ~EVBUFFER_CB_ENABLED;
    let processedAny = false;
    let r = BEV_OK;
    try {
      let again: boolean;
      do {
        let processed = false;
        again = false;
        do {
          let limit = -1;
          const u = this.underlying;
          if (state === BEV_NORMAL && u.wmWriteHigh) limit = u.wmWriteHigh - u.output.lengthLocked();
          r = this.runOut(state, limit);
          if (r === BEV_OK) processed = processedAny = true;
        } while (r === BEV_OK && this.enabled & EV_WRITE && this.output.lengthLocked() > 0 && !this.underlyingWritebufFull(state) && !this.dead);
        if (processed) this.triggerNolock(EV_WRITE, 0);
        if (r === BEV_OK && this.enabled & EV_WRITE && this.output.lengthLocked() > 0 && !this.underlyingWritebufFull(state) && !this.dead) again = true;
      } while (again);
    } finally {
      this.outbufEntry.flags |= EVBUFFER_CB_ENABLED;
    }
    if (processedAny) this.timers.resetWrite();
    if (r === BEV_ERROR) this.runEventcb(BEV_EVENT_ERROR | BEV_EVENT_WRITING, 0, 0);
    return [r, processedAny];
  }

  /** bufferevent_filtered_outbuf_cb */
  private outbufCb(info: EvbufferCbInfo): void {
    if (info.n_added && !this.dead) this.withRef(() => this.processOutput(BEV_NORMAL));
  }

  // the underlying's callbacks (be_filter_readcb / writecb / eventcb)
  /** @internal */ readonly uReadcb = (): void => {
    if (!this.dead) this.withRef(() => this.readNolock());
  };
  /** @internal */ readonly uWritecb = (): void => {
    if (!this.dead) this.withRef(() => this.processOutput(BEV_NORMAL));
  };
  /** @internal */ readonly uEventcb = (_u: Bufferevent, what: number): void => {
    if (this.dead) return;
    this.increfAndLock();
    try {
      if (what & BEV_EVENT_EOF && what & BEV_EVENT_READING && !this.gotEof) {
        this.gotEof = true; // C12: one BEV_FINISHED pass so a decoder can emit what it holds
        const [, processed] = this.processInput(BEV_FINISHED);
        if (processed) this.triggerNolock(EV_READ, 0);
        const wait = this.eofGate?.() ?? null;
        if (wait !== null) {
          // an input filter still producing (offloaded work): the EOF follows its last output
          void wait.then(() => {
            if (!this.dead) this.withRef(() => this.runEventcb(what, 0));
          });
          return;
        }
      }
      this.runEventcb(what, 0);
    } finally {
      this.decrefAndUnlock();
    }
  };

  override getfd(): number {
    this.live();
    return this.underlying.getfd();
  }
  override setfd(fd: net.Socket | number): number {
    this.live();
    return this.underlying.setfd(fd);
  }
  override replacefd(fd: net.Socket | number): number {
    this.live();
    return this.underlying.replacefd(fd); // ctrl(SET_FD) is forwarded to the underlying
  }
  override getUnderlying(): Bufferevent | null {
    this.live();
    return this.underlying;
  }

  /** @internal */ override cancelAll(): void {
    super.cancelAll();
    this.timers.cancel();
  }

  /** @internal the filter's reference on the underlying goes last (bufferevent_finalize_cb_ step 4) */
  override afterFinalize(): void {
    if (this.released) return;
    this.released = true;
    const u = this.underlying;
    if (!u.dead) {
      u.lockRaw();
      u.dropRefAndUnlock(); // the filter's reference
    }
  }
}

function checkResult(r: unknown): number {
  if (r === BEV_OK || r === BEV_NEED_MORE || r === BEV_ERROR) return r;
  throw typeError('filter result', 'BEV_OK, BEV_NEED_MORE or BEV_ERROR', r);
}

export const filterOps: BevOps = {
  type: 'filter',
  enable(bev, ev) {
    const f = bev as FilterBufferevent;
    if (ev & EV_WRITE) f.timers.resetWrite();
    if (ev & EV_READ) {
      f.timers.resetRead();
      f.underlying.unsuspendRead(BEV_SUSPEND_FILT_READ);
    }
    return 0;
  },
  disable(bev, ev) {
    const f = bev as FilterBufferevent;
    if (ev & EV_WRITE) f.timers.delWrite();
    if (ev & EV_READ) {
      f.timers.delRead();
      f.underlying.suspendRead(BEV_SUSPEND_FILT_READ);
    }
    return 0;
  },
  unlink(bev) {
    const f = bev as FilterBufferevent;
    const u = f.underlying;
    if (f.options & BEV_OPT_CLOSE_ON_FREE) {
      // libevent frees the underlying only while the filter's reference is not its last (issue #127)
      const refs = u.refCount();
      if (refs >= 2 && !u.dead) u.free();
    } else if (!u.dead) {
      u.lockRaw();
      if (u.errorcb === f.uEventcb) {
        u.readcb = null;
        u.writecb = null;
        u.errorcb = null;
        u.cbarg = null;
      }
      u.unsuspendRead(BEV_SUSPEND_FILT_READ);
      u.unlockRaw();
    }
  },
  destruct(bev) {
    const f = bev as FilterBufferevent;
    if (f.freeContext) f.freeContext(f.ctx);
  },
  adjTimeouts(bev) {
    return (bev as FilterBufferevent).timers.adjust();
  },
  flush(bev, iotype, mode) {
    const f = bev as FilterBufferevent;
    let any = false;
    if (iotype & EV_READ) any = f.processInput(mode)[1] || any;
    if (iotype & EV_WRITE) any = f.processOutput(mode)[1] || any;
    if (!f.underlying.dead) f.underlying.flush(iotype, mode);
    return any ? 1 : 0;
  },
};

/** bufferevent_filter_new. A THREADSAFE filter (or one over a locked underlying) shares the underlying's lock. */
export function filterNew(
  underlying: Bufferevent,
  inFilter: FilterCb | null,
  outFilter: FilterCb | null,
  options: number,
  freeContext: ((ctx: unknown) => void) | null,
  ctx: unknown,
): FilterBufferevent {
  let lockOff = underlying.lockOff;
  if (options & BEV_OPT_THREADSAFE && lockOff === 0) {
    // push a new lock down to the unlocked underlying (bufferevent_enable_locking_ as libevent meant it)
    const a = underlying.a;
    lockOff = a.newLock();
    underlying.adoptLock(lockOff);
  }
  if (lockOff !== 0) options |= BEV_OPT_THREADSAFE;
  const f = new FilterBufferevent(underlying, inFilter, outFilter, options, freeContext, ctx, lockOff);
  f.setShared('filter', underlying);
  underlying.lockRaw();
  try {
    underlying.readcb = f.uReadcb;
    underlying.writecb = f.uWritecb;
    underlying.errorcb = f.uEventcb;
    underlying.cbarg = f;
    underlying.addRef(); // the filter's reference on its underlying
    underlying.enable(EV_READ | EV_WRITE);
    underlying.suspendRead(BEV_SUSPEND_FILT_READ);
  } finally {
    underlying.unlockRaw();
  }
  return f;
}
