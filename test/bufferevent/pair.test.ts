/**
 * Bufferevent pairs (docs/libevent-notes.md): synchronous transfers under one shared
 * lock, deferred callbacks, watermarks, flush, free of one end, and the write timer of Decision 7.
 */
import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

type Bev = L.Bufferevent;

interface P {
  base: L.EventBase;
  a: Bev;
  b: Bev;
}

function newPair(options = 0): P {
  const base = L.event_base_new();
  const pair: Bev[] = [];
  expect(L.bufferevent_pair_new(base, options, pair)).toBe(0);
  return { base, a: pair[0]!, b: pair[1]! };
}

function freeQuietly(bev: Bev): void {
  try {
    L.bufferevent_free(bev);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BEV_FREED') throw err;
  }
}

async function closePair(p: P): Promise<void> {
  freeQuietly(p.a);
  freeQuietly(p.b);
  await L.event_base_loop(p.base, L.EVLOOP_NONBLOCK);
  L.event_base_free(p.base);
}

async function turns(base: L.EventBase, n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
}

function inLen(bev: Bev): number {
  return L.evbuffer_get_length(L.bufferevent_get_input(bev));
}
function outLen(bev: Bev): number {
  return L.evbuffer_get_length(L.bufferevent_get_output(bev));
}
function inText(bev: Bev): string {
  const input = L.bufferevent_get_input(bev);
  const out = new Uint8Array(L.evbuffer_get_length(input));
  L.evbuffer_copyout(input, out);
  return new TextDecoder().decode(out);
}
function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

interface Counts {
  reads: number;
  writes: number;
  events: number[];
}
function counting(bev: Bev): Counts {
  const c: Counts = { reads: 0, writes: 0, events: [] };
  L.bufferevent_setcb(
    bev,
    () => c.reads++,
    () => c.writes++,
    (_b: Bev, what: number) => c.events.push(what),
    c,
  );
  return c;
}

const ms = (n: number): { tv_sec: number; tv_usec: number } => ({ tv_sec: Math.floor(n / 1000), tv_usec: (n % 1000) * 1000 });

describe('bufferevent_pair_new', () => {
  it('fills both ends, each the partner of the other', async () => {
    const p = newPair();
    expect(p.a).toBeInstanceOf(L.Bufferevent);
    expect(p.b).toBeInstanceOf(L.Bufferevent);
    expect(L.bufferevent_pair_get_partner(p.a)).toBe(p.b);
    expect(L.bufferevent_pair_get_partner(p.b)).toBe(p.a);
    expect(L.bufferevent_get_base(p.a)).toBe(p.base);
    await closePair(p);
  });

  it('accepts UNLOCK_CALLBACKS alone: DEFER_CALLBACKS is forced on pairs before the options are checked', async () => {
    for (const extra of [0, L.BEV_OPT_THREADSAFE]) {
      const base = L.event_base_new();
      const pair: Bev[] = [];
      expect(L.bufferevent_pair_new(base, L.BEV_OPT_UNLOCK_CALLBACKS | extra, pair)).toBe(0);
      let reads = 0;
      L.bufferevent_setcb(pair[1]!, () => reads++, null, null, null);
      L.bufferevent_enable(pair[1]!, L.EV_READ);
      L.bufferevent_write(pair[0]!, 'x');
      expect(reads).toBe(0); // deferred: the callback waits for the loop
      await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      expect(reads).toBe(1);
      L.bufferevent_free(pair[0]!);
      L.bufferevent_free(pair[1]!);
      await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      L.event_base_free(base);
    }
  });

  it('accepts UNLOCK_CALLBACKS with DEFER_CALLBACKS, with or without THREADSAFE', async () => {
    for (const opts of [
      L.BEV_OPT_UNLOCK_CALLBACKS | L.BEV_OPT_DEFER_CALLBACKS,
      L.BEV_OPT_UNLOCK_CALLBACKS | L.BEV_OPT_DEFER_CALLBACKS | L.BEV_OPT_THREADSAFE,
      L.BEV_OPT_THREADSAFE,
      L.BEV_OPT_CLOSE_ON_FREE,
    ]) {
      const p = newPair(opts);
      await closePair(p);
    }
  });

  it('has no fd, no underlying and no priority setting; pair_get_partner of a non-pair is NULL', async () => {
    const p = newPair();
    expect(L.bufferevent_getfd(p.a)).toBe(-1);
    expect(L.bufferevent_setfd(p.a, -1)).toBe(-1);
    expect(L.bufferevent_get_underlying(p.a)).toBeNull();
    expect(L.bufferevent_priority_set(p.a, 0)).toBe(-1);
    const f = L.bufferevent_filter_new(p.a, null, null, 0, null, null)!;
    expect(L.bufferevent_pair_get_partner(f)).toBeNull();
    L.bufferevent_free(f);
    await closePair(p);
  });

  it('freezes the input at its end and the output at its front', async () => {
    const p = newPair();
    expect(L.evbuffer_add(L.bufferevent_get_input(p.a), 'x')).toBe(-1);
    L.bufferevent_write(p.a, 'abc');
    expect(L.evbuffer_drain(L.bufferevent_get_output(p.a), 1)).toBe(-1);
    expect(outLen(p.a)).toBe(3);
    await closePair(p);
  });
});

describe('pair transfers', () => {
  it('a transfer is synchronous: after bufferevent_write returns the partner input holds the bytes', async () => {
    const p = newPair();
    L.bufferevent_enable(p.b, L.EV_READ);
    expect(L.bufferevent_write(p.a, 'hello')).toBe(0);
    expect(outLen(p.a)).toBe(0);
    expect(inText(p.b)).toBe('hello');
    await closePair(p);
  });

  it('callbacks caused by a transfer always run later from the loop (DEFER_CALLBACKS is forced)', async () => {
    const p = newPair(0);
    const ca = counting(p.a);
    const cb = counting(p.b);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_write(p.a, 'one');
    L.bufferevent_write(p.a, 'two');
    L.bufferevent_write(p.a, 'three');
    expect(cb.reads).toBe(0);
    expect(ca.writes).toBe(0);
    await turns(p.base);
    // three transfers before the runner ran: coalesced into one call each
    expect(cb.reads).toBe(1);
    expect(ca.writes).toBe(1);
    expect(inText(p.b)).toBe('onetwothree');
    await closePair(p);
  });

  it('nothing moves until the reader enables EV_READ; then everything moves inside the enable call', async () => {
    const p = newPair();
    L.bufferevent_write(p.a, 'waiting');
    await turns(p.base);
    expect(outLen(p.a)).toBe(7);
    expect(inLen(p.b)).toBe(0);
    L.bufferevent_enable(p.b, L.EV_READ);
    expect(outLen(p.a)).toBe(0);
    expect(inText(p.b)).toBe('waiting');
    await closePair(p);
  });

  it('nothing moves while the writer has EV_WRITE disabled; enabling it moves the data at once', async () => {
    const p = newPair();
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_disable(p.a, L.EV_WRITE);
    L.bufferevent_write(p.a, 'held');
    expect(inLen(p.b)).toBe(0);
    L.bufferevent_enable(p.a, L.EV_WRITE);
    expect(inText(p.b)).toBe('held');
    await closePair(p);
  });

  it('the write callback fires after data moved out, not when data is added', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_write(p.a, 'abc');
    await turns(p.base);
    expect(ca.writes).toBe(0);
    L.bufferevent_enable(p.b, L.EV_READ);
    await turns(p.base);
    expect(ca.writes).toBe(1);
    await closePair(p);
  });

  it('the write callback honours the write low watermark of the source', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_setwatermark(p.a, L.EV_WRITE, 4, 0);
    L.bufferevent_setwatermark(p.b, L.EV_READ, 0, 5);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_write(p.a, '0123456789'); // 5 move, 5 stay: 5 > low 4
    await turns(p.base);
    expect(outLen(p.a)).toBe(5);
    expect(ca.writes).toBe(0);
    L.evbuffer_drain(L.bufferevent_get_input(p.b), 5); // 5 more move, 0 stay
    await turns(p.base);
    expect(outLen(p.a)).toBe(0);
    expect(ca.writes).toBe(1);
    await closePair(p);
  });

  it('the read high watermark caps a transfer at high - len and a full reader receives nothing', async () => {
    const p = newPair();
    L.bufferevent_setwatermark(p.b, L.EV_READ, 0, 6);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_write(p.a, 'abcd');
    expect(inLen(p.b)).toBe(4);
    L.bufferevent_write(p.a, 'efgh');
    expect(inText(p.b)).toBe('abcdef');
    expect(outLen(p.a)).toBe(2);
    L.bufferevent_write(p.a, 'ijk');
    expect(inLen(p.b)).toBe(6);
    expect(outLen(p.a)).toBe(5);
    // a user drain synchronously unsuspends and pulls the next bytes
    L.evbuffer_drain(L.bufferevent_get_input(p.b), 6);
    expect(inText(p.b)).toBe('ghijk');
    expect(outLen(p.a)).toBe(0);
    await closePair(p);
  });

  it('the write high watermark has no effect on a pair', async () => {
    const p = newPair();
    L.bufferevent_setwatermark(p.a, L.EV_WRITE, 0, 2);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_write(p.a, '0123456789');
    expect(inLen(p.b)).toBe(10);
    expect(outLen(p.a)).toBe(0);
    await closePair(p);
  });

  it('test_bufferevent_pair: 8333 bytes arrive, write callback at empty output, no event', async () => {
    for (const flush of [-1, L.BEV_NORMAL, L.BEV_FLUSH, L.BEV_FINISHED]) {
      const p = newPair();
      let ok = 0;
      let events = 0;
      const readcb = (bev: Bev): void => {
        if (inLen(bev) === 8333) {
          const evbuf = L.evbuffer_new();
          L.bufferevent_read_buffer(bev, evbuf);
          L.bufferevent_disable(bev, L.EV_READ);
          if (L.evbuffer_get_length(evbuf) === 8333) ok++;
          L.evbuffer_free(evbuf);
        }
      };
      const writecb = (bev: Bev): void => {
        if (outLen(bev) === 0) ok++;
      };
      const errorcb = (): void => void events++;
      L.bufferevent_setcb(p.a, readcb, writecb, errorcb, p.a);
      L.bufferevent_setcb(p.b, readcb, writecb, errorcb, null);
      L.bufferevent_disable(p.a, L.EV_READ);
      L.bufferevent_enable(p.b, L.EV_READ);
      expect(L.bufferevent_get_enabled(p.a)).toBe(L.EV_WRITE);
      expect(L.bufferevent_get_enabled(p.b)).toBe(L.EV_WRITE | L.EV_READ);
      L.bufferevent_write(p.a, bytes(8333));
      if (flush >= 0) expect(L.bufferevent_flush(p.a, L.EV_WRITE, flush)).toBeGreaterThanOrEqual(0);
      expect(await L.event_base_dispatch(p.base)).toBe(1);
      L.bufferevent_free(p.b);
      expect(L.bufferevent_pair_get_partner(p.a)).toBeNull();
      L.bufferevent_free(p.a);
      expect(ok).toBe(2);
      // only a BEV_FINISHED flush calls the partner's event callback
      expect(events).toBe(flush === L.BEV_FINISHED ? 1 : 0);
      await closePair(p);
    }
  });

  it('test_bufferevent_pair_watermarks: 65000 bytes through a 10..20 read window', async () => {
    const p = newPair();
    let ok = 0;
    let nread = 0;
    const lens: number[] = [];
    L.bufferevent_setcb(
      p.a,
      null,
      (bev: Bev) => {
        expect(outLen(bev)).toBeLessThanOrEqual(100);
        if (outLen(bev) === 0) ok++;
      },
      () => expect.fail('no event expected'),
      null,
    );
    L.bufferevent_setcb(
      p.b,
      (bev: Bev) => {
        const n = inLen(bev);
        lens.push(n);
        const evbuf = L.evbuffer_new();
        L.bufferevent_read_buffer(bev, evbuf);
        L.evbuffer_free(evbuf);
        nread += n;
        if (nread === 65000) {
          L.bufferevent_disable(bev, L.EV_READ);
          ok++;
        }
      },
      null,
      () => expect.fail('no event expected'),
      null,
    );
    L.bufferevent_disable(p.a, L.EV_READ);
    L.bufferevent_enable(p.b, L.EV_READ);
    const wm: { low?: number; high?: number } = {};
    L.bufferevent_getwatermark(p.a, L.EV_READ, wm);
    expect(wm.low).toBe(0);
    L.bufferevent_setwatermark(p.b, L.EV_READ, 10, 20);
    L.bufferevent_setwatermark(p.a, L.EV_WRITE, 100, 2000);
    expect(L.bufferevent_getwatermark(p.a, L.EV_WRITE | L.EV_READ, wm)).not.toBe(0);
    L.bufferevent_write(p.a, bytes(65000));
    await L.event_base_dispatch(p.base);
    expect(ok).toBe(2);
    expect(nread).toBe(65000);
    expect(lens.every((n) => n >= 10 && n <= 20)).toBe(true);
    await closePair(p);
  });
});

describe('pair flush', () => {
  it('returns 0 even when it moved data, and ignores the enabled flags', async () => {
    const p = newPair();
    L.bufferevent_write(p.a, 'pushed'); // b does not read
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FLUSH)).toBe(0);
    expect(inText(p.b)).toBe('pushed');
    expect(outLen(p.a)).toBe(0);
    await closePair(p);
  });

  it('BEV_NORMAL returns 0 and moves nothing', async () => {
    const p = newPair();
    L.bufferevent_write(p.a, 'stay');
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_NORMAL)).toBe(0);
    expect(outLen(p.a)).toBe(4);
    expect(inLen(p.b)).toBe(0);
    await closePair(p);
  });

  it('EV_READ pulls the partner output into this input', async () => {
    const p = newPair();
    L.bufferevent_write(p.b, 'from b');
    expect(L.bufferevent_flush(p.a, L.EV_READ, L.BEV_FLUSH)).toBe(0);
    expect(inText(p.a)).toBe('from b');
    await closePair(p);
  });

  it('a reader at or above its high watermark receives everything, one below it only up to high', async () => {
    const p = newPair();
    L.bufferevent_setwatermark(p.b, L.EV_READ, 0, 4);
    L.bufferevent_write(p.a, '0123456789');
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FLUSH)).toBe(0);
    expect(inLen(p.b)).toBe(4); // below high: up to high
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FLUSH)).toBe(0);
    expect(inLen(p.b)).toBe(10); // at high: everything
    await closePair(p);
  });

  it('BEV_FINISHED on EV_WRITE sends the partner EOF|READING, delivered from the loop (test_bufferevent_pair_flush)', async () => {
    const p = newPair();
    expect(L.bufferevent_enable(p.a, L.EV_WRITE)).toBe(0);
    expect(L.bufferevent_enable(p.b, L.EV_READ)).toBe(0);
    let what = 0;
    L.bufferevent_setcb(p.b, null, null, (_b: Bev, w: number) => (what = w), null);
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FINISHED)).toBe(0);
    expect(what).toBe(0);
    await L.event_base_loop(p.base, L.EVLOOP_ONCE);
    expect(what).toBe(L.BEV_EVENT_READING | L.BEV_EVENT_EOF);
    await closePair(p);
  });

  it('BEV_FINISHED on EV_READ sends the partner EOF|WRITING, on both EOF|READING|WRITING', async () => {
    const p = newPair();
    const cb = counting(p.b);
    L.bufferevent_flush(p.a, L.EV_READ, L.BEV_FINISHED);
    await turns(p.base);
    L.bufferevent_flush(p.a, L.EV_READ | L.EV_WRITE, L.BEV_FINISHED);
    await turns(p.base);
    expect(cb.events).toEqual([
      L.BEV_EVENT_EOF | L.BEV_EVENT_WRITING,
      L.BEV_EVENT_EOF | L.BEV_EVENT_READING | L.BEV_EVENT_WRITING,
    ]);
    await closePair(p);
  });

  it('returns -1 without a partner', async () => {
    const p = newPair();
    L.bufferevent_free(p.b);
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FLUSH)).toBe(-1);
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_NORMAL)).toBe(-1);
    await closePair(p);
  });
});

describe('freeing one end of a pair', () => {
  it('clears both partner links and sends the survivor no event', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_enable(p.a, L.EV_READ);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_free(p.b);
    expect(L.bufferevent_pair_get_partner(p.a)).toBeNull();
    await turns(p.base);
    expect(ca.events).toEqual([]);
    expect(ca.reads).toBe(0);
    // the survivor's writes accumulate in its output
    L.bufferevent_write(p.a, 'into the void');
    L.bufferevent_write(p.a, '!');
    await turns(p.base);
    expect(outLen(p.a)).toBe(14);
    expect(ca.writes).toBe(0);
    expect(L.bufferevent_flush(p.a, L.EV_WRITE, L.BEV_FINISHED)).toBe(-1);
    await closePair(p);
  });

  it('the partner link lasts until a pending runner of the freed end has run', async () => {
    const p = newPair();
    counting(p.a);
    L.bufferevent_enable(p.b, L.EV_READ);
    L.bufferevent_write(p.a, 'x'); // a write callback of a is now pending (it holds a reference)
    L.bufferevent_free(p.a);
    expect(L.bufferevent_pair_get_partner(p.b)).toBe(p.a);
    await turns(p.base);
    expect(L.bufferevent_pair_get_partner(p.b)).toBeNull();
    await closePair(p);
  });

  it('freeing both ends of a THREADSAFE pair in either order releases the shared lock cleanly', async () => {
    for (const order of [0, 1]) {
      const p = newPair(L.BEV_OPT_THREADSAFE);
      L.bufferevent_enable(p.b, L.EV_READ);
      L.bufferevent_write(p.a, 'data');
      const [first, second] = order === 0 ? [p.a, p.b] : [p.b, p.a];
      L.bufferevent_free(first);
      await turns(p.base);
      // the survivor still locks and unlocks its (shared) lock after the first end was finalized
      L.bufferevent_lock(second);
      L.evbuffer_unlock(L.bufferevent_get_input(second));
      L.evbuffer_lock(L.bufferevent_get_input(second));
      L.bufferevent_unlock(second);
      expect(L.bufferevent_write(second, 'more')).toBe(0);
      L.bufferevent_free(second);
      await closePair(p);
    }
  });
});

describe('pair locking', () => {
  it('the two ends of a THREADSAFE pair share one lock', async () => {
    const p = newPair(L.BEV_OPT_THREADSAFE);
    const bOut = L.bufferevent_get_output(p.b);
    expect(() => L.evbuffer_unlock(bOut)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.bufferevent_lock(p.a);
    L.evbuffer_unlock(bOut); // releases the level taken through the other end: one lock
    expect(() => L.bufferevent_unlock(p.a)).toThrow(expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' }));
    L.evbuffer_lock(bOut);
    L.bufferevent_unlock(p.a);
    await closePair(p);
  });

});

describe('pair timers', () => {
  it('a transfer re-arms the destination read timer', async () => {
    const p = newPair();
    const started = Date.now();
    let at = 0;
    L.bufferevent_setcb(p.b, null, null, (_b: Bev, what: number) => {
      expect(what).toBe(L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING);
      at = Date.now() - started;
    }, null);
    L.bufferevent_set_timeouts(p.b, ms(200), null);
    L.bufferevent_enable(p.b, L.EV_READ);
    const t = L.evtimer_new(p.base, () => L.bufferevent_write(p.a, 'keepalive'), null);
    L.evtimer_add(t, ms(120));
    L.event_base_loopexit(p.base, ms(600));
    await L.event_base_dispatch(p.base);
    L.event_free(t);
    expect(at).toBeGreaterThanOrEqual(120 + 195);
    await closePair(p);
  });

  it('pair enable(EV_WRITE) arms the write timer only with queued output', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_set_timeouts(p.a, null, ms(50));
    L.bufferevent_disable(p.a, L.EV_WRITE);
    L.bufferevent_enable(p.a, L.EV_WRITE); // empty output: no timer
    L.event_base_loopexit(p.base, ms(150));
    await L.event_base_dispatch(p.base);
    expect(ca.events).toEqual([]);
    L.bufferevent_write(p.a, 'stuck'); // b does not read
    L.bufferevent_enable(p.a, L.EV_WRITE);
    L.event_base_loopexit(p.base, ms(300));
    await L.event_base_dispatch(p.base);
    expect(ca.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(L.bufferevent_get_enabled(p.a) & L.EV_WRITE).toBe(0);
    await closePair(p);
  });

  // Decision 7 (C13): a successful transfer resets the source's write timer.
  it('a transfer that empties the source output deletes the source write timer', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_write(p.a, 'pending');
    L.bufferevent_set_timeouts(p.a, null, ms(200)); // armed: output is queued
    const t = L.evtimer_new(p.base, () => L.bufferevent_enable(p.b, L.EV_READ), null);
    L.evtimer_add(t, ms(50));
    L.event_base_loopexit(p.base, ms(450));
    await L.event_base_dispatch(p.base);
    L.event_free(t);
    expect(inText(p.b)).toBe('pending');
    expect(ca.events).toEqual([]); // libevent would report TIMEOUT|WRITING at 200 ms
    await closePair(p);
  });

  it('a partial transfer restarts the source write timer', async () => {
    const p = newPair();
    const started = Date.now();
    let at = 0;
    const events: number[] = [];
    L.bufferevent_setcb(p.a, null, null, (_b: Bev, what: number) => {
      events.push(what);
      at = Date.now() - started;
    }, null);
    L.bufferevent_setwatermark(p.b, L.EV_READ, 0, 4);
    L.bufferevent_write(p.a, '0123456789');
    L.bufferevent_set_timeouts(p.a, null, ms(300));
    const t = L.evtimer_new(p.base, () => L.bufferevent_enable(p.b, L.EV_READ), null);
    L.evtimer_add(t, ms(200)); // moves 4 bytes at ~200 ms: the timer restarts and fires at >= 500 ms, not ~300 ms
    L.event_base_loopexit(p.base, ms(1000));
    await L.event_base_dispatch(p.base);
    L.event_free(t);
    expect(events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(at).toBeGreaterThanOrEqual(450);
    expect(outLen(p.a)).toBe(6);
    await closePair(p);
  });

  it('undelivered data still times out as in libevent', async () => {
    const p = newPair();
    const ca = counting(p.a);
    L.bufferevent_write(p.a, 'nobody reads this');
    L.bufferevent_set_timeouts(p.a, null, ms(60));
    L.event_base_loopexit(p.base, ms(300));
    await L.event_base_dispatch(p.base);
    expect(ca.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    await closePair(p);
  });

  it('a transfer does not touch the destination write timer', async () => {
    const p = newPair();
    const cb = counting(p.b);
    // b has queued output of its own (a does not read) and a write timeout
    L.bufferevent_write(p.b, 'b to a');
    L.bufferevent_set_timeouts(p.b, null, ms(300));
    L.bufferevent_enable(p.b, L.EV_READ);
    const started = Date.now();
    let at = 0;
    L.bufferevent_setcb(p.b, null, null, (_b: Bev, what: number) => {
      cb.events.push(what);
      at = Date.now() - started;
    }, null);
    const t = L.evtimer_new(p.base, () => L.bufferevent_write(p.a, 'a to b'), null);
    L.evtimer_add(t, ms(250));
    L.event_base_loopexit(p.base, ms(900));
    await L.event_base_dispatch(p.base);
    L.event_free(t);
    expect(cb.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(at).toBeGreaterThanOrEqual(295);
    expect(at).toBeLessThan(250 + 280); // not restarted by the transfer into b at 250 ms (that would be >= 550)
    await closePair(p);
  });
});
