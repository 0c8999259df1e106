/**
 * The flat API of rate limits and single-read/write caps (event2/bufferevent.h), and their camelCase methods on
 * Bufferevent. The machinery is src/bufferevent/ratelim.ts.
 */
import { Bufferevent, checkBev } from '../bufferevent/core.ts';
import * as R from '../bufferevent/ratelim.ts';
import type { EventBase } from '../event/base.ts';
import type { Timeval } from '../validate.ts';

export { EV_RATE_LIMIT_MAX, EV_SSIZE_MAX } from '../bufferevent/ratelim.ts';
export type { SharedRateLimitGroup, TokenBucketCfg, RateLimitGroup } from '../bufferevent/ratelim.ts';
export { BEV_SUSPEND_BW, BEV_SUSPEND_BW_GROUP } from '../bufferevent/core.ts';

/** A token-bucket configuration: rates and bursts in bytes per tick (tick_len, null: one second); null on bad values. */
export function ev_token_bucket_cfg_new(read_rate: number, read_burst: number, write_rate: number, write_burst: number, tick_len: Timeval | null): R.TokenBucketCfg | null {
  return R.tokenBucketCfgNew(read_rate, read_burst, write_rate, write_burst, tick_len);
}
/** Later calls that are given this configuration throw ERR_BEV_FREED; bufferevents already using it keep its values. */
export function ev_token_bucket_cfg_free(cfg: R.TokenBucketCfg): void {
  R.checkCfg(cfg).free();
}
/** Rate-limit one bufferevent with `cfg` (null removes its limit). 0, or -1. */
export function bufferevent_set_rate_limit(bev: Bufferevent, cfg: R.TokenBucketCfg | null): number {
  return R.setRateLimit(checkBev(bev), cfg);
}
/** The configuration given to bufferevent_set_rate_limit, or null. */
export function bufferevent_get_token_bucket_cfg(bev: Bufferevent): R.TokenBucketCfg | null {
  const b = checkBev(bev);
  b.live();
  return b.rateLimit?.cfg ?? null;
}
/** A group whose members share one token bucket (in shared memory: members may live on other threads); null on failure. */
export function bufferevent_rate_limit_group_new(b: EventBase, cfg: R.TokenBucketCfg): R.RateLimitGroup | null {
  return R.groupNew(b, cfg);
}
/** Free the group, removing its members from it. */
export function bufferevent_rate_limit_group_free(g: R.RateLimitGroup): void {
  R.groupFree(g);
}
/** Change the group's configuration. 0, or -1. */
export function bufferevent_rate_limit_group_set_cfg(g: R.RateLimitGroup, cfg: R.TokenBucketCfg): number {
  return R.groupSetCfg(g, cfg);
}
/** The fewest bytes a member may move when the group is short of tokens (0: none). 0. */
export function bufferevent_rate_limit_group_set_min_share(g: R.RateLimitGroup, share: number): number {
  return R.groupSetMinShare(g, share);
}
/** Not in libevent: a descriptor another thread imports, so its bufferevents can join the same group. */
export function bufferevent_rate_limit_group_export(g: R.RateLimitGroup): R.SharedRateLimitGroup {
  return R.groupExport(g);
}
/** The group from a handle made by bufferevent_rate_limit_group_export (not in libevent). */
export function bufferevent_rate_limit_group_import(shared: R.SharedRateLimitGroup): R.RateLimitGroup {
  return R.groupImport(shared);
}
/** Make the bufferevent a member of the group (leaving any other). 0, or -1. */
export function bufferevent_add_to_rate_limit_group(bev: Bufferevent, g: R.RateLimitGroup): number {
  return R.addToGroup(checkBev(bev), g);
}
/** Take the bufferevent out of its group. 0. */
export function bufferevent_remove_from_rate_limit_group(bev: Bufferevent): number {
  return R.removeFromGroup(checkBev(bev));
}
/** The bytes the bufferevent's own bucket lets it read now (EV_SSIZE_MAX without a limit). */
export function bufferevent_get_read_limit(bev: Bufferevent): number {
  return R.getLimit(checkBev(bev), false);
}
/** The bytes the bufferevent's own bucket lets it write now (EV_SSIZE_MAX without a limit). */
export function bufferevent_get_write_limit(bev: Bufferevent): number {
  return R.getLimit(checkBev(bev), true);
}
/** The most the next read may take: own bucket, group share and max_single_read together. */
export function bufferevent_get_max_to_read(bev: Bufferevent): number {
  return R.getMaxTo(checkBev(bev), false);
}
/** The most the next write may send: own bucket, group share and max_single_write together. */
export function bufferevent_get_max_to_write(bev: Bufferevent): number {
  return R.getMaxTo(checkBev(bev), true);
}
/** Take `decr` (may be negative) from the bufferevent's read bucket. 0, or -1. */
export function bufferevent_decrement_read_limit(bev: Bufferevent, decr: number): number {
  return R.decrementLimit(checkBev(bev), decr, false);
}
/** Take `decr` (may be negative) from the bufferevent's write bucket. 0, or -1. */
export function bufferevent_decrement_write_limit(bev: Bufferevent, decr: number): number {
  return R.decrementLimit(checkBev(bev), decr, true);
}
/** The bytes the group's bucket lets its members read now. */
export function bufferevent_rate_limit_group_get_read_limit(g: R.RateLimitGroup): number {
  return R.groupGetLimit(g, false);
}
/** The bytes the group's bucket lets its members write now. */
export function bufferevent_rate_limit_group_get_write_limit(g: R.RateLimitGroup): number {
  return R.groupGetLimit(g, true);
}
/** Take `decr` from the group's read bucket. 0, or -1. */
export function bufferevent_rate_limit_group_decrement_read(g: R.RateLimitGroup, decr: number): number {
  return R.groupDecrement(g, decr, false);
}
/** Take `decr` from the group's write bucket. 0, or -1. */
export function bufferevent_rate_limit_group_decrement_write(g: R.RateLimitGroup, decr: number): number {
  return R.groupDecrement(g, decr, true);
}
/** The bytes the group's members have read and written, into `out`. */
export function bufferevent_rate_limit_group_get_totals(g: R.RateLimitGroup, out: { total_read?: number; total_written?: number } | null): void {
  R.groupGetTotals(g, out);
}
/** Set the group's read and written totals back to 0. */
export function bufferevent_rate_limit_group_reset_totals(g: R.RateLimitGroup): void {
  R.groupResetTotals(g);
}
/** The most one read may take (0: the default, 16384). 0, or -1. */
export function bufferevent_set_max_single_read(bev: Bufferevent, size: number): number {
  return R.setMaxSingle(checkBev(bev), size, false);
}
/** The most one write may send (0: the default, 16384). 0, or -1. */
export function bufferevent_set_max_single_write(bev: Bufferevent, size: number): number {
  return R.setMaxSingle(checkBev(bev), size, true);
}
/** The most one read may take. */
export function bufferevent_get_max_single_read(bev: Bufferevent): number {
  return R.getMaxSingle(checkBev(bev), false);
}
/** The most one write may send. */
export function bufferevent_get_max_single_write(bev: Bufferevent): number {
  return R.getMaxSingle(checkBev(bev), true);
}

declare module '../bufferevent/core.ts' {
  interface Bufferevent {
    setRateLimit(cfg: R.TokenBucketCfg | null): number;
    getTokenBucketCfg(): R.TokenBucketCfg | null;
    addToRateLimitGroup(g: R.RateLimitGroup): number;
    removeFromRateLimitGroup(): number;
    getReadLimit(): number;
    getWriteLimit(): number;
    getMaxToRead(): number;
    getMaxToWrite(): number;
    decrementReadLimit(decr: number): number;
    decrementWriteLimit(decr: number): number;
    setMaxSingleRead(size: number): number;
    setMaxSingleWrite(size: number): number;
    getMaxSingleRead(): number;
    getMaxSingleWrite(): number;
  }
}
Object.assign(Bufferevent.prototype, {
  setRateLimit(this: Bufferevent, cfg: R.TokenBucketCfg | null) { return bufferevent_set_rate_limit(this, cfg); },
  getTokenBucketCfg(this: Bufferevent) { return bufferevent_get_token_bucket_cfg(this); },
  addToRateLimitGroup(this: Bufferevent, g: R.RateLimitGroup) { return bufferevent_add_to_rate_limit_group(this, g); },
  removeFromRateLimitGroup(this: Bufferevent) { return bufferevent_remove_from_rate_limit_group(this); },
  getReadLimit(this: Bufferevent) { return bufferevent_get_read_limit(this); },
  getWriteLimit(this: Bufferevent) { return bufferevent_get_write_limit(this); },
  getMaxToRead(this: Bufferevent) { return bufferevent_get_max_to_read(this); },
  getMaxToWrite(this: Bufferevent) { return bufferevent_get_max_to_write(this); },
  decrementReadLimit(this: Bufferevent, decr: number) { return bufferevent_decrement_read_limit(this, decr); },
  decrementWriteLimit(this: Bufferevent, decr: number) { return bufferevent_decrement_write_limit(this, decr); },
  setMaxSingleRead(this: Bufferevent, size: number) { return bufferevent_set_max_single_read(this, size); },
  setMaxSingleWrite(this: Bufferevent, size: number) { return bufferevent_set_max_single_write(this, size); },
  getMaxSingleRead(this: Bufferevent) { return bufferevent_get_max_single_read(this); },
  getMaxSingleWrite(this: Bufferevent) { return bufferevent_get_max_single_write(this); },
});
