/**
 * The generic bufferevent machinery (docs/libevent-notes.md): callbacks, watermarks, enable/disable,
 * deferred delivery, reference counts and free, triggers, locks and the generic timers of pairs and filters.
 * Every behaviour that applies to both runs over a plain pair and over a null filter on each end of a pair.
 */
import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

type Bev = L.Bufferevent;
type Kind = 'pair' | 'filter over pair';
const KINDS: Kind[] = ['pair', 'filter over pair'];

interface Ends {
  base: L.EventBase;
  /** the writing end */ a: Bev;
  /** the reading end */ b: Bev;
  /** the pair under the filters (the ends themselves for a plain pair) */ p: Bev[];
}

/** Two connected ends: a pair, or a null filter (CLOSE_ON_FREE) over each element of a pair. */
function makeEnds(kind: Kind, opts = 0): Ends {
  const base = L.event_base_new();
  const p: Bev[] = [];
  const pairOpts = kind === 'pair' ? opts : opts & L.BEV_OPT_THREADSAFE;
  expect(L.bufferevent_pair_new(base, pairOpts, p)).toBe(0);
  if (kind === 'pair') return { base, a: p[0]!, b: p[1]!, p };
  const a = L.bufferevent_filter_new(p[0]!, null, null, opts | L.BEV_OPT_CLOSE_ON_FREE, null, null);
  const b = L.bufferevent_filter_new(p[1]!, null, null, opts | L.BEV_OPT_CLOSE_ON_FREE, null, null);
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  return { base, a: a!, b: b!, p };
}

function freeQuietly(bev: Bev): void {
  try {
    L.bufferevent_free(bev);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BEV_FREED') throw err;
  }
}

async function closeEnds(e: Ends): Promise<void> {
  freeQuietly(e.a);
  freeQuietly(e.b);
  for (const x of e.p) freeQuietly(x);
  await L.event_base_loop(e.base, L.EVLOOP_NONBLOCK);
  L.event_base_free(e.base);
}

/** Run `n` non-blocking loop iterations: enough for deferred callbacks and the callbacks they schedule. */
async function turns(base: L.EventBase, n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
}

function len(buf: L.Evbuffer): number {
  return L.evbuffer_get_length(buf);
}
function inLen(bev: Bev): number {
  return len(L.bufferevent_get_input(bev));
}
function outLen(bev: Bev): number {
  return len(L.bufferevent_get_output(bev));
}
function expectFreed(f: () => unknown): void {
  expect(f).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
}

interface Log {
  calls: string[];
  reads: number;
  writes: number;
  events: number[];
}
function newLog(): Log {
  return { calls: [], reads: 0, writes: 0, events: [] };
}
function logging(bev: Bev, log: Log, extra: { read?: (b: Bev) => void; write?: (b: Bev) => void } = {}): void {
  L.bufferevent_setcb(
    bev,
    (b: Bev) => {
      log.reads++;
      log.calls.push('read');
      extra.read?.(b);
    },
    (b: Bev) => {
      log.writes++;
      log.calls.push('write');
      extra.write?.(b);
    },
    (_b: Bev, what: number) => {
      log.events.push(what);
      log.calls.push(`event:${what}`);
    },
    log,
  );
}

// ---- A.3 callbacks ----------------------------------------------------------------------------------------------------
describe.each(KINDS)('callbacks (%s)', (kind) => {
  it('setcb replaces all three callbacks and the argument at once, and getcb returns them', async () => {
    const e = makeEnds(kind);
    const r = (): void => {};
    const w = (): void => {};
    const ev = (): void => {};
    const arg = { tag: 1 };
    L.bufferevent_setcb(e.a, r, w, ev, arg);
    const out: { readcb?: unknown; writecb?: unknown; eventcb?: unknown; cbarg?: unknown } = {};
    L.bufferevent_getcb(e.a, out);
    expect(out).toEqual({ readcb: r, writecb: w, eventcb: ev, cbarg: arg });
    L.bufferevent_setcb(e.a, null, w, null, null);
    L.bufferevent_getcb(e.a, out);
    expect(out).toEqual({ readcb: null, writecb: w, eventcb: null, cbarg: null });
    await closeEnds(e);
  });

  it('read callback fires only once the total input reaches the low watermark', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 10, 0);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, '12345');
    await turns(e.base);
    expect(inLen(e.b)).toBe(5);
    expect(log.reads).toBe(0);
    L.bufferevent_write(e.a, '67890!');
    await turns(e.base);
    expect(inLen(e.b)).toBe(11);
    expect(log.reads).toBe(1);
    await closeEnds(e);
  });

  it('changing the read low watermark alone never fires the read callback', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 10, 0);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, '12345');
    await turns(e.base);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 1, 0);
    await turns(e.base);
    expect(log.reads).toBe(0);
    L.bufferevent_write(e.a, 'x');
    await turns(e.base);
    expect(log.reads).toBe(1);
    await closeEnds(e);
  });

  it('an event that happens while the event callback is NULL is lost', async () => {
    const e = makeEnds(kind);
    L.bufferevent_setcb(e.b, null, null, null, null);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF | L.BEV_EVENT_READING, L.BEV_TRIG_DEFER_CALLBACKS);
    const log = newLog();
    logging(e.b, log);
    await turns(e.base);
    expect(log.events).toEqual([]);
    await closeEnds(e);
  });

  it('a read callback that leaves the input at or above the high watermark is invoked again with no new data', async () => {
    const e = makeEnds(kind);
    const seen: number[] = [];
    L.bufferevent_setcb(
      e.b,
      (b: Bev) => {
        seen.push(inLen(b));
        if (seen.length === 3) L.bufferevent_disable(b, L.EV_READ); // the documented way to pause
      },
      null,
      null,
      null,
    );
    L.bufferevent_setwatermark(e.b, L.EV_READ, 0, 4);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, '0123456789');
    await turns(e.base, 8);
    expect(seen).toEqual([4, 4, 4]);
    expect(inLen(e.b)).toBe(4);
    await closeEnds(e);
  });

  it('the re-invocation stops once the read callback drains below the high watermark', async () => {
    const e = makeEnds(kind);
    const seen: number[] = [];
    L.bufferevent_setcb(
      e.b,
      (b: Bev) => {
        seen.push(inLen(b));
        if (seen.length === 2) L.evbuffer_drain(L.bufferevent_get_input(b), 1);
      },
      null,
      null,
      null,
    );
    L.bufferevent_setwatermark(e.b, L.EV_READ, 0, 4);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, 'abcd');
    await turns(e.base, 8);
    expect(seen).toEqual([4, 4]);
    expect(inLen(e.b)).toBe(3);
    await closeEnds(e);
  });
});

// ---- A.4 watermarks -----------------------------------------------------------------------------------------------------
describe.each(KINDS)('watermarks (%s)', (kind) => {
  it('all four watermarks are 0 at creation', async () => {
    const e = makeEnds(kind);
    const r: { low?: number; high?: number } = {};
    const w: { low?: number; high?: number } = {};
    expect(L.bufferevent_getwatermark(e.a, L.EV_READ, r)).toBe(0);
    expect(L.bufferevent_getwatermark(e.a, L.EV_WRITE, w)).toBe(0);
    expect(r).toEqual({ low: 0, high: 0 });
    expect(w).toEqual({ low: 0, high: 0 });
    await closeEnds(e);
  });

  it('getwatermark returns -1 unless events is exactly EV_READ or EV_WRITE', async () => {
    const e = makeEnds(kind);
    const out: { low?: number; high?: number } = {};
    expect(L.bufferevent_getwatermark(e.a, L.EV_READ | L.EV_WRITE, out)).toBe(-1);
    expect(L.bufferevent_getwatermark(e.a, 0, out)).toBe(-1);
    expect(L.bufferevent_getwatermark(e.a, L.EV_TIMEOUT, out)).toBe(-1);
    expect(L.bufferevent_getwatermark(e.a, L.EV_READ | L.EV_TIMEOUT, out)).toBe(-1);
    expect(out).toEqual({});
    expect(L.bufferevent_getwatermark(e.a, L.EV_READ, null)).toBe(0);
    expect(L.bufferevent_getwatermark(e.a, L.EV_WRITE, null)).toBe(0);
    await closeEnds(e);
  });

  it('setwatermark sets the read and the write pair separately or together, without validating low > high', async () => {
    const e = makeEnds(kind);
    const out: { low?: number; high?: number } = {};
    L.bufferevent_setwatermark(e.a, L.EV_READ, 10, 20);
    L.bufferevent_setwatermark(e.a, L.EV_WRITE, 100, 2000);
    L.bufferevent_getwatermark(e.a, L.EV_READ, out);
    expect(out).toEqual({ low: 10, high: 20 });
    L.bufferevent_getwatermark(e.a, L.EV_WRITE, out);
    expect(out).toEqual({ low: 100, high: 2000 });
    L.bufferevent_setwatermark(e.a, L.EV_READ | L.EV_WRITE, 7, 3);
    L.bufferevent_getwatermark(e.a, L.EV_READ, out);
    expect(out).toEqual({ low: 7, high: 3 });
    L.bufferevent_getwatermark(e.a, L.EV_WRITE, out);
    expect(out).toEqual({ low: 7, high: 3 });
    await closeEnds(e);
  });

  it('the read high watermark caps the input, and a user drain below it pulls more', async () => {
    const e = makeEnds(kind);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 0, 4);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, '0123456789');
    await turns(e.base);
    expect(inLen(e.b)).toBe(4);
    expect(L.bufferevent_get_enabled(e.b) & L.EV_READ).toBe(L.EV_READ); // suspension is not visible
    const got = new Uint8Array(10);
    expect(L.bufferevent_read(e.b, got, 3)).toBe(3);
    await turns(e.base);
    expect(inLen(e.b)).toBe(4);
    expect(L.bufferevent_read(e.b, got.subarray(3))).toBe(4);
    await turns(e.base);
    expect(L.bufferevent_read(e.b, got.subarray(7))).toBe(3);
    expect(new TextDecoder().decode(got)).toBe('0123456789');
    await closeEnds(e);
  });

  it('setwatermark evaluates the current input at once, and high = 0 lifts the suspension', async () => {
    const e = makeEnds(kind);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, '0123456789');
    await turns(e.base);
    expect(inLen(e.b)).toBe(10);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 0, 5);
    L.bufferevent_write(e.a, 'abc');
    await turns(e.base);
    expect(inLen(e.b)).toBe(10);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 0, 0);
    await turns(e.base);
    expect(inLen(e.b)).toBe(13);
    await closeEnds(e);
  });
});

// ---- A.5 enable / disable ---------------------------------------------------------------------------------------------
describe.each(KINDS)('enable and disable (%s)', (kind) => {
  it('a new bufferevent has EV_WRITE enabled and EV_READ disabled', async () => {
    const e = makeEnds(kind);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_WRITE);
    expect(L.bufferevent_get_enabled(e.b)).toBe(L.EV_WRITE);
    await closeEnds(e);
  });

  it('enable ORs the bits in, disable clears them, both return 0', async () => {
    const e = makeEnds(kind);
    expect(L.bufferevent_enable(e.a, L.EV_READ)).toBe(0);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_READ | L.EV_WRITE);
    expect(L.bufferevent_disable(e.a, L.EV_WRITE)).toBe(0);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_READ);
    expect(L.bufferevent_disable(e.a, L.EV_READ | L.EV_WRITE)).toBe(0);
    expect(L.bufferevent_get_enabled(e.a)).toBe(0);
    expect(L.bufferevent_enable(e.a, L.EV_READ | L.EV_WRITE)).toBe(0);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_READ | L.EV_WRITE);
    await closeEnds(e);
  });

  it('disable does not cancel a deferred read callback that is already pending', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_trigger(e.b, L.EV_READ, L.BEV_TRIG_DEFER_CALLBACKS);
    L.bufferevent_disable(e.b, L.EV_READ);
    await turns(e.base);
    expect(log.reads).toBe(1);
    await closeEnds(e);
  });
});

// ---- A.8 deferred callbacks ---------------------------------------------------------------------------------------------
describe.each(KINDS)('deferred callbacks (%s)', (kind) => {
  const D = L.BEV_TRIG_DEFER_CALLBACKS;

  it('a deferred callback never runs inside the call that triggered it', async () => {
    const e = makeEnds(kind, L.BEV_OPT_DEFER_CALLBACKS);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger(e.b, L.EV_READ | L.EV_WRITE, 0);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF, 0);
    expect(log.calls).toEqual([]);
    await turns(e.base, 1);
    expect(log.calls).toEqual(['read', 'write', `event:${L.BEV_EVENT_EOF}`]);
    await closeEnds(e);
  });

  it('triggers before the runner runs coalesce into one call of each callback, events OR-ed', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    for (let i = 0; i < 3; i++) L.bufferevent_trigger(e.b, L.EV_READ, D);
    for (let i = 0; i < 2; i++) L.bufferevent_trigger(e.b, L.EV_WRITE, D);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF | L.BEV_EVENT_READING, D);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING, D);
    await turns(e.base);
    expect(log.reads).toBe(1);
    expect(log.writes).toBe(1);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_ERROR | L.BEV_EVENT_READING | L.BEV_EVENT_WRITING]);
    await closeEnds(e);
  });

  it('one runner delivers CONNECTED, then read, then write, then the other events', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF | L.BEV_EVENT_READING, D);
    L.bufferevent_trigger(e.b, L.EV_WRITE, D);
    L.bufferevent_trigger(e.b, L.EV_READ, D);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_CONNECTED, D);
    await turns(e.base);
    expect(log.calls).toEqual([
      `event:${L.BEV_EVENT_CONNECTED}`,
      'read',
      'write',
      `event:${L.BEV_EVENT_EOF | L.BEV_EVENT_READING}`,
    ]);
    await closeEnds(e);
  });

  it('runners of different bufferevents run in the order they were first scheduled', async () => {
    const e = makeEnds(kind);
    const order: string[] = [];
    L.bufferevent_setcb(e.a, () => order.push('a'), null, null, null);
    L.bufferevent_setcb(e.b, () => order.push('b'), null, null, null);
    L.bufferevent_trigger(e.b, L.EV_READ, D);
    L.bufferevent_trigger(e.a, L.EV_READ, D);
    L.bufferevent_trigger(e.b, L.EV_READ, D);
    await turns(e.base);
    expect(order).toEqual(['b', 'a']);
    await closeEnds(e);
  });

  it('a deferred callback scheduled from inside a callback runs later in the same loop iteration', async () => {
    const e = makeEnds(kind);
    const order: string[] = [];
    L.bufferevent_setcb(
      e.a,
      (a: Bev) => {
        order.push('a');
        L.bufferevent_trigger(e.b, L.EV_READ, D);
        expect(order).toEqual(['a']); // not inside the call
      },
      null,
      null,
      null,
    );
    L.bufferevent_setcb(e.b, () => order.push('b'), null, null, null);
    L.bufferevent_trigger(e.a, L.EV_READ, D);
    await L.event_base_loop(e.base, L.EVLOOP_ONCE);
    expect(order).toEqual(['a', 'b']);
    await closeEnds(e);
  });

  it('the runner re-reads the callbacks: one cleared by an earlier step is skipped and its pending flag survives', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    const clear = (b: Bev): void => L.bufferevent_setcb(b, null, null, null, null);
    logging(e.b, log, { read: clear });
    L.bufferevent_trigger(e.b, L.EV_READ | L.EV_WRITE, D);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF, D);
    await turns(e.base);
    expect(log.calls).toEqual(['read']);
    logging(e.b, log);
    L.bufferevent_trigger(e.b, L.EV_READ, D); // schedules the runner again
    await turns(e.base);
    expect(log.calls).toEqual(['read', 'read', 'write', `event:${L.BEV_EVENT_EOF}`]);
    await closeEnds(e);
  });

  it('the locked runner holds the bufferevent lock around user callbacks, the UNLOCK_CALLBACKS runner does not', async () => {
    for (const unlock of [false, true]) {
      const opts = L.BEV_OPT_THREADSAFE | L.BEV_OPT_DEFER_CALLBACKS | (unlock ? L.BEV_OPT_UNLOCK_CALLBACKS : 0);
      const e = makeEnds(kind, opts);
      let held: boolean | null = null;
      L.bufferevent_setcb(
        e.b,
        (b: Bev) => {
          const input = L.bufferevent_get_input(b);
          try {
            L.evbuffer_unlock(input); // succeeds only when this thread holds the (shared) lock
            L.evbuffer_lock(input);
            held = true;
          } catch (err) {
            expect((err as { code?: string }).code).toBe('ERR_BEV_LOCK_NOT_HELD');
            held = false;
          }
        },
        null,
        null,
        null,
      );
      L.bufferevent_trigger(e.b, L.EV_READ, 0);
      await turns(e.base);
      expect(held).toBe(!unlock);
      await closeEnds(e);
    }
  });
});

// ---- A.9 reference counts, free, use after free -------------------------------------------------------------------------
describe.each(KINDS)('reference counts and free (%s)', (kind) => {
  it('decref returns 1 only when it drops the last reference; until then the bufferevent stays usable', async () => {
    const e = makeEnds(kind);
    L.bufferevent_incref(e.a);
    L.bufferevent_incref(e.a);
    expect(L.bufferevent_decref(e.a)).toBe(0);
    L.bufferevent_free(e.a); // drops the user's reference; one incref is left
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_WRITE);
    expect(L.bufferevent_write(e.a, 'still alive')).toBe(0);
    expect(L.bufferevent_decref(e.a)).toBe(1);
    expectFreed(() => L.bufferevent_get_enabled(e.a));
    await closeEnds(e);
  });

  it('every call on a bufferevent whose last reference is gone throws ERR_BEV_FREED', async () => {
    const e = makeEnds(kind);
    L.bufferevent_free(e.a);
    const a = e.a;
    const calls: (() => unknown)[] = [
      () => L.bufferevent_free(a),
      () => L.bufferevent_write(a, 'x'),
      () => L.bufferevent_read(a, new Uint8Array(1)),
      () => L.bufferevent_enable(a, L.EV_READ),
      () => L.bufferevent_disable(a, L.EV_READ),
      () => L.bufferevent_get_enabled(a),
      () => L.bufferevent_setcb(a, null, null, null, null),
      () => L.bufferevent_getcb(a, {}),
      () => L.bufferevent_setwatermark(a, L.EV_READ, 0, 0),
      () => L.bufferevent_getwatermark(a, L.EV_READ, {}),
      () => L.bufferevent_get_input(a),
      () => L.bufferevent_get_output(a),
      () => L.bufferevent_set_timeouts(a, null, null),
      () => L.bufferevent_flush(a, L.EV_WRITE, L.BEV_FLUSH),
      () => L.bufferevent_trigger(a, L.EV_READ, 0),
      () => L.bufferevent_trigger_event(a, L.BEV_EVENT_EOF, 0),
      () => L.bufferevent_incref(a),
      () => L.bufferevent_decref(a),
      () => L.bufferevent_lock(a),
      () => L.bufferevent_unlock(a),
      () => L.bufferevent_pair_get_partner(a),
      () => L.bufferevent_get_underlying(a),
      () => L.bufferevent_getfd(a),
    ];
    for (const c of calls) expectFreed(c);
    await closeEnds(e);
  });

  it('the evbuffers of a finalized bufferevent throw ERR_BEV_FREED', async () => {
    const e = makeEnds(kind);
    const input = L.bufferevent_get_input(e.a);
    const output = L.bufferevent_get_output(e.a);
    L.bufferevent_free(e.a);
    await turns(e.base); // finalization runs from the loop
    expectFreed(() => L.evbuffer_get_length(input));
    expectFreed(() => L.evbuffer_add(output, 'x'));
    await closeEnds(e);
  });

  // BUG: core.ts decrefAndUnlock marks only the bufferevent dead; its evbuffers keep working until finalization runs
  // on the loop, although every call on its evbuffers must throw once the last reference is gone.
  it('the evbuffers of a bufferevent throw ERR_BEV_FREED as soon as its last reference is gone', async () => {
    const e = makeEnds(kind);
    const input = L.bufferevent_get_input(e.a);
    L.bufferevent_free(e.a);
    try {
      expectFreed(() => L.evbuffer_get_length(input));
    } finally {
      await closeEnds(e);
    }
  });

  it('no callback starts after bufferevent_free returns, not even a deferred one already queued', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger(e.b, L.EV_READ | L.EV_WRITE, L.BEV_TRIG_DEFER_CALLBACKS);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF, L.BEV_TRIG_DEFER_CALLBACKS);
    L.bufferevent_free(e.b);
    await turns(e.base);
    expect(log.calls).toEqual([]);
    await closeEnds(e);
  });

  it('freeing a bufferevent inside its own read callback skips the rest of the runner', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log, { read: (b) => L.bufferevent_free(b) });
    L.bufferevent_trigger(e.b, L.EV_READ | L.EV_WRITE, L.BEV_TRIG_DEFER_CALLBACKS);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_EOF, L.BEV_TRIG_DEFER_CALLBACKS);
    await turns(e.base);
    expect(log.calls).toEqual(['read']);
    expectFreed(() => L.bufferevent_get_enabled(e.b));
    await closeEnds(e);
  });

  it('a bufferevent freed while bufferevent_lock is held lives until the unlock', async () => {
    const e = makeEnds(kind);
    L.bufferevent_lock(e.a);
    L.bufferevent_free(e.a);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_WRITE);
    L.bufferevent_unlock(e.a);
    expectFreed(() => L.bufferevent_get_enabled(e.a));
    await closeEnds(e);
  });
});

// ---- A.3 bufferevent_trigger / bufferevent_trigger_event ---------------------------------------------------------------
describe.each(KINDS)('bufferevent_trigger (%s)', (kind) => {
  // A pair always defers (pairs force DEFER_CALLBACKS); a filter made with options 0 runs callbacks at once.
  const immediate = kind !== 'pair';

  it('trigger(EV_READ) honours the read low watermark unless BEV_TRIG_IGNORE_WATERMARKS', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, 'abc');
    await turns(e.base);
    const base = log.reads;
    L.bufferevent_setwatermark(e.b, L.EV_READ, inLen(e.b) + 1, 0);
    L.bufferevent_trigger(e.b, L.EV_READ, 0);
    await turns(e.base);
    expect(log.reads).toBe(base);
    L.bufferevent_trigger(e.b, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
    expect(log.reads).toBe(base + (immediate ? 1 : 0));
    await turns(e.base);
    expect(log.reads).toBe(base + 1);
    L.bufferevent_setwatermark(e.b, L.EV_READ, 3, 0);
    L.bufferevent_trigger(e.b, L.EV_READ, 0); // at the low watermark: fires
    await turns(e.base);
    expect(log.reads).toBe(base + 2);
    await closeEnds(e);
  });

  it('trigger(EV_WRITE) honours the write low watermark unless BEV_TRIG_IGNORE_WATERMARKS', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger(e.b, L.EV_WRITE, 0); // output empty, low 0: fires
    await turns(e.base);
    expect(log.writes).toBe(1);
    L.bufferevent_disable(e.b, L.EV_WRITE); // keeps the bytes in b's own output (a filter would pass them on)
    L.bufferevent_write(e.b, 'queued');
    await turns(e.base);
    expect(outLen(e.b)).toBe(6);
    expect(log.writes).toBe(1);
    L.bufferevent_trigger(e.b, L.EV_WRITE, 0);
    await turns(e.base);
    expect(log.writes).toBe(1);
    L.bufferevent_setwatermark(e.b, L.EV_WRITE, 6, 0);
    L.bufferevent_trigger(e.b, L.EV_WRITE, 0); // output <= low: fires
    await turns(e.base);
    expect(log.writes).toBe(2);
    L.bufferevent_setwatermark(e.b, L.EV_WRITE, 0, 0);
    L.bufferevent_trigger(e.b, L.EV_WRITE, L.BEV_TRIG_IGNORE_WATERMARKS);
    await turns(e.base);
    expect(log.writes).toBe(3);
    await closeEnds(e);
  });

  it('trigger runs the callback inside the call only for a non-deferred bufferevent without BEV_TRIG_DEFER_CALLBACKS', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger(e.b, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
    expect(log.reads).toBe(immediate ? 1 : 0);
    await turns(e.base);
    expect(log.reads).toBe(1);
    L.bufferevent_trigger(e.b, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS | L.BEV_TRIG_DEFER_CALLBACKS);
    expect(log.reads).toBe(1);
    await turns(e.base);
    expect(log.reads).toBe(2);
    await closeEnds(e);
  });

  it('trigger_event delivers exactly the given bits, deferred when asked or when the bufferevent defers', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING, 0);
    expect(log.events).toEqual(immediate ? [L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING] : []);
    await turns(e.base);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING]);
    L.bufferevent_trigger_event(e.b, L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING, L.BEV_TRIG_DEFER_CALLBACKS);
    expect(log.events.length).toBe(1);
    await turns(e.base);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING, L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    await closeEnds(e);
  });

  it('trigger from inside the read callback with the watermark raised stays silent (test_bufferevent_trigger)', async () => {
    const e = makeEnds(kind);
    let reads = 0;
    let triggered = 0;
    let eventWhat = 0;
    const triggeredCb = (b: Bev): void => {
      triggered++;
      L.bufferevent_trigger_event(b, L.BEV_EVENT_EOF | L.BEV_EVENT_ERROR, 0);
    };
    const firstCb = (b: Bev): void => {
      reads++;
      L.bufferevent_setcb(b, triggeredCb, null, (_b: Bev, what: number) => (eventWhat = what), null);
      const wm: { low?: number; high?: number } = {};
      L.bufferevent_getwatermark(b, L.EV_READ, wm);
      L.bufferevent_setwatermark(b, L.EV_READ, inLen(b) + 1, 0);
      L.bufferevent_trigger(b, L.EV_READ, 0);
      expect(triggered).toBe(0);
      L.bufferevent_trigger(b, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
      expect(triggered).toBe(immediate ? 1 : 0);
      L.bufferevent_setwatermark(b, L.EV_READ, wm.low!, wm.high!);
    };
    L.bufferevent_setcb(e.b, firstCb, null, null, null);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_write(e.a, 'ping');
    await turns(e.base);
    expect(reads).toBe(1);
    expect(triggered).toBe(1);
    expect(eventWhat).toBe(L.BEV_EVENT_EOF | L.BEV_EVENT_ERROR);
    await closeEnds(e);
  });
});

// ---- A.14 locks -----------------------------------------------------------------------------------------------------------
describe.each(KINDS)('bufferevent_lock and bufferevent_unlock (%s)', (kind) => {
  it('bufferevent_unlock without holding the lock throws ERR_BEV_LOCK_NOT_HELD and changes no reference', async () => {
    const e = makeEnds(kind, L.BEV_OPT_THREADSAFE);
    expect(() => L.bufferevent_unlock(e.a)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.bufferevent_free(e.a); // had the unlock dropped a reference, this would not be the last one
    expectFreed(() => L.bufferevent_get_enabled(e.a));
    await closeEnds(e);
  });

  it('bufferevent_lock is recursive and needs one unlock per lock', async () => {
    const e = makeEnds(kind, L.BEV_OPT_THREADSAFE);
    L.bufferevent_lock(e.a);
    L.bufferevent_lock(e.a);
    expect(L.bufferevent_write(e.a, 'x')).toBe(0); // API calls relock recursively
    L.bufferevent_unlock(e.a);
    L.bufferevent_unlock(e.a);
    expect(() => L.bufferevent_unlock(e.a)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    await closeEnds(e);
  });

  it('the bufferevent lock is the lock of both its evbuffers', async () => {
    const e = makeEnds(kind, L.BEV_OPT_THREADSAFE);
    const input = L.bufferevent_get_input(e.a);
    const output = L.bufferevent_get_output(e.a);
    expect(() => L.evbuffer_unlock(input)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.bufferevent_lock(e.a);
    L.evbuffer_unlock(input); // releases the level bufferevent_lock took: the same lock
    expect(() => L.evbuffer_unlock(output)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.evbuffer_lock(output);
    L.bufferevent_unlock(e.a);
    await closeEnds(e);
  });

  it('bufferevent_lock on a bufferevent without a lock still takes a reference', async () => {
    const e = makeEnds(kind);
    L.bufferevent_lock(e.a);
    L.bufferevent_free(e.a);
    expect(L.bufferevent_get_enabled(e.a)).toBe(L.EV_WRITE);
    L.bufferevent_unlock(e.a);
    expectFreed(() => L.bufferevent_get_enabled(e.a));
    await closeEnds(e);
  });
});

// ---- A.6 generic timers of pairs and filters -----------------------------------------------------------------------------
describe.each(KINDS)('generic timers (%s)', (kind) => {
  it('a read timeout reports TIMEOUT|READING once and disables EV_READ', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    const started = Date.now();
    let at = 0;
    L.bufferevent_setcb(e.b, null, null, (_b: Bev, what: number) => {
      log.events.push(what);
      at = Date.now() - started;
    }, null);
    L.bufferevent_set_timeouts(e.b, { tv_sec: 0, tv_usec: 50_000 }, null);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.event_base_loopexit(e.base, { tv_sec: 0, tv_usec: 300_000 });
    await L.event_base_dispatch(e.base);
    expect(log.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(at).toBeGreaterThanOrEqual(45);
    expect(L.bufferevent_get_enabled(e.b) & L.EV_READ).toBe(0);
    await closeEnds(e);
  });

  it('disable and set_timeouts(NULL) remove an armed timer', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.a, log);
    logging(e.b, log);
    L.bufferevent_set_timeouts(e.a, { tv_sec: 0, tv_usec: 50_000 }, null);
    L.bufferevent_enable(e.a, L.EV_READ);
    L.bufferevent_disable(e.a, L.EV_READ);
    L.bufferevent_set_timeouts(e.b, { tv_sec: 0, tv_usec: 50_000 }, null);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_set_timeouts(e.b, null, null);
    L.event_base_loopexit(e.base, { tv_sec: 0, tv_usec: 200_000 });
    await L.event_base_dispatch(e.base);
    expect(log.events).toEqual([]);
    await closeEnds(e);
  });

  it('a zero timeval is no timeout', async () => {
    const e = makeEnds(kind);
    const log = newLog();
    logging(e.b, log);
    L.bufferevent_set_timeouts(e.b, { tv_sec: 0, tv_usec: 0 }, { tv_sec: 0, tv_usec: 0 });
    L.bufferevent_enable(e.b, L.EV_READ | L.EV_WRITE);
    L.bufferevent_write(e.b, 'unread'); // the partner does not read
    L.event_base_loopexit(e.base, { tv_sec: 0, tv_usec: 100_000 });
    await L.event_base_dispatch(e.base);
    expect(log.events).toEqual([]);
    await closeEnds(e);
  });

  it('freeing a bufferevent with armed timers cancels them', async () => {
    const e = makeEnds(kind);
    L.bufferevent_setcb(e.b, null, null, () => expect.fail('no callback after free'), null);
    L.bufferevent_set_timeouts(e.b, { tv_sec: 0, tv_usec: 30_000 }, null);
    L.bufferevent_enable(e.b, L.EV_READ);
    L.bufferevent_free(e.b);
    if (kind !== 'pair') L.bufferevent_free(e.a);
    L.event_base_loopexit(e.base, { tv_sec: 0, tv_usec: 100_000 });
    await L.event_base_dispatch(e.base);
    await closeEnds(e);
  });

  // libevent's test_bufferevent_timeouts, "pair" and "filter pair" variants
  it('reproduces test_bufferevent_timeouts', async () => {
    const { base, a: bev1, b: bev2, p } = makeEnds(kind);
    interface Res {
      readAt: number;
      writeAt: number;
      nRead: number;
      nWrite: number;
      total: number;
      writecbs: number;
    }
    const res1: Res = { readAt: 0, writeAt: 0, nRead: 0, nWrite: 0, total: 0, writecbs: 0 };
    const res2: Res = { ...res1 };
    const started = Date.now();
    const writecb = (_b: Bev, r: unknown): void => void (r as Res).writecbs++;
    const eventcb = (_b: Bev, what: number, r: unknown): void => {
      const res = r as Res;
      res.total++;
      const rt = L.BEV_EVENT_READING | L.BEV_EVENT_TIMEOUT;
      const wt = L.BEV_EVENT_WRITING | L.BEV_EVENT_TIMEOUT;
      if ((what & rt) === rt) {
        res.readAt = Date.now() - started;
        res.nRead++;
      }
      if ((what & wt) === wt) {
        res.writeAt = Date.now() - started;
        res.nWrite++;
      }
    };
    const readcb = (): void => expect.fail('no read callback expected');

    L.bufferevent_disable(bev2, L.EV_READ);
    L.bufferevent_setcb(bev1, readcb, writecb, eventcb, res1);
    L.bufferevent_setwatermark(bev1, L.EV_WRITE, 1024 * 1024 + 10, 0);
    L.bufferevent_set_timeouts(bev1, { tv_sec: 0, tv_usec: 150_000 }, { tv_sec: 0, tv_usec: 100_000 });
    L.bufferevent_write(bev1, 'ABCDEFG', 7);
    L.bufferevent_enable(bev1, L.EV_READ | L.EV_WRITE);

    L.bufferevent_setcb(bev2, readcb, writecb, eventcb, res2);
    L.bufferevent_set_timeouts(bev2, { tv_sec: 0, tv_usec: 100_000 }, { tv_sec: 0, tv_usec: 200_000 });
    L.bufferevent_enable(bev2, L.EV_WRITE);

    L.event_base_loopexit(base, { tv_sec: 0, tv_usec: 350_000 });
    await L.event_base_dispatch(base);

    expect(res1.nRead).toBe(1);
    expect(res1.nWrite).toBe(1);
    expect(res1.total).toBe(2);
    // timers never fire early; on a loaded machine they may fire late (libevent's tolerance is 100 ms)
    expect(res1.readAt).toBeGreaterThanOrEqual(145);
    expect(res1.writeAt).toBeGreaterThanOrEqual(95);
    expect(res1.readAt).toBeLessThan(150 + 200);
    expect(res1.writeAt).toBeLessThan(100 + 200);
    expect(res1.writeAt).toBeLessThanOrEqual(res1.readAt);
    expect(res2.nRead).toBe(0);
    if (kind === 'pair') {
      // bev2 has no output: a pair arms the write timer only with queued output
      expect(res2.nWrite).toBe(0);
      expect(res2.total).toBe(0);
      expect(res1.writecbs).toBe(0);
    } else {
      // a filter's enable(EV_WRITE) arms the write timer even with an empty output (QUIRK)
      expect(res2.nWrite).toBe(1);
      expect(res2.total).toBe(1);
      expect(res2.writeAt).toBeGreaterThanOrEqual(195);
      // the null filter moved the 7 bytes to the underlying: bev1's write callback ran once
      expect(res1.writecbs).toBe(1);
    }
    expect(res2.writecbs).toBe(0);
    await closeEnds({ base, a: bev1, b: bev2, p });
  });
});
