import { describe, it, expect } from 'vitest';
import * as L from '../src/index.ts';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('BuffereventError', () => {
  it("every ERR_BEV_* error the library throws is an instance; argument errors stay Node's TypeError/RangeError", () => {
    const buf = L.evbuffer_new();
    L.evbuffer_free(buf);
    const freed = thrown(() => L.evbuffer_get_length(buf));
    expect(freed).toBeInstanceOf(L.BuffereventError);
    expect(freed).toBeInstanceOf(Error);
    expect((freed as L.CodedError).code).toBe(L.ERROR_CODES.ERR_BEV_FREED);
    const plain: L.Bufferevent[] = [];
    const base = L.event_base_new();
    L.bufferevent_pair_new(base, 0, plain);
    const notThreadsafe = thrown(() => L.bufferevent_export(plain[0]!));
    expect(notThreadsafe).toBeInstanceOf(L.BuffereventError);
    expect((notThreadsafe as L.CodedError).code).toBe('ERR_BEV_NOT_THREADSAFE');
    const badType = thrown(() => L.evbuffer_add(null as unknown as L.Evbuffer, 'x'));
    expect(badType).toBeInstanceOf(TypeError);
    expect(badType).not.toBeInstanceOf(L.BuffereventError);
    for (const b of plain) L.bufferevent_free(b);
    L.event_base_free(base);
  });

  it('recognizes the errors of another copy of the package (a registered-symbol brand), not look-alikes', () => {
    const fromOtherCopy = Object.defineProperty(new Error('evbuffer has been freed'), Symbol.for('bufferevent.error'), { value: true });
    expect(fromOtherCopy).toBeInstanceOf(L.BuffereventError);
    const lookAlike = Object.assign(new Error('x'), { code: 'ERR_BEV_FREED' });
    expect(lookAlike).not.toBeInstanceOf(L.BuffereventError);
    expect(null).not.toBeInstanceOf(L.BuffereventError);
    const own = new L.BuffereventError('made by hand', 'ERR_BEV_FREED');
    expect(own).toBeInstanceOf(L.BuffereventError);
    expect(own.code).toBe('ERR_BEV_FREED');
  });

  it('ERROR_CODES lists each code under its own name', () => {
    for (const [k, v] of Object.entries(L.ERROR_CODES)) expect(v).toBe(k);
    expect(Object.isFrozen(L.ERROR_CODES)).toBe(true);
  });
});

describe('posting a library object as it is', () => {
  it('postMessage and structuredClone of a bufferevent, evbuffer, base or listener fail naming what to post instead', async () => {
    const { MessageChannel } = await import('node:worker_threads');
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
    const buf = L.evbuffer_new();
    const lev = L.evconnlistener_new_bind(base, () => {}, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: L.AF_INET, address: '127.0.0.1', port: 0 })!;
    const { port1, port2 } = new MessageChannel();
    try {
      const cases: [unknown, RegExp][] = [
        [pair[0], /a bufferevent cannot be posted.*bufferevent_export/],
        [{ nested: [pair[1]] }, /bufferevent_export/],
        [buf, /an evbuffer cannot be posted.*evbuffer_export/],
        [base, /an event base cannot be posted.*event_base_new/],
        [lev, /a listener cannot be posted/],
      ];
      for (const [value, message] of cases) {
        for (const post of [(v: unknown) => port1.postMessage(v), (v: unknown) => structuredClone(v)]) {
          const e = thrown(() => post(value));
          expect(e).toBeInstanceOf(L.BuffereventError);
          expect((e as L.CodedError).code).toBe('ERR_BEV_NOT_CLONEABLE');
          expect((e as Error).message).toMatch(message);
        }
      }
      port1.postMessage(L.bufferevent_export(pair[0]!)); // what the message says to post instead goes through
    } finally {
      port1.close();
      port2.close();
      L.evconnlistener_free(lev);
      L.evbuffer_free(buf);
      for (const b of pair) L.bufferevent_free(b);
      await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      L.event_base_free(base);
    }
  });
});
