import * as L from '../../index.ts';
import { type ActorCtx, errCode, randInt, setSlot, tick, timedLock, timedUnlock, S_DONE, S_PROGRESS } from '../actor.ts';
import type { CheckInput, CheckOutput, Scenario } from '../scenario.ts';

/**
 * bufferevent_free racing with writers and lockers. The owner (actor 0) frees its THREADSAFE pair end after a few
 * operations, then makes a new pair (which may reuse the freed memory) and writes marker bytes into it. Every other
 * thread keeps writing to, and locking, its handle on the freed one. Each racing call must either succeed before the
 * free or throw ERR_BEV_FREED: per thread, no success after its first ERR_BEV_FREED, and no success that began after
 * the free returned; and not one byte of theirs may reach the new pair.
 */
interface Call {
  ok: boolean;
  code?: string;
  start: number;
  end: number;
}
const MARK = 0x4d; // 'M'

export const freeScenario: Scenario = {
  name: 'free',
  summary: 'bufferevent_free racing with foreign writers and lockers; no byte may reach a reused object',
  minActors: 2,
  kill: false,
  setup({ base }) {
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    return { bev: pair[0]!, partner: pair[1]!, base };
  },
  actor(ctx: ActorCtx) {
    const r = ctx.rng;
    if (ctx.index === 0) {
      const bev = ctx.shared.bev as L.Bufferevent;
      const before = randInt(r, 0, Math.max(0, ctx.params.ops >> 1));
      for (let i = 0; i < before; i++) L.evbuffer_get_length(L.bufferevent_get_output(bev));
      const start = tick(ctx);
      L.bufferevent_free(bev);
      const freeEnd = tick(ctx);
      if (ctx.trace) ctx.trace.push(`bufferevent_free (after ${before} reads)`);
      const pair: L.Bufferevent[] = [];
      L.bufferevent_pair_new(L.bufferevent_get_base(ctx.shared.partner as L.Bufferevent), L.BEV_OPT_THREADSAFE, pair);
      L.bufferevent_enable(pair[1]!, L.EV_READ); // the markers move to the partner's input as they are written
      const marks = randInt(r, 1, 64);
      for (let i = 0; i < marks; i++) L.bufferevent_write(pair[0]!, new Uint8Array([MARK]));
      if (ctx.trace) ctx.trace.push(`bufferevent_pair_new; ${marks} x bufferevent_write(marker)`);
      setSlot(ctx, S_DONE, 1);
      return { ops: before + 2 + marks, told: 0, local: { start, freeEnd, marks, fresh: pair } };
    }
    const bev = ctx.shared.bev as L.Bufferevent;
    const calls: Call[] = [];
    const rec = new Uint8Array(32).fill(ctx.index);
    for (let i = 0; i < ctx.params.ops; i++) {
      const k = r();
      const start = tick(ctx);
      let what = '';
      try {
        if (k < 0.5) {
          what = 'bufferevent_write';
          L.bufferevent_write(bev, rec);
        } else if (k < 0.8) {
          what = 'bufferevent_lock; 2 x bufferevent_write; bufferevent_unlock';
          const t = timedLock(ctx, () => L.bufferevent_lock(bev), () => {});
          try {
            L.bufferevent_write(bev, rec);
            L.bufferevent_write(bev, rec);
          } finally {
            timedUnlock(ctx, t, () => L.bufferevent_unlock(bev));
          }
        } else {
          what = 'bufferevent_get_enabled';
          L.bufferevent_get_enabled(bev);
        }
        calls.push({ ok: true, start, end: tick(ctx) });
        if (ctx.trace) ctx.trace.push(`${what}: ok`);
      } catch (e) {
        calls.push({ ok: false, code: errCode(e), start, end: tick(ctx) });
        if (ctx.trace) ctx.trace.push(`${what}: ${errCode(e)}`);
      }
      setSlot(ctx, S_PROGRESS, i + 1);
    }
    setSlot(ctx, S_DONE, 1);
    return { ops: ctx.params.ops, told: 0, data: { calls } };
  },
  collect(c) {
    const own = c.ownerData as { start: number; freeEnd: number; marks: number; fresh: L.Bufferevent[] };
    const [a, b] = own.fresh as [L.Bufferevent, L.Bufferevent];
    // every byte the new pair holds: the partner's input (an output's front is frozen, so it is only counted)
    const input = L.bufferevent_get_input(b);
    const d = new Uint8Array(L.evbuffer_get_length(input));
    L.evbuffer_copyout(input, d, d.length);
    const bytes = [...d];
    const elsewhere = L.evbuffer_get_length(L.bufferevent_get_output(a)) + L.evbuffer_get_length(L.bufferevent_get_input(a)) + L.evbuffer_get_length(L.bufferevent_get_output(b));
    for (let k = 0; k < elsewhere; k++) bytes.push(-1);
    L.bufferevent_free(a);
    L.bufferevent_free(b);
    L.bufferevent_free(c.state.partner as L.Bufferevent);
    return { freeStart: own.start, freeEnd: own.freeEnd, marks: own.marks, bytes };
  },
  check(input: CheckInput): CheckOutput {
    const col = input.collected as { freeStart: number; freeEnd: number; marks: number; bytes: number[] };
    const details: string[] = [];
    let lateOk = 0;
    let afterFreed = 0;
    let otherErrors = 0;
    let freedSeen = 0;
    input.results.forEach((r, a) => {
      if (a === 0 || r === null) return;
      const calls = (r.data as { calls: Call[] }).calls;
      let freed = false;
      for (const c of calls) {
        if (!c.ok && c.code !== 'ERR_BEV_FREED') {
          otherErrors++;
          if (details.length < 6) details.push(`actor ${a}: a racing call threw ${c.code}`);
        }
        if (c.ok && freed) {
          afterFreed++;
          if (details.length < 6) details.push(`actor ${a}: a call succeeded after an earlier one threw ERR_BEV_FREED`);
        }
        if (c.ok && c.start > col.freeEnd) {
          lateOk++;
          if (details.length < 6) details.push(`actor ${a}: a call that began after bufferevent_free returned succeeded`);
        }
        if (!c.ok && c.code === 'ERR_BEV_FREED') {
          freed = true;
          freedSeen++;
        }
      }
    });
    const stray = col.bytes.filter((x) => x !== MARK).length;
    if (stray > 0 || col.bytes.length !== col.marks) details.push(`the new pair holds ${col.bytes.length} bytes, ${stray} not its own (expected ${col.marks} markers)`);
    const outcomes = [];
    if (stray > 0 || col.bytes.length !== col.marks) outcomes.push({ outcome: 'bytes reached a reused object', expectation: 'forbidden' as const });
    if (lateOk + afterFreed > 0) outcomes.push({ outcome: 'a call succeeded after the free', expectation: 'forbidden' as const });
    if (otherErrors > 0) outcomes.push({ outcome: 'a racing call failed with another error', expectation: 'forbidden' as const });
    if (outcomes.length === 0) {
      outcomes.push({
        outcome: freedSeen > 0 ? 'calls before the free succeeded, later ones ERR_BEV_FREED' : 'every call ran before the free',
        expectation: 'acceptable' as const,
      });
    }
    return { outcomes, counts: { violations: lateOk + afterFreed + otherErrors + (stray > 0 ? 1 : 0) }, details };
  },
};
