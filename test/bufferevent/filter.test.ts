/**
 * Filtering bufferevents over pairs (docs/libevent-notes.md):
 * input and output passes, limits, result codes, flush, EOF, free and lock sharing.
 *
 * Layout used throughout: `p0` and `p1` are a pair; filters sit on `p0` (the writing side, `f0`) and/or `p1` (the
 * reading side, `f1`).
 */
import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

type Bev = L.Bufferevent;
type Buf = L.Evbuffer;
type FilterCb = (src: Buf, dst: Buf, limit: number, mode: number, ctx: unknown) => number;

interface Setup {
  base: L.EventBase;
  p0: Bev;
  p1: Bev;
}

function newPair(options = 0): Setup {
  const base = L.event_base_new();
  const p: Bev[] = [];
  expect(L.bufferevent_pair_new(base, options, p)).toBe(0);
  return { base, p0: p[0]!, p1: p[1]! };
}

function filter(under: Bev, inF: FilterCb | null, outF: FilterCb | null, options = 0, freeCtx: ((c: unknown) => void) | null = null, ctx: unknown = null): Bev {
  const f = L.bufferevent_filter_new(under, inF, outF, options, freeCtx, ctx);
  expect(f).not.toBeNull();
  return f!;
}

function freeQuietly(...bevs: Bev[]): void {
  for (const bev of bevs) {
    try {
      L.bufferevent_free(bev);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_BEV_FREED') throw err;
    }
  }
}

async function close(s: Setup, ...filters: Bev[]): Promise<void> {
  freeQuietly(...filters, s.p0, s.p1);
  await L.event_base_loop(s.base, L.EVLOOP_NONBLOCK);
  L.event_base_free(s.base);
}

async function turns(base: L.EventBase, n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
}

function text(buf: Buf): string {
  const out = new Uint8Array(L.evbuffer_get_length(buf));
  L.evbuffer_copyout(buf, out);
  return new TextDecoder().decode(out);
}
const inText = (bev: Bev): string => text(L.bufferevent_get_input(bev));
const outText = (bev: Bev): string => text(L.bufferevent_get_output(bev));
const inLen = (bev: Bev): number => L.evbuffer_get_length(L.bufferevent_get_input(bev));
const outLen = (bev: Bev): number => L.evbuffer_get_length(L.bufferevent_get_output(bev));
const ms = (n: number): { tv_sec: number; tv_usec: number } => ({ tv_sec: Math.floor(n / 1000), tv_usec: (n % 1000) * 1000 });
const NOT_HELD = expect.objectContaining({ code: 'ERR_BEV_LOCK_NOT_HELD' });

interface Log {
  calls: string[];
  reads: number;
  writes: number;
  events: number[];
}
function logging(bev: Bev): Log {
  const log: Log = { calls: [], reads: 0, writes: 0, events: [] };
  L.bufferevent_setcb(
    bev,
    () => {
      log.reads++;
      log.calls.push('read');
    },
    () => {
      log.writes++;
      log.calls.push('write');
    },
    (_b: Bev, what: number) => {
      log.events.push(what);
      log.calls.push(`event:${what}`);
    },
    log,
  );
  return log;
}

/** A pass-through filter that records each call. */
function recorder(result = L.BEV_OK): { calls: { limit: number; mode: number; srcLen: number }[]; cb: FilterCb } {
  const calls: { limit: number; mode: number; srcLen: number }[] = [];
  const cb: FilterCb = (src, dst, limit, mode) => {
    calls.push({ limit, mode, srcLen: L.evbuffer_get_length(src) });
    if (result !== L.BEV_OK) return result;
    const n = limit < 0 ? L.evbuffer_get_length(src) : Math.min(limit, L.evbuffer_get_length(src));
    L.evbuffer_remove_buffer(src, dst, n);
    return L.BEV_OK;
  };
  return { calls, cb };
}

describe('bufferevent_filter_new', () => {
  it('returns NULL for a NULL underlying', () => {
    expect(L.bufferevent_filter_new(null, null, null, 0, null, null)).toBeNull();
  });

  it('returns NULL for UNLOCK_CALLBACKS without DEFER_CALLBACKS', async () => {
    const s = newPair();
    expect(L.bufferevent_filter_new(s.p1, null, null, L.BEV_OPT_UNLOCK_CALLBACKS, null, null)).toBeNull();
    const f = filter(s.p1, null, null, L.BEV_OPT_UNLOCK_CALLBACKS | L.BEV_OPT_DEFER_CALLBACKS);
    await close(s, f);
  });

  it('uses the underlying base, reports it as underlying and forwards getfd', async () => {
    const s = newPair();
    const f = filter(s.p1, null, null);
    expect(L.bufferevent_get_underlying(f)).toBe(s.p1);
    expect(L.bufferevent_get_base(f)).toBe(s.base);
    expect(L.bufferevent_getfd(f)).toBe(-1);
    expect(L.bufferevent_get_enabled(f)).toBe(L.EV_WRITE);
    await close(s, f);
  });

  it('takes over the underlying callbacks and enables READ|WRITE on it', async () => {
    const s = newPair();
    const mine = (): void => {};
    L.bufferevent_setcb(s.p1, mine, mine, mine, 'mine');
    const f = filter(s.p1, null, null);
    const out: { readcb?: unknown; writecb?: unknown; eventcb?: unknown; cbarg?: unknown } = {};
    L.bufferevent_getcb(s.p1, out);
    expect(out.readcb).not.toBe(mine);
    expect(out.writecb).not.toBe(mine);
    expect(out.eventcb).not.toBe(mine);
    expect(out.cbarg).not.toBe('mine');
    expect(L.bufferevent_get_enabled(s.p1)).toBe(L.EV_READ | L.EV_WRITE);
    await close(s, f);
  });

  it('the underlying does not read until the filter enables EV_READ', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    L.bufferevent_write(s.p0, 'hello');
    await turns(s.base);
    expect(outLen(s.p0)).toBe(5);
    expect(inLen(s.p1)).toBe(0);
    L.bufferevent_enable(f1, L.EV_READ);
    expect(outLen(s.p0)).toBe(0); // the pair moved it inside enable
    await turns(s.base);
    expect(inText(f1)).toBe('hello');
    await close(s, f1);
  });

  it('does not freeze the filter buffers', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    expect(L.evbuffer_add(L.bufferevent_get_input(f1), 'user data')).toBe(0);
    expect(inText(f1)).toBe('user data');
    await close(s, f1);
  });

  it('over a socket bufferevent on fd -1 can be freed before the socket (test_bufferevent_socket_filter_inactive)', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, 0)!;
    expect(bev).not.toBeNull();
    const f = filter(bev, null, null);
    L.bufferevent_free(f);
    L.bufferevent_free(bev);
    await turns(base);
    L.event_base_free(base);
  });
});

describe('filter passes', () => {
  // libevent's test_bufferevent_pair_filters: the output filter adds an 'x' before each byte, the input filter strips it
  it('an output filter and an input filter transform 8333 bytes end to end (test_bufferevent_pair_filters)', async () => {
    const s = newPair();
    let ok = 0;
    const outputFilter: FilterCb = (src, dst) => {
      ok++;
      if (ok !== 1) return L.BEV_ERROR;
      const n = L.evbuffer_get_length(src);
      const data = L.evbuffer_pullup(src, n)!;
      const x = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        x[2 * i] = 0x78;
        x[2 * i + 1] = data[i]!;
      }
      L.evbuffer_add(dst, x);
      L.evbuffer_drain(src, n);
      return L.BEV_OK;
    };
    const inputFilter: FilterCb = (src, dst) => {
      const n = L.evbuffer_get_length(src);
      const data = L.evbuffer_pullup(src, n)!;
      let i = 0;
      for (; i + 1 < n; i += 2) {
        expect(data[i]).toBe(0x78);
        L.evbuffer_add(dst, data.subarray(i + 1, i + 2));
      }
      L.evbuffer_drain(src, i);
      return L.BEV_OK;
    };
    const bev1 = filter(s.p0, null, outputFilter, L.BEV_OPT_CLOSE_ON_FREE);
    const bev2 = filter(s.p1, inputFilter, null, L.BEV_OPT_CLOSE_ON_FREE);
    const payload = new Uint8Array(8333).map((_v, i) => i & 0xff);
    let received: Uint8Array | null = null;
    L.bufferevent_setcb(bev1, null, (b: Bev) => void (outLen(b) === 0 && ok++), () => expect.fail('no event'), null);
    L.bufferevent_setcb(
      bev2,
      (b: Bev) => {
        if (inLen(b) === 8333) {
          received = new Uint8Array(8333);
          L.bufferevent_read(b, received);
          L.bufferevent_disable(b, L.EV_READ);
          ok++;
        }
      },
      null,
      () => expect.fail('no event'),
      null,
    );
    expect(L.bufferevent_get_underlying(bev1)).toBe(s.p0);
    expect(L.bufferevent_get_underlying(bev2)).toBe(s.p1);
    L.bufferevent_disable(bev1, L.EV_READ);
    L.bufferevent_enable(bev2, L.EV_READ);
    L.bufferevent_write(bev1, payload);
    await L.event_base_dispatch(s.base);
    expect(ok).toBe(3);
    expect(received).toEqual(payload);
    await close(s, bev1, bev2);
  });

  it('a write into the filter from inside its output filter does not re-enter it; the outer pass picks it up', async () => {
    const s = newPair();
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    let f0: Bev;
    const outputFilter: FilterCb = (src, dst) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      calls++;
      L.evbuffer_add(dst, '[');
      L.evbuffer_add_buffer(dst, src);
      L.evbuffer_add(dst, ']');
      if (calls === 1) {
        L.bufferevent_write(f0, '-');
        expect(calls).toBe(1); // not called again during that write
      }
      depth--;
      return L.BEV_OK;
    };
    f0 = filter(s.p0, null, outputFilter);
    L.bufferevent_write(f0, 'data');
    expect(calls).toBe(2);
    expect(maxDepth).toBe(1);
    L.bufferevent_enable(s.p1, L.EV_READ); // p0's output is frozen at its front: read it on the far side
    expect(inText(s.p1)).toBe('[data][-]');
    await close(s, f0);
  });

  it('a write from the write callback during an output pass does not re-enter the output filter', async () => {
    const s = newPair();
    let depth = 0;
    let maxDepth = 0;
    const out = recorder();
    const outputFilter: FilterCb = (src, dst, limit, mode, ctx) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      const r = out.cb(src, dst, limit, mode, ctx);
      depth--;
      return r;
    };
    const f0 = filter(s.p0, null, outputFilter);
    let writes = 0;
    L.bufferevent_setcb(f0, null, (b: Bev) => {
      writes++;
      if (writes === 1) L.bufferevent_write(b, 'second');
    }, null, null);
    L.bufferevent_write(f0, 'first');
    expect(maxDepth).toBe(1);
    expect(out.calls.length).toBe(2);
    expect(writes).toBe(2);
    L.bufferevent_enable(s.p1, L.EV_READ);
    expect(inText(s.p1)).toBe('firstsecond');
    await close(s, f0);
  });

  it('a non-deferred filter runs its write callback inside bufferevent_write, a deferred one from the loop', async () => {
    for (const opts of [0, L.BEV_OPT_DEFER_CALLBACKS]) {
      const s = newPair();
      const f0 = filter(s.p0, null, null, opts);
      const log = logging(f0);
      L.bufferevent_write(f0, 'abc');
      expect(log.writes).toBe(opts ? 0 : 1);
      await turns(s.base);
      expect(log.writes).toBe(1);
      await close(s, f0);
    }
  });

  it('the filter read callback fires after an input pass that saw BEV_OK, honouring the filter read low watermark', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    const log = logging(f1);
    L.bufferevent_setwatermark(f1, L.EV_READ, 6, 0);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'abc');
    await turns(s.base);
    expect(log.reads).toBe(0);
    L.bufferevent_write(s.p0, 'def');
    await turns(s.base);
    expect(log.reads).toBe(1);
    expect(inText(f1)).toBe('abcdef');
    await close(s, f1);
  });

  it('the input filter gets limit = high - len(filter input) under a read high watermark, else -1', async () => {
    const s = newPair();
    const rec = recorder();
    const f1 = filter(s.p1, rec.cb, null);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'abc');
    await turns(s.base);
    expect(rec.calls.map((c) => c.limit)).toEqual([-1]);
    L.bufferevent_setwatermark(f1, L.EV_READ, 0, 10);
    rec.calls.length = 0;
    L.bufferevent_write(s.p0, '0123456789');
    await turns(s.base);
    expect(rec.calls[0]).toEqual({ limit: 7, mode: L.BEV_NORMAL, srcLen: 10 });
    expect(inLen(f1)).toBe(10);
    expect(inLen(s.p1)).toBe(3);
    await close(s, f1);
  });

  it('the input filter is not called while the filter has EV_READ disabled or its input is at the high watermark', async () => {
    const s = newPair();
    const rec = recorder();
    const f1 = filter(s.p1, rec.cb, null);
    L.bufferevent_setwatermark(f1, L.EV_READ, 0, 4);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'abcd');
    await turns(s.base);
    const n = rec.calls.length;
    expect(inLen(f1)).toBe(4);
    L.bufferevent_flush(s.p0, L.EV_WRITE, L.BEV_FLUSH); // nothing left in p0: the pair still triggers p1's read
    L.bufferevent_trigger(s.p1, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
    await turns(s.base);
    expect(rec.calls.length).toBe(n); // full
    L.evbuffer_drain(L.bufferevent_get_input(f1), 4);
    L.bufferevent_disable(f1, L.EV_READ);
    L.bufferevent_trigger(s.p1, L.EV_READ, L.BEV_TRIG_IGNORE_WATERMARKS);
    await turns(s.base);
    expect(rec.calls.length).toBe(n); // disabled
    await close(s, f1);
  });

  it('the output filter gets limit = underlying write high - len(underlying output), else -1', async () => {
    const s = newPair();
    const rec = recorder();
    const f0 = filter(s.p0, null, rec.cb);
    L.bufferevent_write(f0, 'abc');
    expect(rec.calls.map((c) => c.limit)).toEqual([-1]);
    L.bufferevent_setwatermark(s.p0, L.EV_WRITE, 0, 8);
    rec.calls.length = 0;
    L.bufferevent_write(f0, '0123456789'); // p1 does not read: p0's output holds 3
    expect(rec.calls[0]).toEqual({ limit: 5, mode: L.BEV_NORMAL, srcLen: 10 });
    expect(outLen(s.p0)).toBe(8);
    expect(outLen(f0)).toBe(5);
    await close(s, f0);
  });

  it('the output filter waits while the underlying output is at its write high watermark and resumes on its write callback', async () => {
    const s = newPair();
    const rec = recorder();
    const f0 = filter(s.p0, null, rec.cb);
    L.bufferevent_setwatermark(s.p0, L.EV_WRITE, 0, 4);
    L.bufferevent_write(f0, '0123456789');
    expect(outLen(s.p0)).toBe(4);
    expect(outLen(f0)).toBe(6);
    const n = rec.calls.length;
    L.bufferevent_write(f0, 'X');
    await turns(s.base);
    expect(rec.calls.length).toBe(n);
    expect(outLen(f0)).toBe(7);
    L.bufferevent_enable(s.p1, L.EV_READ); // the pair drains p0; p0's write callback resumes the filter
    await turns(s.base, 8);
    expect(outLen(f0)).toBe(0);
    expect(inText(s.p1)).toBe('0123456789X');
    await close(s, f0);
  });

  it('a flush ignores the underlying write high watermark', async () => {
    const s = newPair();
    const f0 = filter(s.p0, null, null);
    L.bufferevent_setwatermark(s.p0, L.EV_WRITE, 0, 4);
    L.bufferevent_write(f0, '0123456789');
    expect(outLen(f0)).toBe(6);
    expect(L.bufferevent_flush(f0, L.EV_WRITE, L.BEV_FLUSH)).toBe(1);
    expect(outLen(f0)).toBe(0);
    expect(outLen(s.p0) + inLen(s.p1)).toBe(10);
    await close(s, f0);
  });

  it('enable(EV_READ) does not process data already waiting in the underlying input (QUIRK)', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    L.bufferevent_write(s.p0, 'early');
    L.bufferevent_flush(s.p0, L.EV_WRITE, L.BEV_FLUSH); // into p1's input although it is not reading
    await turns(s.base);
    expect(inLen(s.p1)).toBe(5);
    L.bufferevent_enable(f1, L.EV_READ);
    await turns(s.base);
    expect(inLen(f1)).toBe(0);
    expect(inLen(s.p1)).toBe(5);
    L.bufferevent_write(s.p0, '+late'); // the next arrival processes both
    await turns(s.base);
    expect(inText(f1)).toBe('early+late');
    await close(s, f1);
  });
});

describe('filter result codes (Decision 1)', () => {
  it('BEV_NEED_MORE from the input filter is silent and leaves the data in the underlying', async () => {
    const s = newPair();
    const rec = recorder(L.BEV_NEED_MORE);
    const f1 = filter(s.p1, rec.cb, null);
    const log = logging(f1);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'partial');
    await turns(s.base);
    expect(rec.calls.length).toBe(1);
    expect(log.calls).toEqual([]);
    expect(inLen(s.p1)).toBe(7);
    expect(inLen(f1)).toBe(0);
    await close(s, f1);
  });

  it('BEV_NEED_MORE from the output filter is silent and leaves the data in the filter output', async () => {
    const s = newPair();
    const rec = recorder(L.BEV_NEED_MORE);
    const f0 = filter(s.p0, null, rec.cb);
    const log = logging(f0);
    L.bufferevent_write(f0, 'partial');
    await turns(s.base);
    expect(rec.calls.length).toBe(1);
    expect(log.calls).toEqual([]);
    expect(outLen(f0)).toBe(7);
    expect(outLen(s.p0)).toBe(0);
    await close(s, f0);
  });

  it('BEV_ERROR from the input filter reports ERROR|READING once per failed pass and keeps the data', async () => {
    const s = newPair();
    const rec = recorder(L.BEV_ERROR);
    const f1 = filter(s.p1, rec.cb, null);
    const log = logging(f1);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'bad');
    await turns(s.base);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_READING]);
    L.bufferevent_write(s.p0, 'worse');
    await turns(s.base);
    expect(rec.calls.length).toBe(2);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_READING, L.BEV_EVENT_ERROR | L.BEV_EVENT_READING]);
    expect(log.reads).toBe(0);
    expect(inText(s.p1)).toBe('badworse');
    await close(s, f1);
  });

  it('BEV_ERROR from the output filter reports ERROR|WRITING once per failed pass and keeps the data', async () => {
    const s = newPair();
    const rec = recorder(L.BEV_ERROR);
    const f0 = filter(s.p0, null, rec.cb, L.BEV_OPT_DEFER_CALLBACKS);
    const log = logging(f0);
    L.bufferevent_write(f0, 'bad');
    await turns(s.base);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING]);
    L.bufferevent_write(f0, 'worse');
    await turns(s.base);
    expect(log.events).toEqual([L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING, L.BEV_EVENT_ERROR | L.BEV_EVENT_WRITING]);
    expect(log.writes).toBe(0);
    expect(outText(f0)).toBe('badworse');
    expect(outLen(s.p0)).toBe(0);
    await close(s, f0);
  });

  it('on the underlying EOF the input filter gets one BEV_FINISHED pass before the EOF event is passed on', async () => {
    const s = newPair();
    const modes: number[] = [];
    const decoder: FilterCb = (src, dst, _limit, mode) => {
      modes.push(mode);
      if (mode !== L.BEV_FINISHED) return L.BEV_NEED_MORE; // holds everything until the end
      L.evbuffer_add(dst, '<');
      L.evbuffer_add_buffer(dst, src);
      L.evbuffer_add(dst, '>');
      return L.BEV_OK;
    };
    const f1 = filter(s.p1, decoder, null);
    const seen: string[] = [];
    L.bufferevent_setcb(
      f1,
      (b: Bev) => seen.push(`read:${inText(b)}`),
      null,
      (_b: Bev, what: number) => seen.push(`event:${what}`),
      null,
    );
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'compressed');
    await turns(s.base);
    expect(seen).toEqual([]);
    L.bufferevent_flush(s.p0, L.EV_WRITE, L.BEV_FINISHED); // p1 gets EOF|READING
    await turns(s.base);
    expect(modes.filter((m) => m === L.BEV_FINISHED).length).toBe(1);
    expect(modes.at(-1)).toBe(L.BEV_FINISHED);
    expect(seen).toEqual(['read:<compressed>', `event:${L.BEV_EVENT_EOF | L.BEV_EVENT_READING}`]);
    await close(s, f1);
  });

  it('other underlying events are passed on unchanged, without a BEV_FINISHED pass', async () => {
    const s = newPair();
    const rec = recorder();
    const f1 = filter(s.p1, rec.cb, null);
    const log = logging(f1);
    L.bufferevent_flush(s.p0, L.EV_READ, L.BEV_FINISHED); // p1 gets EOF|WRITING
    await turns(s.base);
    L.bufferevent_trigger_event(s.p1, L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING, 0);
    await turns(s.base);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_WRITING, L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(rec.calls.some((c) => c.mode === L.BEV_FINISHED)).toBe(false);
    // the filter's own enabled state does not change
    expect(L.bufferevent_get_enabled(f1)).toBe(L.EV_WRITE);
    await close(s, f1);
  });
});

describe('filter input high watermark', () => {
  // libevent's test_bufferevent_filter_data_stuck
  it('data left in the underlying when the filter input is full is processed after the user drains (data_stuck)', async () => {
    const readHighWm = 4096;
    const options = L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_DEFER_CALLBACKS;
    const s = newPair(options);
    const data = { headerSize: 20, totalRead: 0 };
    let headerInserted = false;
    const inputcb: FilterCb = (src, dst, dstLimit) => {
      let headerSize = 0;
      if (!headerInserted) {
        L.evbuffer_add(dst, new Uint8Array(data.headerSize));
        headerSize = data.headerSize;
        headerInserted = true;
      }
      let payload = L.evbuffer_get_length(src);
      if (payload > dstLimit - headerSize) payload = dstLimit - headerSize;
      expect(L.evbuffer_remove_buffer(src, dst, payload)).toBe(payload);
      return L.BEV_OK;
    };
    L.bufferevent_setwatermark(s.p0, L.EV_READ, 0, readHighWm);
    L.bufferevent_setwatermark(s.p1, L.EV_READ, 0, readHighWm);
    const f = filter(s.p1, inputcb, null, options, null, data);
    L.bufferevent_setcb(
      f,
      (b: Bev) => {
        const input = L.bufferevent_get_input(b);
        const n = L.evbuffer_get_length(input);
        L.evbuffer_drain(input, n);
        data.totalRead += n;
      },
      null,
      null,
      data,
    );
    expect(L.bufferevent_enable(f, L.EV_READ | L.EV_WRITE)).toBe(0);
    L.bufferevent_setwatermark(f, L.EV_READ, 0, readHighWm);
    expect(L.bufferevent_write(s.p0, new Uint8Array(4096))).toBe(0);
    await L.event_base_dispatch(s.base);
    expect(data.totalRead).toBe(4096 + data.headerSize);
    await close(s, f);
  });

  it('leftover underlying data is processed once a drain takes the filter input below high, even after a smaller drain', async () => {
    const s = newPair();
    // a filter that overshoots its limit by 2 bytes (limits are advisory)
    const greedy: FilterCb = (src, dst, limit) => {
      const n = limit < 0 ? L.evbuffer_get_length(src) : limit + 2;
      L.evbuffer_remove_buffer(src, dst, n);
      return L.BEV_OK;
    };
    const f1 = filter(s.p1, greedy, null);
    L.bufferevent_setwatermark(f1, L.EV_READ, 0, 4);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, '0123456789');
    await turns(s.base);
    expect(inLen(f1)).toBe(6);
    expect(inLen(s.p1)).toBe(4);
    const input = L.bufferevent_get_input(f1);
    L.evbuffer_drain(input, 1); // 5: still at/above high, nothing to do yet
    expect(inLen(s.p1)).toBe(4);
    L.evbuffer_drain(input, 5); // 0: below high, the leftover comes in
    expect(inText(f1)).toBe('6789');
    expect(inLen(s.p1)).toBe(0);
    await close(s, f1);
  });
});

describe('filter flush', () => {
  it('returns 1 when a filter call returned BEV_OK and 0 otherwise, never -1', async () => {
    const s = newPair();
    const ok = recorder();
    const more = recorder(L.BEV_NEED_MORE);
    const fOk = filter(s.p0, ok.cb, ok.cb);
    const fMore = filter(s.p1, more.cb, more.cb);
    L.bufferevent_free(s.p1); // fMore keeps p1 alive, but p1's partner is gone: its own flush returns -1
    for (const mode of [L.BEV_FLUSH, L.BEV_FINISHED]) {
      expect(L.bufferevent_flush(fOk, L.EV_WRITE, mode)).toBe(1);
      expect(L.bufferevent_flush(fOk, L.EV_READ, mode)).toBe(1);
      expect(L.bufferevent_flush(fMore, L.EV_READ | L.EV_WRITE, mode)).toBe(0);
    }
    // NORMAL mode with nothing to do calls no filter
    const n = ok.calls.length;
    expect(L.bufferevent_flush(fOk, L.EV_WRITE, L.BEV_NORMAL)).toBe(0);
    expect(ok.calls.length).toBe(n);
    await close(s, fOk, fMore);
  });

  it('calls the filter at least once in FLUSH and FINISHED, even with an empty source, with limit -1', async () => {
    const s = newPair();
    const inRec = recorder();
    const outRec = recorder();
    const f0 = filter(s.p0, inRec.cb, outRec.cb);
    L.bufferevent_setwatermark(f0, L.EV_READ, 0, 4);
    L.bufferevent_setwatermark(s.p0, L.EV_WRITE, 0, 4);
    L.bufferevent_disable(f0, L.EV_WRITE);
    L.bufferevent_flush(f0, L.EV_WRITE, L.BEV_FLUSH);
    L.bufferevent_flush(f0, L.EV_READ, L.BEV_FINISHED);
    L.bufferevent_flush(f0, L.EV_WRITE, L.BEV_FINISHED);
    expect(outRec.calls).toEqual([
      { limit: -1, mode: L.BEV_FLUSH, srcLen: 0 },
      { limit: -1, mode: L.BEV_FINISHED, srcLen: 0 },
    ]);
    expect(inRec.calls).toEqual([{ limit: -1, mode: L.BEV_FINISHED, srcLen: 0 }]);
    await close(s, f0);
  });

  it('a FINISHED trailer reaches the far end, followed by EOF|READING from the underlying pair flush', async () => {
    const s = newPair();
    const trailer: FilterCb = (src, dst, _limit, mode) => {
      L.evbuffer_add_buffer(dst, src);
      if (mode === L.BEV_FINISHED) L.evbuffer_add(dst, '<end>');
      return L.BEV_OK;
    };
    const f0 = filter(s.p0, null, trailer);
    const log = logging(s.p1);
    L.bufferevent_write(f0, 'body');
    expect(L.bufferevent_flush(f0, L.EV_WRITE, L.BEV_FINISHED)).toBe(1);
    expect(inText(s.p1)).toBe('body<end>'); // the pair flush ignores p1's disabled reading
    await turns(s.base);
    expect(log.events).toEqual([L.BEV_EVENT_EOF | L.BEV_EVENT_READING]);
    await close(s, f0);
  });

  it('an EV_READ flush moves data into the filter input but does not run the read callback (QUIRK)', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    const log = logging(f1);
    L.bufferevent_write(s.p0, 'pulled');
    L.bufferevent_flush(s.p0, L.EV_WRITE, L.BEV_FLUSH); // into p1's input
    expect(L.bufferevent_flush(f1, L.EV_READ, L.BEV_FLUSH)).toBe(1);
    expect(inText(f1)).toBe('pulled');
    await turns(s.base);
    expect(log.reads).toBe(0);
    await close(s, f1);
  });
});

describe('filter timers', () => {
  it('an input pass that processed data re-arms the read timer', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    const started = Date.now();
    let at = 0;
    const events: number[] = [];
    L.bufferevent_setcb(f1, null, null, (_b: Bev, what: number) => {
      events.push(what);
      at = Date.now() - started;
    }, null);
    L.bufferevent_set_timeouts(f1, ms(200), null);
    L.bufferevent_enable(f1, L.EV_READ);
    const t = L.evtimer_new(s.base, () => L.bufferevent_write(s.p0, 'tick'), null);
    L.evtimer_add(t, ms(120));
    L.event_base_loopexit(s.base, ms(600));
    await L.event_base_dispatch(s.base);
    L.event_free(t);
    expect(events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_READING]);
    expect(at).toBeGreaterThanOrEqual(120 + 195);
    expect(L.bufferevent_get_enabled(f1) & L.EV_READ).toBe(0);
    await close(s, f1);
  });

  it('enable(EV_WRITE) and an output pass arm the write timer even with an empty output (QUIRK)', async () => {
    const s = newPair();
    const f0 = filter(s.p0, null, null);
    const f1 = filter(s.p1, null, null);
    const l0 = logging(f0);
    const l1 = logging(f1);
    L.bufferevent_set_timeouts(f0, null, ms(60));
    L.bufferevent_set_timeouts(f1, null, ms(60));
    L.bufferevent_enable(f0, L.EV_WRITE); // empty output
    L.bufferevent_write(f1, 'moved at once'); // the output pass empties the filter output
    expect(outLen(f1)).toBe(0);
    L.event_base_loopexit(s.base, ms(300));
    await L.event_base_dispatch(s.base);
    expect(l0.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    expect(l1.events).toEqual([L.BEV_EVENT_TIMEOUT | L.BEV_EVENT_WRITING]);
    await close(s, f0, f1);
  });
});

describe('freeing a filter', () => {
  it('without CLOSE_ON_FREE hands the underlying back: callbacks cleared, reading no longer suspended', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    L.bufferevent_free(f1);
    await turns(s.base);
    const out: { readcb?: unknown; writecb?: unknown; eventcb?: unknown; cbarg?: unknown } = {};
    L.bufferevent_getcb(s.p1, out);
    expect(out).toEqual({ readcb: null, writecb: null, eventcb: null, cbarg: null });
    expect(L.bufferevent_get_enabled(s.p1)).toBe(L.EV_READ | L.EV_WRITE);
    L.bufferevent_write(s.p0, 'direct');
    expect(inText(s.p1)).toBe('direct');
    await close(s);
  });

  it('without CLOSE_ON_FREE leaves callbacks the user set on the underlying afterwards', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    const log = logging(s.p1);
    L.bufferevent_free(f1);
    await turns(s.base);
    L.bufferevent_write(s.p0, 'direct');
    await turns(s.base);
    expect(log.reads).toBe(1);
    await close(s);
  });

  it('with CLOSE_ON_FREE frees the underlying, which goes when the filter is finalized', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null, L.BEV_OPT_CLOSE_ON_FREE);
    L.bufferevent_free(f1);
    expect(L.bufferevent_get_enabled(s.p1)).toBe(L.EV_READ | L.EV_WRITE); // the filter's reference remains
    await turns(s.base);
    expect(() => L.bufferevent_get_enabled(s.p1)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(L.bufferevent_pair_get_partner(s.p0)).toBeNull();
    await close(s);
  });

  it('calls free_context once, at finalization from the loop, not inside bufferevent_free', async () => {
    const s = newPair();
    const ctx = { name: 'ctx' };
    const freed: unknown[] = [];
    const f1 = filter(s.p1, null, null, 0, (c) => freed.push(c), ctx);
    L.bufferevent_free(f1);
    expect(freed).toEqual([]);
    await turns(s.base);
    expect(freed).toEqual([ctx]);
    await turns(s.base);
    expect(freed.length).toBe(1);
    await close(s);
  });

  it('event_base_free runs a finalization still pending (free_context)', () => {
    const s = newPair();
    const freed: unknown[] = [];
    const f1 = filter(s.p1, null, null, L.BEV_OPT_CLOSE_ON_FREE, (c) => freed.push(c), 42);
    L.bufferevent_free(f1);
    L.bufferevent_free(s.p0);
    L.event_base_free(s.base);
    expect(freed).toEqual([42]);
  });

  it('a non-deferred filter can free itself inside its read callback, at its high watermark', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null);
    let reads = 0;
    L.bufferevent_setcb(f1, (b: Bev) => {
      reads++;
      L.bufferevent_free(b);
    }, null, () => expect.fail('no event'), null);
    L.bufferevent_setwatermark(f1, L.EV_READ, 0, 4);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, '0123456789');
    await turns(s.base, 6);
    expect(reads).toBe(1);
    expect(() => L.bufferevent_get_enabled(f1)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    // the underlying got back: its reading is no longer suspended by the filter
    expect(inLen(s.p1)).toBe(6);
    await close(s);
  });

  it('bufferevent_trigger holds a reference while a non-deferred read callback frees the filter', async () => {
    const s = newPair();
    const freed: unknown[] = [];
    const f0 = filter(s.p0, null, null, 0, (c) => freed.push(c), 'ctx');
    L.bufferevent_setcb(f0, (b: Bev) => {
      L.bufferevent_free(b);
      expect(freed).toEqual([]);
      expect(L.bufferevent_get_enabled(b)).toBe(L.EV_WRITE); // the trigger's reference keeps it alive
    }, null, null, null);
    L.bufferevent_trigger(f0, L.EV_READ, 0);
    expect(() => L.bufferevent_get_enabled(f0)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    await turns(s.base);
    expect(freed).toEqual(['ctx']);
    await close(s);
  });

  it('a pending deferred callback of the filter does not run after free', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null, L.BEV_OPT_DEFER_CALLBACKS);
    const log = logging(f1);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(s.p0, 'data');
    L.bufferevent_trigger_event(f1, L.BEV_EVENT_EOF, 0);
    L.bufferevent_free(f1);
    await turns(s.base);
    expect(log.calls).toEqual([]);
    await close(s);
  });
});

describe('filter locking (Decision 2)', () => {
  /** After bufferevent_lock(f), releasing the underlying's evbuffer lock one level too many releases f's level too. */
  function expectSharedLock(f: Bev, under: Bev): void {
    const uin = L.bufferevent_get_input(under);
    expect(() => L.evbuffer_unlock(uin)).toThrow(NOT_HELD);
    L.bufferevent_lock(f);
    L.evbuffer_lock(uin); // recursive in this thread: the same lock
    L.evbuffer_unlock(uin);
    L.evbuffer_unlock(uin); // releases the level bufferevent_lock(f) took
    expect(() => L.bufferevent_unlock(f)).toThrow(NOT_HELD);
    L.evbuffer_lock(uin);
    L.bufferevent_unlock(f);
  }

  it('a THREADSAFE filter shares the lock of a THREADSAFE underlying', async () => {
    const s = newPair(L.BEV_OPT_THREADSAFE);
    const f1 = filter(s.p1, null, null, L.BEV_OPT_THREADSAFE);
    expectSharedLock(f1, s.p1);
    await close(s, f1);
  });

  it('a THREADSAFE filter gives an unlocked underlying its lock', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null, L.BEV_OPT_THREADSAFE);
    expectSharedLock(f1, s.p1);
    await close(s, f1);
  });

  it('a filter over a THREADSAFE underlying shares its lock even without THREADSAFE', async () => {
    const s = newPair(L.BEV_OPT_THREADSAFE);
    const f1 = filter(s.p1, null, null, 0);
    expectSharedLock(f1, s.p1);
    await close(s, f1);
  });

  it('the underlying keeps a working lock after a THREADSAFE filter over it is finalized', async () => {
    const s = newPair();
    const f1 = filter(s.p1, null, null, L.BEV_OPT_THREADSAFE);
    L.bufferevent_free(f1);
    await turns(s.base);
    L.bufferevent_lock(s.p1);
    L.bufferevent_write(s.p0, 'after');
    expect(inText(s.p1)).toBe('after');
    L.bufferevent_unlock(s.p1);
    await close(s);
  });

  it('data flows through a THREADSAFE filter pair end to end', async () => {
    const s = newPair(L.BEV_OPT_THREADSAFE);
    const f0 = filter(s.p0, null, null, L.BEV_OPT_THREADSAFE | L.BEV_OPT_DEFER_CALLBACKS);
    const f1 = filter(s.p1, null, null, L.BEV_OPT_THREADSAFE | L.BEV_OPT_DEFER_CALLBACKS | L.BEV_OPT_UNLOCK_CALLBACKS);
    const log = logging(f1);
    L.bufferevent_enable(f1, L.EV_READ);
    L.bufferevent_write(f0, 'locked all the way');
    await turns(s.base);
    expect(log.reads).toBe(1);
    expect(inText(f1)).toBe('locked all the way');
    await close(s, f0, f1);
  });
});
