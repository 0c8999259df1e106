import * as L from '../../index.ts';
import { type ActorCtx, randInt, setSlot, tick, S_DONE, S_PROGRESS } from '../actor.ts';
import type { CheckInput, CheckOutput, Scenario } from '../scenario.ts';

/**
 * Enable/disable and read-watermark changes on one THREADSAFE pair end from every thread, with observers reading
 * them back. Each setter uses values no other call uses, so a (low, high) pair read back must be one that a single
 * call set (not low from one and high from another), and the final state must be what some thread's last change
 * left: a change that a later-starting change by another thread followed in real time cannot be the last.
 */
interface Change {
  actor: number;
  bit?: number;
  on?: boolean;
  low?: number;
  high?: number;
  start: number;
  end: number;
}

export const controlScenario: Scenario = {
  name: 'control',
  summary: 'enable/disable and watermark changes on a THREADSAFE pair from foreign threads, read back for tearing',
  minActors: 2,
  kill: false,
  setup({ base }) {
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    return { bev: pair[0]!, partner: pair[1]! };
  },
  actor(ctx: ActorCtx) {
    const bev = ctx.shared.bev as L.Bufferevent;
    const r = ctx.rng;
    const changes: Change[] = [];
    const seen: Array<[number, number]> = [];
    let n = 0;
    for (let i = 0; i < ctx.params.ops; i++) {
      const k = r();
      if (k < 0.35) {
        const low = (ctx.index + 1) * 100_000 + i * 2;
        const high = low + 1 + randInt(r, 0, 50_000);
        const start = tick(ctx);
        L.bufferevent_setwatermark(bev, L.EV_READ, low, high);
        changes.push({ actor: ctx.index, low, high, start, end: tick(ctx) });
        if (ctx.trace) ctx.trace.push(`setwatermark(EV_READ, ${low}, ${high})`);
      } else if (k < 0.65) {
        const bit = r() < 0.5 ? L.EV_READ : L.EV_WRITE;
        const on = r() < 0.5;
        const start = tick(ctx);
        if (on) L.bufferevent_enable(bev, bit);
        else L.bufferevent_disable(bev, bit);
        changes.push({ actor: ctx.index, bit, on, start, end: tick(ctx) });
        if (ctx.trace) ctx.trace.push(`${on ? 'enable' : 'disable'}(${bit === L.EV_READ ? 'EV_READ' : 'EV_WRITE'})`);
      } else {
        const wm = { low: -1, high: -1 };
        L.bufferevent_getwatermark(bev, L.EV_READ, wm);
        L.bufferevent_get_enabled(bev);
        seen.push([wm.low, wm.high]);
        if (ctx.trace) ctx.trace.push(`getwatermark(EV_READ) = (${wm.low}, ${wm.high})`);
      }
      n++;
      setSlot(ctx, S_PROGRESS, i + 1);
    }
    setSlot(ctx, S_DONE, 1);
    return { ops: n, told: 0, data: { changes, seen } };
  },
  collect(c) {
    const bev = c.state.bev as L.Bufferevent;
    const wm = { low: -1, high: -1 };
    L.bufferevent_getwatermark(bev, L.EV_READ, wm);
    const enabled = L.bufferevent_get_enabled(bev);
    L.bufferevent_free(bev);
    L.bufferevent_free(c.state.partner as L.Bufferevent);
    return { low: wm.low, high: wm.high, enabled };
  },
  check(input: CheckInput): CheckOutput {
    const all: Change[] = [];
    const seen: Array<[number, number]> = [];
    for (const r of input.results) {
      const d = r?.data as { changes: Change[]; seen: Array<[number, number]> } | undefined;
      if (!d) continue;
      all.push(...d.changes);
      seen.push(...d.seen);
    }
    const fin = input.collected as { low: number; high: number; enabled: number };
    const details: string[] = [];
    const pairs = new Set(all.filter((c) => c.low !== undefined).map((c) => `${c.low},${c.high}`));
    pairs.add('0,0');
    const torn = seen.filter(([l, h]) => !pairs.has(`${l},${h}`));
    for (const [l, h] of torn.slice(0, 3)) details.push(`read back (${l}, ${h}): no single call set that pair`);
    // candidates for "last": each thread's last change of a kind, unless a change of another thread began after it ended
    const lastOk = (of: Change[], value: (c: Change) => string, initial: string, observed: string, what: string): boolean => {
      if (of.length === 0) return observed === initial || (details.push(`${what}: ${observed}, but nothing changed it`), false);
      const cands = new Set<string>();
      for (const c of of) {
        const mine = of.filter((x) => x.actor === c.actor);
        if (mine[mine.length - 1] !== c) continue;
        if (of.some((x) => x.actor !== c.actor && x.start > c.end)) continue;
        cands.add(value(c));
      }
      if (cands.has(observed)) return true;
      details.push(`${what}: final ${observed}, expected one of ${[...cands].join(' | ')}`);
      return false;
    };
    const wmOk = lastOk(
      all.filter((c) => c.low !== undefined),
      (c) => `${c.low},${c.high}`,
      '0,0',
      `${fin.low},${fin.high}`,
      'read watermark',
    );
    let bitsOk = true;
    for (const [bit, initial] of [
      [L.EV_READ, false], // a new bufferevent has EV_WRITE enabled only, as in libevent
      [L.EV_WRITE, true],
    ] as const) {
      bitsOk &&= lastOk(
        all.filter((c) => c.bit === bit),
        (c) => String(c.on),
        String(initial),
        String((fin.enabled & bit) !== 0),
        bit === L.EV_READ ? 'EV_READ enabled' : 'EV_WRITE enabled',
      );
    }
    const outcomes = [];
    if (torn.length > 0) outcomes.push({ outcome: 'a watermark read back torn', expectation: 'forbidden' as const });
    if (!wmOk || !bitsOk) outcomes.push({ outcome: 'final state no thread\'s last change explains', expectation: 'forbidden' as const });
    if (outcomes.length === 0) outcomes.push({ outcome: 'every read whole, final state a last change', expectation: 'acceptable' as const });
    return { outcomes, counts: { torn: torn.length, violations: !wmOk || !bitsOk ? 1 : 0 }, details };
  },
};
