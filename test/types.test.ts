import { describe, it, expectTypeOf, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import * as L from '../src/index.ts';

/**
 * The classes' methods carry the flat API's parameter types. The expectTypeOf lines are checked by `tsc` (the test
 * script's pretest), so a method that falls back to `unknown` breaks the build; the last test reads the published
 * declarations.
 */
describe('parameter types of the camelCase methods', () => {
  it('take what the flat functions take, with the flat callback signatures', () => {
    expectTypeOf<L.Bufferevent['enable']>().parameters.toEqualTypeOf<[number]>();
    expectTypeOf<L.Bufferevent['setcb']>().parameters.toEqualTypeOf<[L.BevDataCb | null, L.BevDataCb | null, L.BevEventCb | null, unknown]>();
    expectTypeOf<L.Bufferevent['write']>().parameters.toEqualTypeOf<[Uint8Array | string, (number | undefined)?]>();
    expectTypeOf<L.Bufferevent['setTimeouts']>().parameters.toEqualTypeOf<[L.Timeval | null, L.Timeval | null]>();
    expectTypeOf<L.Bufferevent['writeBuffer']>().parameters.toEqualTypeOf<[L.Evbuffer]>();
    expectTypeOf<L.Evbuffer['add']>().parameters.toEqualTypeOf<[Uint8Array | string, (number | undefined)?]>();
    expectTypeOf<L.Evbuffer['addCb']>().parameters.toEqualTypeOf<[L.EvbufferCbFunc, unknown]>();
    expectTypeOf<L.Evbuffer['peek']>().parameters.toEqualTypeOf<[number, L.EvbufferPtr | null, L.IoVec[] | null, number]>();
    expectTypeOf<L.EventBase['loopexit']>().parameters.toEqualTypeOf<[L.Timeval | null]>();
    expectTypeOf<L.Evconnlistener['setCb']>().parameters.toEqualTypeOf<[L.EvconnlistenerCb | null, unknown?]>();
    expectTypeOf(L.bufferevent_import).parameters.toEqualTypeOf<[L.SharedBufferevent]>();
    const buf = L.evbuffer_new();
    expectTypeOf(buf.readln(null, L.EVBUFFER_EOL_LF)).toEqualTypeOf<string | null>();
    expectTypeOf(buf.readln(null, L.EVBUFFER_EOL_LF, 'buffer')).toEqualTypeOf<Uint8Array | null>();
    L.evbuffer_free(buf);
  });

  it("the published declarations leave `unknown` only to the user's own values that the library passes through", () => {
    const dir = new URL('../dist/', import.meta.url);
    // the user's own values passed through: callback arguments, printf arguments, worker data, a stress test's
    // results; and the operand of BuffereventError's Symbol.hasInstance
    const allowed = new Set(['arg', '_arg', 'cbarg', 'cleanupArg', 'ctx', 'ptr', 'args', 'workerData', 'results', 'final', 'x']);
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.d.ts'))) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      for (const m of text.matchAll(/\b([A-Za-z_$][\w$]*)\??: unknown\b/g)) if (!allowed.has(m[1]!)) bad.push(`${f}: ${m[0]}`);
    }
    expect(bad).toEqual([]);
  });

  it('every function and class in the published declarations carries a doc comment (an overload shares the first one)', () => {
    const dir = new URL('../dist/', import.meta.url);
    const bare: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.d.ts'))) {
      const lines = readFileSync(new URL(f, dir), 'utf8').split('\n');
      let last = '';
      lines.forEach((line, i) => {
        const m = /^declare (?:abstract )?(?:function|class) ([\w$]+)/.exec(line);
        if (!m) return;
        if (m[1] !== last && !/\*\/\s*$/.test(lines[i - 1] ?? '')) bare.push(`${f}: ${m[1]}`);
        last = m[1]!;
      });
    }
    expect(bare).toEqual([]);
  });
});
