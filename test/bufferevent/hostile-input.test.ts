import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { Helper } from '../support/worker.ts';

const code = (c: string) => expect.objectContaining({ code: c });

describe('callbacks that throw while the owner applies other threads’ changes', () => {
  it('the loop rejects with the error of an evbuffer callback, and later foreign writes into another pair are still delivered', async () => {
    const base = L.event_base_new();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    const boom = new Error('callback failed');
    L.evbuffer_add_cb(buf, () => {
      throw boom;
    }, null);
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    let got = '';
    L.bufferevent_setcb(pair[1]!, (b) => {
      const out = new Uint8Array(64);
      got += Buffer.from(out.subarray(0, L.bufferevent_read(b, out))).toString();
      L.event_base_loopbreak(base);
    }, null, null, null);
    L.bufferevent_enable(pair[1]!, L.EV_READ);
    const w = new Helper('lifetime-worker.ts');
    try {
      const loop1 = L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY).then(() => null, (e: unknown) => e);
      await w.call({ op: 'evbuffer-add', sharedBuf: L.evbuffer_export(buf), data: 'abc' });
      expect(await loop1).toBe(boom);
      expect(L.evbuffer_get_length(buf)).toBe(3); // the data stays
      const loop2 = L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY);
      await w.call({ op: 'write', shared: L.bufferevent_export(pair[0]!), data: 'hello' });
      expect(await loop2).toBe(0);
      expect(got).toBe('hello');
    } finally {
      await w.close();
    }
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.evbuffer_free(buf);
    L.event_base_free(base);
  });
});

describe('caller objects with throwing setters', () => {
  const throwing = (prop: string): object =>
    Object.defineProperty({}, prop, {
      set() {
        throw new Error('setter');
      },
    });

  it('evbuffer_readln: the lock is released, and a throwing n_read_out setter gets the line consumed only once it was returned', () => {
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    L.evbuffer_add(buf, 'one\ntwo\n');
    expect(() => L.evbuffer_readln(buf, throwing('n_read') as never, L.EVBUFFER_EOL_LF)).toThrow('setter');
    expect((buf as unknown as { lockOff: number; a: { i32: Int32Array } }).a.i32[((buf as unknown as { lockOff: number }).lockOff >>> 2) + 2]).toBe(0); // depth 0: released
    expect(L.evbuffer_readln(buf, null, L.EVBUFFER_EOL_LF)).toBe('two');
    L.evbuffer_free(buf);
  });

  it('bufferevent_getwatermark and bufferevent_getcb release the lock when the out object throws', () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    expect(() => L.bufferevent_getwatermark(pair[0]!, L.EV_READ, throwing('low') as never)).toThrow('setter');
    expect(() => L.bufferevent_getcb(pair[0]!, throwing('readcb') as never)).toThrow('setter');
    const i = pair[0] as unknown as { lockOff: number; a: { i32: Int32Array } };
    expect(i.a.i32[(i.lockOff >>> 2) + 2]).toBe(0);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });
});

describe('timeouts longer than Node’s setTimeout range', () => {
  it('a 30-day read timeout and a 40-day evtimer do not fire at once', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const events: number[] = [];
    L.bufferevent_setcb(pair[0]!, null, null, (_b, what) => events.push(what), null);
    L.bufferevent_enable(pair[0]!, L.EV_READ);
    L.bufferevent_set_timeouts(pair[0]!, { tv_sec: 30 * 86400, tv_usec: 0 }, null);
    let fired = false;
    const ev = L.evtimer_new(base, () => (fired = true), null);
    L.evtimer_add(ev, { tv_sec: 40 * 86400, tv_usec: 0 });
    // 20 loop iterations of real time pass, then the loop is told to exit
    let n = 0;
    const tick = L.event_new(base, -1, L.EV_PERSIST, () => {
      if (++n === 20) L.event_base_loopbreak(base);
    }, null);
    L.event_add(tick, { tv_sec: 0, tv_usec: 1000 });
    await L.event_base_dispatch(base);
    expect(n).toBe(20);
    expect(fired).toBe(false);
    expect(events).toEqual([]);
    expect(L.evtimer_pending(ev, null)).toBeTruthy();
    L.event_free(tick);
    L.event_free(ev);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
  });
});

describe('arguments that lie about themselves', () => {
  const lying = (): Uint8Array => Object.defineProperty(new Uint8Array(4), 'length', { value: 100000 });

  it('evbuffer_add and bufferevent_write take the real length of a Uint8Array whose length property lies', () => {
    const buf = L.evbuffer_new();
    expect(() => L.evbuffer_add(buf, lying(), 100000)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(L.evbuffer_add(buf, lying())).toBe(0);
    expect(L.evbuffer_get_length(buf)).toBe(4);
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    expect(L.bufferevent_write(pair[0]!, lying())).toBe(0);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(pair[0]!))).toBe(4);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    L.event_base_free(base);
    L.evbuffer_free(buf);
  });

  it('evbuffer_remove into an array with a lying length, a Proxy of a Uint8Array and a fake Evbuffer get coded errors', () => {
    const buf = L.evbuffer_new();
    L.evbuffer_add(buf, 'abcdef');
    expect(L.evbuffer_remove(buf, lying())).toBe(4);
    expect(() => L.evbuffer_add(buf, new Proxy(new Uint8Array(4), {}))).toThrow(code('ERR_INVALID_ARG_TYPE'));
    const fake = Object.create(L.Evbuffer.prototype);
    expect(() => L.evbuffer_get_length(fake)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    L.evbuffer_free(buf);
  });

  it('a throwing add_reference cleanup during evbuffer_free still returns the memory and the lock', () => {
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    let ran = 0;
    L.evbuffer_add_reference(buf, new Uint8Array(8), 8, () => {
      ran++;
      throw new Error('cleanup');
    }, null);
    expect(() => L.evbuffer_free(buf)).toThrow('cleanup');
    expect(ran).toBe(1);
    expect(() => L.evbuffer_get_length(buf)).toThrow(code('ERR_BEV_FREED'));
  });
});
