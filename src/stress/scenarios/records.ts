import * as L from '../../index.ts';
import {
  type ActorCtx,
  evbufferLocked,
  evbufferUnlock,
  randInt,
  recordSize,
  setSlot,
  slot,
  SLOT_WORDS,
  S_BYTES,
  S_REC,
  S_START,
  S_PROGRESS,
  S_DONE,
  S_LOCKED,
} from '../actor.ts';
import { checkStream, concat, encodeRecord, headerAt, RECORD_HEADER, splitRecord } from '../records.ts';
import { streamOutcomes, type CheckInput, type CheckOutput, type CollectCtx, type Scenario } from '../scenario.ts';

/**
 * Records into one standalone locked evbuffer (evbuffer_enable_locking), shared by every actor.
 *
 * - Actor 0 (the owner's thread) is the checked consumer: under evbuffer_lock it removes whole records from the
 *   front, by their headers.
 * - The other actors write records: one evbuffer_add of the whole record, or several adds of its parts under
 *   evbuffer_lock (the `nested` scenario takes the lock again, one level deeper, before each part). Some operations
 *   peek instead: under the lock, the front of the buffer must be a record boundary.
 * - With kill, every write is a locked one: whoever is told ERR_BEV_OWNER_DIED cuts the dead writer's unfinished
 *   record off the end (the writer published where it began), and the stream must stay whole.
 */
function makeRecords(name: string, nested: boolean): Scenario {
  return {
    name,
    summary: nested
      ? 'records written under recursively nested evbuffer_lock levels, one part per level'
      : 'whole and multi-part records (1 B to 64 KiB) into a locked evbuffer, one checked consumer, peeking readers',
    minActors: 2,
    kill: true,
    setup() {
      const buf = L.evbuffer_new();
      L.evbuffer_enable_locking(buf, null);
      return { buf };
    },
    actor(ctx) {
      const buf = ctx.shared.buf as L.Evbuffer;
      const repair = (): void => cutDeadRecord(ctx.slots, buf, ctx.params.actors);
      return ctx.index === 0 ? consume(ctx, buf, repair) : write(ctx, buf, repair, nested);
    },
    collect(c: CollectCtx) {
      const buf = c.state.buf as L.Evbuffer;
      const chunks = (c.ownerData as Uint8Array[] | undefined) ?? [];
      let told = 0;
      try {
        L.evbuffer_lock(buf);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_BEV_OWNER_DIED') throw e;
        told++;
        cutDeadRecord(c.slots, buf, c.params.actors);
      }
      const rest = new Uint8Array(L.evbuffer_get_length(buf));
      L.evbuffer_remove(buf, rest, rest.length);
      L.evbuffer_unlock(buf);
      L.evbuffer_free(buf);
      chunks.push(rest);
      return { stream: concat(chunks), told };
    },
    check: checkRecords,
  };
}

/** After ERR_BEV_OWNER_DIED: a writer that died inside a locked record left bytes from START on; cut them. */
function cutDeadRecord(slots: Int32Array, buf: L.Evbuffer, actors: number): void {
  for (let a = 1; a < actors; a++) {
    const rec = Atomics.load(slots, a * SLOT_WORDS + S_REC);
    if ((rec & 3) !== 1) continue;
    const start = Atomics.load(slots, a * SLOT_WORDS + S_START);
    const len = L.evbuffer_get_length(buf);
    if (len > start) {
      const keep = new Uint8Array(start);
      L.evbuffer_remove(buf, keep, start);
      L.evbuffer_drain(buf, len - start);
      L.evbuffer_add(buf, keep);
    }
    Atomics.store(slots, a * SLOT_WORDS + S_REC, rec & ~3); // that record never happened
  }
}

function consume(ctx: ActorCtx, buf: L.Evbuffer, repair: () => void) {
  const chunks: Uint8Array[] = [];
  const hdr = new Uint8Array(RECORD_HEADER);
  for (let i = 0; i < ctx.params.ops; i++) {
    const t = evbufferLocked(ctx, buf, repair);
    let took = 0;
    for (let k = 0; k < 8; k++) {
      const len = L.evbuffer_get_length(buf);
      if (len < RECORD_HEADER) break;
      L.evbuffer_copyout(buf, hdr, RECORD_HEADER);
      const h = headerAt(hdr, 0, ctx.params.actors);
      const n = h === null ? len : RECORD_HEADER + h.len; // not a header: take everything, the checker sorts it out
      if (n > len) break;
      const out = new Uint8Array(n);
      L.evbuffer_remove(buf, out, n);
      chunks.push(out);
      took += n;
    }
    evbufferUnlock(ctx, buf, t);
    if (ctx.trace) ctx.trace.push(`consume: took ${took} B`);
    setSlot(ctx, S_PROGRESS, i + 1);
  }
  setSlot(ctx, S_DONE, 1);
  return { ops: ctx.params.ops, told: ctx.told, local: chunks };
}

function write(ctx: ActorCtx, buf: L.Evbuffer, repair: () => void, nested: boolean) {
  const r = ctx.rng;
  const me = ctx.index;
  const skip = ctx.params.inject === 'skip-lock';
  const hdr = new Uint8Array(RECORD_HEADER);
  let seq = 0;
  let bytes = 0;
  let peeks = 0;
  let badFront = 0;
  for (let i = 0; i < ctx.params.ops; i++) {
    const k = r();
    if (k < 0.1 && !skip) {
      // peek: with the lock held, the front is where a record begins
      const t = evbufferLocked(ctx, buf, repair);
      const len = L.evbuffer_get_length(buf);
      if (len >= RECORD_HEADER) {
        L.evbuffer_copyout(buf, hdr, RECORD_HEADER);
        if (headerAt(hdr, 0, ctx.params.actors) === null) badFront++;
      }
      evbufferUnlock(ctx, buf, t);
      peeks++;
      if (ctx.trace) ctx.trace.push(`peek: length ${len}`);
    } else {
      const size = recordSize(r);
      const rec = encodeRecord(me, seq, size);
      const whole = !nested && !ctx.params.kill && k < 0.55;
      if (whole) {
        setSlot(ctx, S_REC, seq * 4 + 2);
        L.evbuffer_add(buf, rec);
        if (ctx.trace) ctx.trace.push(`evbuffer_add(record ${me}:${seq}, ${rec.length} B)`);
      } else {
        const parts = splitRecord(rec, nested ? randInt(r, 2, 4) : randInt(r, 2, 5));
        if (ctx.trace) ctx.trace.push(`${skip ? 'no lock' : 'evbuffer_lock'}; ${parts.length} x evbuffer_add(record ${me}:${seq}, ${rec.length} B)`);
        if (skip) {
          setSlot(ctx, S_REC, seq * 4 + 2);
          for (const p of parts) L.evbuffer_add(buf, p);
        } else if (nested) {
          const held: number[] = [];
          for (let d = 0; d < parts.length; d++) {
            held.push(evbufferLocked(ctx, buf, repair));
            if (d === 0) {
              setSlot(ctx, S_START, L.evbuffer_get_length(buf));
              setSlot(ctx, S_REC, seq * 4 + 1);
            }
            L.evbuffer_add(buf, parts[d]!);
          }
          setSlot(ctx, S_REC, (seq + 1) * 4);
          while (held.length > 0) evbufferUnlock(ctx, buf, held.pop()!);
        } else {
          const t = evbufferLocked(ctx, buf, repair);
          setSlot(ctx, S_START, L.evbuffer_get_length(buf));
          setSlot(ctx, S_REC, seq * 4 + 1);
          for (const p of parts) L.evbuffer_add(buf, p);
          setSlot(ctx, S_REC, (seq + 1) * 4); // done, in one store (a death after it leaves a whole record)
          evbufferUnlock(ctx, buf, t);
        }
      }
      setSlot(ctx, S_REC, (seq + 1) * 4);
      seq++;
      bytes += rec.length;
      setSlot(ctx, S_BYTES, bytes & 0x7fffffff);
    }
    setSlot(ctx, S_PROGRESS, i + 1);
  }
  setSlot(ctx, S_DONE, 1);
  return { ops: ctx.params.ops, told: ctx.told, data: { peeks, badFront } };
}

function checkRecords(input: CheckInput): CheckOutput {
  const { params, slots, dead } = input;
  const expected: number[] = [];
  const inflight: boolean[] = [];
  for (let a = 0; a < params.actors; a++) {
    const rec = a === 0 ? 0 : slot({ slots }, a, S_REC);
    expected.push(rec >>> 2);
    inflight.push(dead[a] === true && (rec & 3) === 2);
  }
  const col = input.collected as { stream: Uint8Array; told: number };
  const report = checkStream(col.stream, expected, inflight);
  const deaths = dead.filter(Boolean).length;
  const out = streamOutcomes(report, deaths > 0 ? ', after a writer died' : '');
  let badFront = 0;
  let told = col.told;
  for (const r of input.results) {
    if (r === null) continue;
    told += r.told;
    const d = r.data as { badFront?: number } | undefined;
    if (d?.badFront) badFront += d.badFront;
  }
  if (badFront > 0) {
    out.outcomes.push({ outcome: 'a locked reader saw the front in the middle of a record', expectation: 'forbidden' });
    out.details.push(`${badFront} peek(s) under the lock found no record header at the front`);
    out.counts.torn = (out.counts.torn ?? 0) + badFront;
  }
  // a writer that died between its lock call's return and its unlock call held the lock: someone must be told
  const heldDeaths = dead.filter((d, a) => d && slot({ slots }, a, S_LOCKED) === 1).length;
  if (told < heldDeaths) {
    out.outcomes.push({ outcome: 'a death inside the lock was never reported', expectation: 'forbidden' });
    out.details.push(`${heldDeaths} writer(s) died holding the lock, ${told} ERR_BEV_OWNER_DIED report(s)`);
  }
  if (told > deaths) {
    out.outcomes.push({ outcome: 'ERR_BEV_OWNER_DIED told more than once per death', expectation: 'forbidden' });
    out.details.push(`${told} ERR_BEV_OWNER_DIED report(s) for ${deaths} death(s)`);
  } else if (told > 0) out.outcomes.push({ outcome: 'lock recovered from a dead writer, told once', expectation: 'interesting' });
  out.counts.told = told;
  return out;
}

export const recordsScenario = makeRecords('records', false);
export const nestedScenario = makeRecords('nested', true);
