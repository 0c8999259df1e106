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

export function ev_token_bucket_cfg_new(read_rate: number, read_burst: number, write_rate: number, write_burst: number, tick_len: Timeval | null): R.TokenBucketCfg | null {
  return R.tokenBucketCfgNew(read_rate, read_burst, write_rate, write_burst, tick_len);
}
/** Later calls that are given this configuration throw ERR_BEV_FREED; bufferevents already using it keep its values. */
export function ev_token_bucket_cfg_free(cfg: R.TokenBucketCfg): void {
  R.checkCfg(cfg).free();
}
export function bufferevent_set_rate_limit(bev: Bufferevent, cfg: R.TokenBucketCfg | null): number {
  return R.setRateLimit(checkBev(bev), cfg);
}
/** The configuration given to bufferevent_set_rate_limit, or null. */
export function bufferevent_get_token_bucket_cfg(bev: Bufferevent): R.TokenBucketCfg | null {
  const b = checkBev(bev);
  b.live();
  return b.rateLimit?.cfg ?? null;
}
export function bufferevent_rate_limit_group_new(b: EventBase, cfg: R.TokenBucketCfg): R.RateLimitGroup | null {
  return R.groupNew(b, cfg);
}
export function bufferevent_rate_limit_group_free(g: R.RateLimitGroup): void {
  R.groupFree(g);
}
export function bufferevent_rate_limit_group_set_cfg(g: R.RateLimitGroup, cfg: R.TokenBucketCfg): number {
  return R.groupSetCfg(g, cfg);
}
export function bufferevent_rate_limit_group_set_min_share(g: R.RateLimitGroup, share: number): number {
  return R.groupSetMinShare(g, share);
}
/** Not in libevent: a descriptor another thread imports, so its bufferevents can join the same group. */
export function bufferevent_rate_limit_group_export(g: R.RateLimitGroup): R.SharedRateLimitGroup {
  return R.groupExport(g);
}
export function bufferevent_rate_limit_group_import(shared: R.SharedRateLimitGroup): R.RateLimitGroup {
  return R.groupImport(shared);
}
export function bufferevent_add_to_rate_limit_group(bev: Bufferevent, g: R.RateLimitGroup): number {
  return R.addToGroup(checkBev(bev), g);
}
export function bufferevent_remove_from_rate_limit_group(bev: Bufferevent): number {
  return R.removeFromGroup(checkBev(bev));
}
export function bufferevent_get_read_limit(bev: Bufferevent): number {
  return R.getLimit(checkBev(bev), false);
}
export function bufferevent_get_write_limit(bev: Bufferevent): number {
  return R.getLimit(checkBev(bev), true);
}
export function bufferevent_get_max_to_read(bev: Bufferevent): number {
  return R.getMaxTo(checkBev(bev), false);
}
export function bufferevent_get_max_to_write(bev: Bufferevent): number {
  return R.getMaxTo(checkBev(bev), true);
}
export function bufferevent_decrement_read_limit(bev: Bufferevent, decr: number): number {
  return R.decrementLimit(checkBev(bev), decr, false);
}
export function bufferevent_decrement_write_limit(bev: Bufferevent, decr: number): number {
  return R.decrementLimit(checkBev(bev), decr, true);
}
export function bufferevent_rate_limit_group_get_read_limit(g: R.RateLimitGroup): number {
  return R.groupGetLimit(g, false);
}
export function bufferevent_rate_limit_group_get_write_limit(g: R.RateLimitGroup): number {
  return R.groupGetLimit(g, true);
}
export function bufferevent_rate_limit_group_decrement_read(g: R.RateLimitGroup, decr: number): number {
  return R.groupDecrement(g, decr, false);
}
export function bufferevent_rate_limit_group_decrement_write(g: R.RateLimitGroup, decr: number): number {
  return R.groupDecrement(g, decr, true);
}
export function bufferevent_rate_limit_group_get_totals(g: R.RateLimitGroup, out: { total_read?: number; total_written?: number } | null): void {
  R.groupGetTotals(g, out);
}
export function bufferevent_rate_limit_group_reset_totals(g: R.RateLimitGroup): void {
  R.groupResetTotals(g);
}
export function bufferevent_set_max_single_read(bev: Bufferevent, size: number): number {
  return R.setMaxSingle(checkBev(bev), size, false);
}
export function bufferevent_set_max_single_write(bev: Bufferevent, size: number): number {
  return R.setMaxSingle(checkBev(bev), size, true);
}
export function bufferevent_get_max_single_read(bev: Bufferevent): number {
  return R.getMaxSingle(checkBev(bev), false);
}
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
