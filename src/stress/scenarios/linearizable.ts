import * as L from '../../index.ts';
import { type ActorCtx, randInt, setSlot, tick, S_DONE, S_PROGRESS } from '../actor.ts';
import { describeOp, linearize, type HistoryEntry, type ModelOp } from '../model.ts';
import type { CheckInput, CheckOutput, Scenario } from '../scenario.ts';

/**
 * A few evbuffer operations per thread on one locked evbuffer (add, prepend, remove, drain, get_length, copyout),
 * each stamped with real-time tickets; the history must be linearizable against the sequential model of
 * src/stress/model.ts, ending in the contents the buffer really has.
 */
const latin1 = (b: Uint8Array, n: number): string => String.fromCharCode(...b.subarray(0, n));

export const linearizableScenario: Scenario = {
  name: 'linearizable',
  summary: 'evbuffer operations from every thread checked for linearizability against a sequential model',
  minActors: 2,
  maxActors: 4,
  maxOps: 6,
  kill: false,
  setup() {
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    return { buf };
  },
  actor(ctx: ActorCtx) {
    const buf = ctx.shared.buf as L.Evbuffer;
    const r = ctx.rng;
    const history: HistoryEntry[] = [];
    const tmp = new Uint8Array(8);
    const ops = Math.min(ctx.params.ops, 6);
    for (let i = 0; i < ops; i++) {
      const k = randInt(r, 0, 5);
      const tag = String.fromCharCode(65 + ctx.index) + String.fromCharCode(48 + i);
      let op: ModelOp;
      let result: string | number | null = null;
      const start = tick(ctx);
      switch (k) {
        case 0:
          op = { kind: 'add', data: tag };
          L.evbuffer_add(buf, tag);
          break;
        case 1:
          op = { kind: 'prepend', data: tag.toLowerCase() };
          L.evbuffer_prepend(buf, tag.toLowerCase());
          break;
        case 2: {
          const n = randInt(r, 1, 4);
          op = { kind: 'remove', n };
          result = latin1(tmp, L.evbuffer_remove(buf, tmp, n));
          break;
        }
        case 3: {
          const n = randInt(r, 1, 3);
          op = { kind: 'drain', n };
          L.evbuffer_drain(buf, n);
          break;
        }
        case 4:
          op = { kind: 'length' };
          result = L.evbuffer_get_length(buf);
          break;
        default: {
          const n = randInt(r, 1, 4);
          op = { kind: 'copyout', n };
          result = latin1(tmp, L.evbuffer_copyout(buf, tmp, n));
        }
      }
      history.push({ thread: ctx.index, op, result, start, end: tick(ctx) });
      if (ctx.trace) ctx.trace.push(`${describeOp(op)}${result === null ? '' : ` = ${JSON.stringify(result)}`}`);
      setSlot(ctx, S_PROGRESS, i + 1);
    }
    setSlot(ctx, S_DONE, 1);
    return { ops, told: 0, data: history };
  },
  collect(c) {
    const buf = c.state.buf as L.Evbuffer;
    const out = new Uint8Array(L.evbuffer_get_length(buf));
    L.evbuffer_copyout(buf, out, out.length);
    L.evbuffer_free(buf);
    return { final: String.fromCharCode(...out) };
  },
  check(input: CheckInput): CheckOutput {
    const history = input.results.map((r) => (r?.data as HistoryEntry[] | undefined) ?? []);
    const final = (input.collected as { final: string }).final;
    const res = linearize(history, '', final);
    if (res.ok) return { outcomes: [{ outcome: 'linearizable', expectation: 'acceptable' }], counts: {}, details: [] };
    const details = [`no order of these operations explains their results and the final contents ${JSON.stringify(final)}:`];
    history.forEach((h, t) => {
      details.push(`  thread ${t}: ${h.map((e) => `${describeOp(e.op)}${e.result === null ? '' : `=${JSON.stringify(e.result)}`} [${e.start},${e.end}]`).join('; ')}`);
    });
    return { outcomes: [{ outcome: 'not linearizable', expectation: 'forbidden' }], counts: { violations: 1 }, details };
  },
};
