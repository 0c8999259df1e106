import { rlockInit, rlockLock, rlockUnlock, rlockOwnerDied, RLOCK_FIELDS } from '../shm/rlock.ts';
import { registerRecoverableLock } from '../shm/robust.ts';
import { defineLayout } from '../shm/layout.ts';
import { THREAD_TAG } from '../shm/thread-id.ts';
import { EventBase } from '../event/base.ts';
import { codedError, freedError, typeError } from '../errors.ts';
import { sizeArg, ssizeArg, timevalArg, type Timeval } from '../validate.ts';
import { BevTimer } from './bev-timer.ts';
import { BEV_SUSPEND_BW, BEV_SUSPEND_BW_GROUP, MAX_SINGLE_READ_DEFAULT, MAX_SINGLE_WRITE_DEFAULT, type Bufferevent } from './core.ts';

/**
 * Rate limiting (bufferevent_ratelim.c): token buckets per bufferevent and per group.
 *
 * A bucket holds a read and a write limit in bytes. Each tick (`tick_len`) it gains the configured rate, up to the
 * burst. A socket read or write takes at most what the bucket holds, and what it moved is taken out. At zero or
 * below, that direction is suspended (BEV_SUSPEND_BW, or BEV_SUSPEND_BW_GROUP for a group) until a refill brings the
 * bucket above zero again. Ticks are counted from the wall clock (`performance.timeOrigin + loop time`), so every
 * thread agrees on the current tick.
 *
 * - A bufferevent's own bucket lives on its owner thread (the I/O that drains it runs there); the functions that set
 *   or read it are owner-only.
 * - A group's bucket lives in shared memory under its own robust lock, so members owned by different threads share
 *   it: something libevent cannot do without putting every member on one base. The group refills on the base that
 *   created it. Suspending or resumingthe group bumps a sequence word; every thread with members watches it
 *   (`Atomics.waitAsync`) and applies the change to its own members.
 *
 * The socket I/O path asks `readMax(bev)` / `writeMax(bev)` how much it may move, and reports what it moved with
 * `consumedRead` / `consumedWritten`. Without a rate limit these are one field test and return the bufferevent's
 * max_single_read / max_single_write.
 */
export const EV_RATE_LIMIT_MAX = 0x7fffffff;
/** ev_ssize_t's maximum, as far as a JavaScript number holds it exactly */
export const EV_SSIZE_MAX = Number.MAX_SAFE_INTEGER;

/** ev_token_bucket_cfg: rates and bursts in bytes per tick. Immutable once made. */
export class TokenBucketCfg {
  readonly read_rate: number;
  readonly read_maximum: number;
  readonly write_rate: number;
  readonly write_maximum: number;
  readonly tick_timeout: Readonly<Timeval>;
  readonly msec_per_tick: number;
  /** @internal */ freed = false;
  /** ev_token_bucket_cfg_free */
  free(): void {
    checkCfg(this).freed = true;
  }
  /** @internal */
  constructor(rr: number, rb: number, wr: number, wb: number, tick: Timeval, msec: number) {
    this.read_rate = rr;
    this.read_maximum = rb;
    this.write_rate = wr;
    this.write_maximum = wb;
    this.tick_timeout = Object.freeze({ tv_sec: tick.tv_sec, tv_usec: tick.tv_usec });
    this.msec_per_tick = msec;
  }
}

/** ev_token_bucket_cfg_new: null when a rate is below 1, above its burst, or above EV_RATE_LIMIT_MAX (as libevent). */
export function tokenBucketCfgNew(readRate: unknown, readBurst: unknown, writeRate: unknown, writeBurst: unknown, tickLen: unknown): TokenBucketCfg | null {
  const rr = sizeArg(readRate, 'read_rate');
  const rb = sizeArg(readBurst, 'read_burst');
  const wr = sizeArg(writeRate, 'write_rate');
  const wb = sizeArg(writeBurst, 'write_burst');
  const ms = timevalArg(tickLen, 'tick_len');
  const t = tickLen as Timeval | null;
  const tick = t === null || t === undefined ? { tv_sec: 1, tv_usec: 0 } : { tv_sec: t.tv_sec, tv_usec: t.tv_usec };
  if (rr > rb || wr > wb || rr < 1 || wr < 1) return null;
  if (rr > EV_RATE_LIMIT_MAX || wr > EV_RATE_LIMIT_MAX || rb > EV_RATE_LIMIT_MAX || wb > EV_RATE_LIMIT_MAX) return null;
  const msec = ms === null ? 1000 : Math.floor(tick.tv_sec * 1000 + tick.tv_usec / 1000);
  if (msec < 1) return null; // libevent would divide by zero computing the tick
  return new TokenBucketCfg(rr, rb, wr, wb, tick, msec);
}

export function checkCfg(v: unknown, name = 'cfg'): TokenBucketCfg {
  if (!(v instanceof TokenBucketCfg)) throw typeError(name, 'an ev_token_bucket_cfg (ev_token_bucket_cfg_new)', v);
  if (v.freed) throw freedError('ev_token_bucket_cfg');
  return v;
}

/** The tick a wall-clock time falls in (ev_token_bucket_get_tick_), as an unsigned 32-bit count. */
export function tickOf(wallMs: number, cfg: { msec_per_tick: number }): number {
  return Math.floor(wallMs / cfg.msec_per_tick) >>> 0;
}

function wallNow(base: EventBase): number {
  return performance.timeOrigin + base.now();
}

/**
 * One direction of ev_token_bucket_update_: `n` ticks passed; the limit gains n * rate, up to the maximum. Written
 * as libevent does, to stay exact near the maximum.
 */
export function refill(limit: number, maximum: number, rate: number, n: number): number {
  if ((maximum - limit) / n < rate) return maximum;
  return limit + n * rate;
}

/** Ticks since `last`, as libevent's unsigned subtraction: 0 when none passed or time went back. */
function ticksSince(now: number, last: number): number {
  const n = (now - last) >>> 0;
  return n > 0x7fffffff ? 0 : n;
}

// ---- a bufferevent's own bucket (owner thread) ---------------------------------------------------------------------

/** bufferevent_rate_limit: the per-bufferevent state. @thread owner */
export class BevRateLimit {
  cfg: TokenBucketCfg | null = null;
  read = 0;
  write = 0;
  last = 0;
  group: GroupHandle | null = null;
  refillTimer: BevTimer | null = null;
}

function rl(bev: Bufferevent): BevRateLimit {
  return (bev.rateLimit ??= new BevRateLimit());
}

/** bufferevent_update_buckets: bring the bucket up to the current tick. */
function updateBuckets(bev: Bufferevent, r: BevRateLimit): void {
  const cfg = r.cfg!;
  const tick = tickOf(wallNow(bev.base), cfg);
  const n = ticksSince(tick, r.last);
  if (n === 0) return;
  r.read = refill(r.read, cfg.read_maximum, cfg.read_rate, n);
  r.write = refill(r.write, cfg.write_maximum, cfg.write_rate, n);
  r.last = tick;
}

function armRefill(bev: Bufferevent, r: BevRateLimit): void {
  r.refillTimer ??= new BevTimer(bev.base, () => refillBev(bev), bev.lockOfFn);
  r.refillTimer.arm(r.cfg!.msec_per_tick);
}

/** bev_refill_callback_: a tick passed while a direction was suspended. */
function refillBev(bev: Bufferevent): void {
  if (bev.dead) return;
  bev.increfAndLock();
  try {
    const r = bev.rateLimit;
    if (r === null || r.cfg === null) return;
    updateBuckets(bev, r);
    let again = false;
    if (bev.readSuspended & BEV_SUSPEND_BW) {
      if (r.read > 0) bev.unsuspendRead(BEV_SUSPEND_BW);
      else again = true;
    }
    if (bev.writeSuspended & BEV_SUSPEND_BW) {
      if (r.write > 0) bev.unsuspendWrite(BEV_SUSPEND_BW);
      else again = true;
    }
    if (again) armRefill(bev, r);
  } finally {
    bev.decrefAndUnlock();
  }
}

/** bufferevent_set_rate_limit. @thread owner @locks takes the bufferevent lock */
export function setRateLimit(bev: Bufferevent, cfgArg: unknown): number {
  bev.live();
  const cfg = cfgArg === null ? null : checkCfg(cfgArg);
  bev.ownerOnly('bufferevent_set_rate_limit');
  bev.lockLive();
  try {
    const cur = bev.rateLimit;
    if (cfg === null) {
      if (cur !== null) {
        cur.cfg = null;
        bev.unsuspendRead(BEV_SUSPEND_BW);
        bev.unsuspendWrite(BEV_SUSPEND_BW);
        cur.refillTimer?.clear();
      }
      return 0;
    }
    if (cur !== null && cur.cfg === cfg) return 0;
    const r = rl(bev);
    const reinit = r.cfg !== null;
    r.cfg = cfg;
    if (reinit) {
      // only clip downwards: this tick's bandwidth may be spent already
      if (r.read > cfg.read_maximum) r.read = cfg.read_maximum;
      if (r.write > cfg.write_maximum) r.write = cfg.write_maximum;
      r.refillTimer?.clear();
    } else {
      r.read = cfg.read_rate;
      r.write = cfg.write_rate;
      r.last = tickOf(wallNow(bev.base), cfg);
    }
    let suspended = false;
    if (r.read > 0) bev.unsuspendRead(BEV_SUSPEND_BW);
    else {
      bev.suspendRead(BEV_SUSPEND_BW);
      suspended = true;
    }
    if (r.write > 0) bev.unsuspendWrite(BEV_SUSPEND_BW);
    else {
      bev.suspendWrite(BEV_SUSPEND_BW);
      suspended = true;
    }
    if (suspended) armRefill(bev, r);
    return 0;
  } finally {
    bev.unlockRaw();
  }
}

/**
 * bufferevent_get_rlim_max_: how many bytes the next read (or write) may move: max_single_read/write, or with a
 * bucket the bucket's limit (libevent takes the bucket's value in place of the single cap, not the smaller of the
 * two), then no more than the group's share. @thread owner @locks held (or a value a moment old is enough)
 */
function rlimMax(bev: Bufferevent, isWrite: boolean): number {
  let max = isWrite ? bev.maxSingleWrite : bev.maxSingleRead;
  const r = bev.rateLimit;
  if (r === null) return max;
  if (r.cfg !== null) {
    updateBuckets(bev, r);
    max = isWrite ? r.write : r.read;
  }
  const g = r.group;
  if (g !== null) {
    let share: number;
    g.lockRaw();
    try {
      if (g.suspended(isWrite)) {
        // the group was suspended and this member has not been yet (its lock was busy, or it is on another thread
        // whose watcher has not run): it moves nothing, and its suspension follows from here
        queueMicrotask(() => watcherOf(g).apply());
        share = 0;
      } else {
        const members = Math.max(1, g.word(G_MEMBERS));
        share = Math.trunc(g.f64(isWrite ? F_WRITE : F_READ) / members);
        const min = g.word(G_MIN_SHARE);
        if (share < min) share = min;
      }
    } finally {
      g.unlockRaw();
    }
    if (max > share) max = share;
  }
  return max < 0 ? 0 : max;
}

export function readMax(bev: Bufferevent): number {
  return rlimMax(bev, false);
}
export function writeMax(bev: Bufferevent): number {
  return rlimMax(bev, true);
}

/** bufferevent_decrement_read_buckets_ / _write_: the socket moved `n` bytes. @thread owner @locks held */
export function consumed(bev: Bufferevent, n: number, isWrite: boolean): void {
  const r = bev.rateLimit;
  if (r === null) return;
  if (r.cfg !== null) {
    const left = isWrite ? (r.write -= n) : (r.read -= n);
    const mine = isWrite ? bev.writeSuspended : bev.readSuspended;
    if (left <= 0) {
      if (isWrite) bev.suspendWrite(BEV_SUSPEND_BW);
      else bev.suspendRead(BEV_SUSPEND_BW);
      armRefill(bev, r);
    } else if (mine & BEV_SUSPEND_BW) {
      const other = isWrite ? bev.readSuspended : bev.writeSuspended;
      if (!(other & BEV_SUSPEND_BW)) r.refillTimer?.clear();
      if (isWrite) bev.unsuspendWrite(BEV_SUSPEND_BW);
      else bev.unsuspendRead(BEV_SUSPEND_BW);
    }
  }
  const g = r.group;
  if (g !== null) g.take(n, isWrite);
}

/** bufferevent_get_read_limit / _write_limit: the bucket's value, EV_SSIZE_MAX without one. @thread owner */
export function getLimit(bev: Bufferevent, isWrite: boolean): number {
  bev.live();
  bev.ownerOnly(isWrite ? 'bufferevent_get_write_limit' : 'bufferevent_get_read_limit');
  bev.lockLive();
  try {
    const r = bev.rateLimit;
    if (r === null || r.cfg === null) return EV_SSIZE_MAX;
    updateBuckets(bev, r);
    return isWrite ? r.write : r.read;
  } finally {
    bev.unlockRaw();
  }
}

/** bufferevent_get_max_to_read / _write. @thread owner */
export function getMaxTo(bev: Bufferevent, isWrite: boolean): number {
  bev.live();
  bev.ownerOnly(isWrite ? 'bufferevent_get_max_to_write' : 'bufferevent_get_max_to_read');
  bev.lockLive();
  try {
    return rlimMax(bev, isWrite);
  } finally {
    bev.unlockRaw();
  }
}

/** bufferevent_decrement_read_limit / _write_limit: a negative `decr` adds. @thread owner */
export function decrementLimit(bev: Bufferevent, decrArg: unknown, isWrite: boolean): number {
  bev.live();
  const decr = ssizeArg(decrArg, 'decr');
  const what = isWrite ? 'bufferevent_decrement_write_limit' : 'bufferevent_decrement_read_limit';
  bev.ownerOnly(what);
  bev.lockLive();
  try {
    const r = bev.rateLimit;
    // libevent asserts (aborts) here; a clear error instead
    if (r === null || r.cfg === null) throw codedError('ERR_BEV_NO_RATE_LIMIT', `${what} needs a rate limit on the bufferevent (bufferevent_set_rate_limit)`);
    const old = isWrite ? r.write : r.read;
    const now = old - decr;
    if (isWrite) r.write = now;
    else r.read = now;
    if (old > 0 && now <= 0) {
      if (isWrite) bev.suspendWrite(BEV_SUSPEND_BW);
      else bev.suspendRead(BEV_SUSPEND_BW);
      armRefill(bev, r);
    } else if (old <= 0 && now > 0) {
      const other = isWrite ? bev.readSuspended : bev.writeSuspended;
      if (!(other & BEV_SUSPEND_BW)) r.refillTimer?.clear();
      if (isWrite) bev.unsuspendWrite(BEV_SUSPEND_BW);
      else bev.unsuspendRead(BEV_SUSPEND_BW);
    }
    return 0;
  } finally {
    bev.unlockRaw();
  }
}

/** Stop the bufferevent's refill timer and leave its group (the bufferevent is being finalized). @thread owner */
export function rateLimitCancel(bev: Bufferevent): void {
  const r = bev.rateLimit;
  if (r === null) return;
  r.refillTimer?.clear();
  if (r.group !== null) leaveGroup(bev, r, false);
}

// ---- groups: a bucket in shared memory -----------------------------------------------------------------------------

const GROUP_LOCK = 'group lock';
/**
 * A rate-limit group: its own SharedArrayBuffer, made by bufferevent_rate_limit_group_new on the thread whose base
 * refills it. `seq` is also bumped and waited on with Atomics (each thread with members watches it).
 *
 * | byte | type | field         | protected by, written by         | meaning                                                      |
 * |------|------|---------------|----------------------------------|--------------------------------------------------------------|
 * | 0    | i32  | state         | Atomics (the futex word)         | 0 free, 1 held, 2 held with waiters (rlock.ts)               |
 * | 4    | i32  | owner         | the holder                       | THREAD_TAG of the holder, 0 while free                       |
 * | 8    | i32  | depth         | the holder                       | recursion depth                                              |
 * | 12   | i32  | refs          | Atomics, users                   | objects using the lock                                       |
 * | 16   | i32  | flags         | Atomics                          | OWNER_DIED, VALIDATED                                        |
 * | 20   | i32  | readSusp      | group lock                       | 1 while the group's reading is suspended                     |
 * | 24   | i32  | writeSusp     | group lock                       | 1 while the group's writing is suspended                     |
 * | 28   | i32  | members       | group lock                       | bufferevents in the group, on every thread                   |
 * | 32   | i32  | minShare      | group lock                       | the smallest share a member gets (min(configured, rates))    |
 * | 36   | i32  | configuredMin | group lock                       | what set_min_share was given                                 |
 * | 40   | i32  | seq           | group lock; Atomics.add + notify | bumped at each suspend, resume and free; watchers wait on it |
 * | 44   | u32  | lastTick      | group lock                       | the tick of the last refill                                  |
 * | 48   | i32  | msecPerTick   | group lock                       | the configuration's tick                                     |
 * | 52   | i32  | freed         | group lock; Atomics              | 1 once bufferevent_rate_limit_group_free ran                 |
 * | 56   | i32  | spare         | -                                | alignment                                                    |
 * | 60   | i32  | refiller      | write-once, creator              | THREAD_TAG of the thread whose base refills it               |
 * | 64   | f64  | readRate      | group lock                       | configuration: bytes per tick                                |
 * | 72   | f64  | readMax       | group lock                       | configuration: read burst                                    |
 * | 80   | f64  | writeRate     | group lock                       | configuration: bytes per tick                                |
 * | 88   | f64  | writeMax      | group lock                       | configuration: write burst                                   |
 * | 96   | f64  | readLimit     | group lock                       | the bucket: bytes that may still be read                     |
 * | 104  | f64  | writeLimit    | group lock                       | the bucket: bytes that may still be written                  |
 * | 112  | f64  | totalRead     | group lock                       | bytes read by members since the last reset                   |
 * | 120  | f64  | totalWritten  | group lock                       | bytes written by members since the last reset                |
 */
export const GROUP_BLOCK = defineLayout('rate-limit group', 128, [
  ...RLOCK_FIELDS, // the group's robust recursive lock
  { name: 'readSusp', type: 'i32', guard: GROUP_LOCK, meaning: "1 while the group's reading is suspended" },
  { name: 'writeSusp', type: 'i32', guard: GROUP_LOCK, meaning: "1 while the group's writing is suspended" },
  { name: 'members', type: 'i32', guard: GROUP_LOCK, meaning: 'bufferevents in the group, on every thread' },
  { name: 'minShare', type: 'i32', guard: GROUP_LOCK, meaning: 'the smallest share a member gets (min(configured, rates))' },
  { name: 'configuredMin', type: 'i32', guard: GROUP_LOCK, meaning: 'what set_min_share was given' },
  { name: 'seq', type: 'i32', guard: `${GROUP_LOCK}; Atomics.add + notify`, meaning: 'bumped at each suspend, resume and free; watchers wait on it' },
  { name: 'lastTick', type: 'u32', guard: GROUP_LOCK, meaning: 'the tick of the last refill' },
  { name: 'msecPerTick', type: 'i32', guard: GROUP_LOCK, meaning: "the configuration's tick" },
  { name: 'freed', type: 'i32', guard: `${GROUP_LOCK}; Atomics`, meaning: '1 once bufferevent_rate_limit_group_free ran' },
  { name: 'spare', type: 'i32', guard: '-', meaning: 'alignment' },
  { name: 'refiller', type: 'i32', guard: 'write-once, creator', meaning: 'THREAD_TAG of the thread whose base refills it' },
  { name: 'readRate', type: 'f64', guard: GROUP_LOCK, meaning: 'configuration: bytes per tick' },
  { name: 'readMax', type: 'f64', guard: GROUP_LOCK, meaning: 'configuration: read burst' },
  { name: 'writeRate', type: 'f64', guard: GROUP_LOCK, meaning: 'configuration: bytes per tick' },
  { name: 'writeMax', type: 'f64', guard: GROUP_LOCK, meaning: 'configuration: write burst' },
  { name: 'readLimit', type: 'f64', guard: GROUP_LOCK, meaning: 'the bucket: bytes that may still be read' },
  { name: 'writeLimit', type: 'f64', guard: GROUP_LOCK, meaning: 'the bucket: bytes that may still be written' },
  { name: 'totalRead', type: 'f64', guard: GROUP_LOCK, meaning: 'bytes read by members since the last reset' },
  { name: 'totalWritten', type: 'f64', guard: GROUP_LOCK, meaning: 'bytes written by members since the last reset' },
]);
const GROUP_BYTES = GROUP_BLOCK.size;
/** Int32 word and Float64 element indexes of the fields. */
const i32At = (n: string): number => GROUP_BLOCK.off(n) >>> 2;
const f64At = (n: string): number => GROUP_BLOCK.off(n) >>> 3;
const G_RSUSP = i32At('readSusp');
const G_WSUSP = i32At('writeSusp');
const G_MEMBERS = i32At('members');
const G_MIN_SHARE = i32At('minShare');
const G_CONF_MIN = i32At('configuredMin');
const G_SEQ = i32At('seq');
const G_LAST = i32At('lastTick');
const G_MSEC = i32At('msecPerTick');
const G_FREED = i32At('freed');
const G_OWNER = i32At('refiller');
const F_RRATE = f64At('readRate');
const F_RMAX = f64At('readMax');
const F_WRATE = f64At('writeRate');
const F_WMAX = f64At('writeMax');
const F_READ = f64At('readLimit');
const F_WRITE = f64At('writeLimit');
const F_TOTAL_R = f64At('totalRead');
const F_TOTAL_W = f64At('totalWritten');

/** A structured-cloneable descriptor of a group (bufferevent_rate_limit_group_export). */
export interface SharedRateLimitGroup {
  readonly __ratelimitgroup: 1;
  readonly sab: SharedArrayBuffer;
}

/** This thread's handle on a group's shared block. */
class GroupHandle {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f: Float64Array;
  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.f = new Float64Array(sab);
    registerRecoverableLock(this.i32, 0);
  }
  lockRaw(): void {
    rlockLock(this.i32, 0);
    rlockOwnerDied(this.i32, 0, true); // every change keeps the block consistent word by word: nothing to repair
  }
  unlockRaw(): void {
    rlockUnlock(this.i32, 0);
  }
  word(w: number): number {
    return this.i32[w]!;
  }
  f64(k: number): number {
    return this.f[k]!;
  }
  suspended(isWrite: boolean): boolean {
    return this.i32[isWrite ? G_WSUSP : G_RSUSP] !== 0;
  }
  get freed(): boolean {
    return Atomics.load(this.i32, G_FREED) !== 0;
  }
  /** Suspend or resume one direction for every member (on every thread). @locks group lock */
  setSuspended(isWrite: boolean, on: boolean): void {
    const w = isWrite ? G_WSUSP : G_RSUSP;
    if ((this.i32[w] !== 0) === on) return;
    this.i32[w] = on ? 1 : 0;
    this.bump();
  }
  bump(): void {
    Atomics.add(this.i32, G_SEQ, 1);
    Atomics.notify(this.i32, G_SEQ);
    watcherOf(this).apply(); // this thread's members now, the others' when their watchers wake
  }
  /** bufferevent_decrement_*_buckets_'s group part. */
  take(n: number, isWrite: boolean): void {
    this.lockRaw();
    try {
      const k = isWrite ? F_WRITE : F_READ;
      this.f[k] = this.f[k]! - n;
      this.f[isWrite ? F_TOTAL_W : F_TOTAL_R] = this.f[isWrite ? F_TOTAL_W : F_TOTAL_R]! + n;
      if (this.f[k]! <= 0) this.setSuspended(isWrite, true);
      else if (this.suspended(isWrite)) this.setSuspended(isWrite, false);
    } finally {
      this.unlockRaw();
    }
  }
}

/**
 * Per thread and group: the members this thread owns, and an Atomics.waitAsync on the group's SEQ while there are
 * any, so a suspension or resume made on another thread reaches them.
 */
class GroupWatcher {
  readonly members = new Set<Bufferevent>();
  private waiting = false;
  readonly g: GroupHandle;
  constructor(g: GroupHandle) {
    this.g = g;
  }

  /** Bring each local member in line with the group's suspension state. */
  apply(): void {
    const g = this.g;
    const freed = g.freed;
    let rs = false;
    let ws = false;
    if (!freed) {
      g.lockRaw();
      rs = g.suspended(false);
      ws = g.suspended(true);
      g.unlockRaw();
    }
    let retry = false;
    for (const bev of this.members) {
      if (bev.dead) continue;
      if (!bev.tryLockOwn()) {
        retry = true; // its lock is busy (another thread holds it): try again on the next turn
        continue;
      }
      try {
        if (freed) {
          const r = bev.rateLimit;
          if (r !== null && r.group === g) leaveGroup(bev, r, true);
          continue;
        }
        if (rs) bev.suspendRead(BEV_SUSPEND_BW_GROUP);
        else bev.unsuspendRead(BEV_SUSPEND_BW_GROUP);
        if (ws) bev.suspendWrite(BEV_SUSPEND_BW_GROUP);
        else bev.unsuspendWrite(BEV_SUSPEND_BW_GROUP);
      } finally {
        bev.unlockRaw();
      }
    }
    if (retry) setImmediate(() => this.apply());
  }

  watch(): void {
    if (this.waiting || this.members.size === 0) return;
    const seen = Atomics.load(this.g.i32, G_SEQ);
    const r = Atomics.waitAsync(this.g.i32, G_SEQ, seen);
    this.waiting = true;
    const next = (): void => {
      this.waiting = false;
      if (this.members.size === 0) return;
      this.apply();
      this.watch();
    };
    if (!r.async) queueMicrotask(next);
    else void r.value.then(next);
  }
}

const watchers = new WeakMap<SharedArrayBuffer, GroupWatcher>();
function watcherOf(g: GroupHandle): GroupWatcher {
  let w = watchers.get(g.sab);
  if (!w) {
    w = new GroupWatcher(g);
    watchers.set(g.sab, w);
  }
  return w;
}

const handles = new WeakMap<SharedArrayBuffer, GroupHandle>();
function handleOf(sab: SharedArrayBuffer): GroupHandle {
  let h = handles.get(sab);
  if (!h) {
    h = new GroupHandle(sab);
    handles.set(sab, h);
  }
  return h;
}

/** bufferevent_rate_limit_group: a group as seen from one thread. */
export class RateLimitGroup {
  /** @internal */ readonly g: GroupHandle;
  /** @internal the refill timer and its base, on the creating thread only */ refill: BevTimer | null = null;
  /** @internal */ base: EventBase | null = null;
  /** @internal */ cfg: TokenBucketCfg;
  /** @internal */ constructor(g: GroupHandle, cfg: TokenBucketCfg) {
    this.g = g;
    this.cfg = cfg;
  }
  /** @internal */ live(): void {
    if (this.g.freed) throw freedError('bufferevent_rate_limit_group');
  }
  /** bufferevent_rate_limit_group_set_cfg */
  setCfg(cfg: TokenBucketCfg): number {
    return groupSetCfg(this, cfg);
  }
  /** bufferevent_rate_limit_group_set_min_share */
  setMinShare(share: number): number {
    return groupSetMinShare(this, share);
  }
  getReadLimit(): number {
    return groupGetLimit(this, false);
  }
  getWriteLimit(): number {
    return groupGetLimit(this, true);
  }
  decrementRead(decr: number): number {
    return groupDecrement(this, decr, false);
  }
  decrementWrite(decr: number): number {
    return groupDecrement(this, decr, true);
  }
  /** bufferevent_rate_limit_group_get_totals, as an object */
  getTotals(): { total_read: number; total_written: number } {
    const out = { total_read: 0, total_written: 0 };
    groupGetTotals(this, out);
    return out;
  }
  resetTotals(): void {
    groupResetTotals(this);
  }
  /** bufferevent_rate_limit_group_export */
  export(): SharedRateLimitGroup {
    return groupExport(this);
  }
  /** bufferevent_rate_limit_group_free */
  free(): void {
    groupFree(this);
  }
}

export function checkGroup(v: unknown): RateLimitGroup {
  if (!(v instanceof RateLimitGroup)) throw typeError('group', 'a bufferevent_rate_limit_group', v);
  v.live();
  return v;
}

function cfgOfBlock(g: GroupHandle): TokenBucketCfg {
  const msec = g.word(G_MSEC);
  return new TokenBucketCfg(g.f64(F_RRATE), g.f64(F_RMAX), g.f64(F_WRATE), g.f64(F_WMAX), { tv_sec: Math.floor(msec / 1000), tv_usec: (msec % 1000) * 1000 }, msec);
}

/** bufferevent_rate_limit_group_set_min_share's arithmetic. @locks group lock */
function applyMinShare(g: GroupHandle, share: number): void {
  g.i32[G_CONF_MIN] = share;
  let s = share;
  if (s > g.f64(F_RRATE)) s = g.f64(F_RRATE);
  if (s > g.f64(F_WRATE)) s = g.f64(F_WRATE);
  g.i32[G_MIN_SHARE] = s;
}

/** bufferevent_rate_limit_group_new: refills on `base`'s loop. */
export function groupNew(base: unknown, cfgArg: unknown): RateLimitGroup {
  if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase', base);
  base.live();
  const cfg = checkCfg(cfgArg);
  const sab = new SharedArrayBuffer(GROUP_BYTES);
  const i32 = new Int32Array(sab);
  rlockInit(i32, 0);
  const g = handleOf(sab);
  const f = g.f;
  f[F_RRATE] = cfg.read_rate;
  f[F_RMAX] = cfg.read_maximum;
  f[F_WRATE] = cfg.write_rate;
  f[F_WMAX] = cfg.write_maximum;
  f[F_READ] = cfg.read_rate;
  f[F_WRITE] = cfg.write_rate;
  i32[G_MSEC] = cfg.msec_per_tick;
  i32[G_LAST] = tickOf(wallNow(base), cfg) | 0;
  i32[G_OWNER] = THREAD_TAG;
  applyMinShare(g, 64);
  const grp = new RateLimitGroup(g, cfg);
  grp.base = base;
  grp.refill = new BevTimer(base, () => refillGroup(grp), null);
  grp.refill.arm(cfg.msec_per_tick);
  return grp;
}

/** bev_group_refill_callback_: each tick (a persistent event in libevent). */
function refillGroup(grp: RateLimitGroup): void {
  const g = grp.g;
  if (g.freed) return;
  const msec = g.word(G_MSEC);
  g.lockRaw();
  try {
    const tick = tickOf(wallNow(grp.base!), { msec_per_tick: msec });
    const n = ticksSince(tick, g.word(G_LAST) >>> 0);
    if (n > 0) {
      g.f[F_READ] = refill(g.f64(F_READ), g.f64(F_RMAX), g.f64(F_RRATE), n);
      g.f[F_WRITE] = refill(g.f64(F_WRITE), g.f64(F_WMAX), g.f64(F_WRATE), n);
      g.i32[G_LAST] = tick | 0;
    }
    const min = g.word(G_MIN_SHARE);
    if (g.suspended(false) && g.f64(F_READ) >= min) g.setSuspended(false, false);
    if (g.suspended(true) && g.f64(F_WRITE) >= min) g.setSuspended(true, false);
  } finally {
    g.unlockRaw();
  }
  grp.refill!.arm(msec);
}

/** bufferevent_rate_limit_group_set_cfg. */
export function groupSetCfg(grpArg: unknown, cfgArg: unknown): number {
  if (grpArg === null || cfgArg === null) return -1;
  const grp = checkGroup(grpArg);
  const cfg = checkCfg(cfgArg);
  const g = grp.g;
  g.lockRaw();
  try {
    const sameTick = g.word(G_MSEC) === cfg.msec_per_tick;
    g.f[F_RRATE] = cfg.read_rate;
    g.f[F_RMAX] = cfg.read_maximum;
    g.f[F_WRATE] = cfg.write_rate;
    g.f[F_WMAX] = cfg.write_maximum;
    g.i32[G_MSEC] = cfg.msec_per_tick;
    if (g.f64(F_READ) > cfg.read_maximum) g.f[F_READ] = cfg.read_maximum;
    if (g.f64(F_WRITE) > cfg.write_maximum) g.f[F_WRITE] = cfg.write_maximum;
    grp.cfg = cfg;
    if (!sameTick && grp.refill !== null) grp.refill.arm(cfg.msec_per_tick); // a hiccup in the schedule, as libevent
    applyMinShare(g, g.word(G_CONF_MIN));
  } finally {
    g.unlockRaw();
  }
  return 0;
}

/** bufferevent_rate_limit_group_set_min_share: -1 above EV_SSIZE_MAX. */
export function groupSetMinShare(grpArg: unknown, shareArg: unknown): number {
  const grp = checkGroup(grpArg);
  const share = sizeArg(shareArg, 'share');
  if (share > EV_RATE_LIMIT_MAX) return -1; // the share word is 32 bits; libevent's bound is EV_SSIZE_MAX
  grp.g.lockRaw();
  try {
    applyMinShare(grp.g, share);
  } finally {
    grp.g.unlockRaw();
  }
  return 0;
}

/** bufferevent_rate_limit_group_free: every member leaves it (on its own thread). */
export function groupFree(grpArg: unknown): void {
  const grp = checkGroup(grpArg);
  const g = grp.g;
  if (grp.refill !== null) grp.refill.clear();
  g.lockRaw();
  Atomics.store(g.i32, G_FREED, 1);
  g.unlockRaw();
  g.bump();
}

export function groupGetLimit(grpArg: unknown, isWrite: boolean): number {
  const grp = checkGroup(grpArg);
  grp.g.lockRaw();
  try {
    return grp.g.f64(isWrite ? F_WRITE : F_READ);
  } finally {
    grp.g.unlockRaw();
  }
}

/** bufferevent_rate_limit_group_decrement_read / _write. */
export function groupDecrement(grpArg: unknown, decrArg: unknown, isWrite: boolean): number {
  const grp = checkGroup(grpArg);
  const decr = ssizeArg(decrArg, 'decr');
  const g = grp.g;
  g.lockRaw();
  try {
    const k = isWrite ? F_WRITE : F_READ;
    const old = g.f64(k);
    const now = old - decr;
    g.f[k] = now;
    if (old > 0 && now <= 0) g.setSuspended(isWrite, true);
    else if (old <= 0 && now > 0) g.setSuspended(isWrite, false);
  } finally {
    g.unlockRaw();
  }
  return 0;
}

export function groupGetTotals(grpArg: unknown, out: unknown): void {
  const grp = checkGroup(grpArg);
  if (out !== null && (typeof out !== 'object' || out === undefined)) throw typeError('out', 'an object or null', out);
  grp.g.lockRaw();
  const r = grp.g.f64(F_TOTAL_R);
  const w = grp.g.f64(F_TOTAL_W);
  grp.g.unlockRaw();
  if (out !== null) {
    (out as { total_read?: number }).total_read = r;
    (out as { total_written?: number }).total_written = w;
  }
}

export function groupResetTotals(grpArg: unknown): void {
  const grp = checkGroup(grpArg);
  grp.g.lockRaw();
  grp.g.f[F_TOTAL_R] = 0;
  grp.g.f[F_TOTAL_W] = 0;
  grp.g.unlockRaw();
}

export function groupExport(grpArg: unknown): SharedRateLimitGroup {
  const grp = checkGroup(grpArg);
  return { __ratelimitgroup: 1, sab: grp.g.sab };
}

export function groupImport(shared: unknown): RateLimitGroup {
  const d = shared as Partial<SharedRateLimitGroup> | null;
  if (d === null || typeof d !== 'object' || d.__ratelimitgroup !== 1 || !(d.sab instanceof SharedArrayBuffer) || d.sab.byteLength !== GROUP_BYTES) {
    throw typeError('shared', 'a descriptor from bufferevent_rate_limit_group_export', shared);
  }
  const g = handleOf(d.sab);
  if (g.freed) throw freedError('bufferevent_rate_limit_group');
  return new RateLimitGroup(g, cfgOfBlock(g));
}

/** bufferevent_add_to_rate_limit_group. @thread owner of bev */
export function addToGroup(bev: Bufferevent, grpArg: unknown): number {
  bev.live();
  const grp = checkGroup(grpArg);
  bev.ownerOnly('bufferevent_add_to_rate_limit_group');
  bev.lockLive();
  try {
    const r = rl(bev);
    if (r.group === grp.g) return 0;
    if (r.group !== null) leaveGroup(bev, r, true);
    const g = grp.g;
    g.lockRaw();
    let rs: boolean;
    let ws: boolean;
    try {
      r.group = g;
      g.i32[G_MEMBERS]!++;
      rs = g.suspended(false);
      ws = g.suspended(true);
    } finally {
      g.unlockRaw();
    }
    const w = watcherOf(g);
    w.members.add(bev);
    w.watch();
    if (rs) bev.suspendRead(BEV_SUSPEND_BW_GROUP);
    if (ws) bev.suspendWrite(BEV_SUSPEND_BW_GROUP);
    return 0;
  } finally {
    bev.unlockRaw();
  }
}

/** bufferevent_remove_from_rate_limit_group. @thread owner of bev */
export function removeFromGroup(bev: Bufferevent): number {
  bev.live();
  bev.ownerOnly('bufferevent_remove_from_rate_limit_group');
  bev.lockLive();
  try {
    const r = bev.rateLimit;
    if (r !== null && r.group !== null) leaveGroup(bev, r, true);
    return 0;
  } finally {
    bev.unlockRaw();
  }
}

/** bufferevent_remove_from_rate_limit_group_internal_. @locks bev lock (or the bufferevent is being finalized) */
function leaveGroup(bev: Bufferevent, r: BevRateLimit, unsuspend: boolean): void {
  const g = r.group!;
  r.group = null;
  watcherOf(g).members.delete(bev);
  g.lockRaw();
  g.i32[G_MEMBERS]!--;
  g.unlockRaw();
  if (unsuspend) {
    bev.unsuspendRead(BEV_SUSPEND_BW_GROUP);
    bev.unsuspendWrite(BEV_SUSPEND_BW_GROUP);
  }
}

/** bufferevent_set_max_single_read / _write: 0 or above EV_SSIZE_MAX resets to libevent's default. */
export function setMaxSingle(bev: Bufferevent, sizeArgV: unknown, isWrite: boolean): number {
  bev.live();
  const size = sizeArg(sizeArgV, 'size');
  const v = size === 0 || size > EV_SSIZE_MAX ? (isWrite ? MAX_SINGLE_WRITE_DEFAULT : MAX_SINGLE_READ_DEFAULT) : size;
  bev.lockLive();
  try {
    if (isWrite) bev.maxSingleWrite = v;
    else bev.maxSingleRead = v;
    bev.readLimitChanged();
  } finally {
    bev.unlockRaw();
  }
  return 0;
}

export function getMaxSingle(bev: Bufferevent, isWrite: boolean): number {
  bev.live();
  bev.lockLive();
  try {
    return isWrite ? bev.maxSingleWrite : bev.maxSingleRead;
  } finally {
    bev.unlockRaw();
  }
}
