/**
 * Bad input to every exported function that takes arguments.
 *
 * The rule: a call the C API would let crash (wrong type, freed object, value out of range) throws a
 * TypeError/RangeError/Error whose `code` is a stable ERR_* string; nothing is corrupted and nothing already buffered
 * is lost; a constructor that returns NULL on failure returns null (it never throws for a failure libevent reports
 * as NULL).
 *
 * The table below has one row per exported function (the export's own name); every row lists calls with bad input and
 * what each must do. A test enumerates the module's exports and fails when a function is missing from the table, so
 * new exports must be added here. Before and after every call the bytes already buffered in the live fixtures
 * (a standalone evbuffer and both evbuffers of a bufferevent) are compared: a rejected call must leave them as they
 * were.
 *
 * "Freed": a bufferevent is freed once its last reference went (here: bufferevent_free, then one
 * EVLOOP_NONBLOCK iteration, which runs its finalizer); its evbuffers are freed with it.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import * as L from '../src/index.ts';
import { expectNoSocketHandles } from './support/net.ts';

type Bev = L.Bufferevent;
type Buf = L.Evbuffer;

const noop = (): void => {};
const LOOPBACK = { family: L.AF_INET, address: '127.0.0.1', port: 0 };

// ---- fixtures ----------------------------------------------------------------------------------------------------

/** Everything a case may need. Live objects are made on first use and freed after the test. */
class Fx {
  readonly base: L.EventBase;
  /** A socket bufferevent freed (last reference gone, finalizer run), and its evbuffers taken before the free. */
  readonly freedBev: Bev;
  readonly freedBevInput: Buf;
  readonly freedBevOutput: Buf;
  /** What bufferevent_export / evbuffer_export returned for objects freed since. */
  readonly freedSharedBev: unknown;
  readonly freedSharedBuf: unknown;
  private readonly cleanups: (() => void)[] = [];
  private cache = new Map<string, unknown>();

  private constructor(base: L.EventBase, freedBev: Bev, input: Buf, output: Buf, sharedBev: unknown, sharedBuf: unknown) {
    this.base = base;
    this.freedBev = freedBev;
    this.freedBevInput = input;
    this.freedBevOutput = output;
    this.freedSharedBev = sharedBev;
    this.freedSharedBuf = sharedBuf;
  }

  static async make(): Promise<Fx> {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const input = L.bufferevent_get_input(bev);
    const output = L.bufferevent_get_output(bev);
    L.bufferevent_free(bev);
    const tsBev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_THREADSAFE)!;
    const sharedBev = L.bufferevent_export(tsBev);
    L.bufferevent_free(tsBev);
    const tsBuf = L.evbuffer_new();
    L.evbuffer_enable_locking(tsBuf, null);
    const sharedBuf = L.evbuffer_export(tsBuf);
    L.evbuffer_free(tsBuf);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // runs the finalizers: the bufferevents and their buffers are gone
    return new Fx(base, bev, input, output, sharedBev, sharedBuf);
  }

  private once<T>(key: string, make: () => T, cleanup?: (v: T) => void): T {
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const v = make();
    this.cache.set(key, v);
    if (cleanup) this.cleanups.push(() => cleanup(v));
    return v;
  }

  /** A standalone evbuffer holding 300 bytes in several chains. */
  get buf(): Buf {
    return this.once('buf', () => {
      const b = L.evbuffer_new();
      L.evbuffer_add(b, 'standalone buffer: ');
      L.evbuffer_add(b, Uint8Array.from({ length: 256 }, (_, i) => i));
      L.evbuffer_add_printf(b, '%s-%d', 'tail', 25);
      return b;
    }, freeIfLive);
  }
  /** A second live evbuffer (source/destination for the two-buffer calls). */
  get buf2(): Buf {
    return this.once('buf2', () => {
      const b = L.evbuffer_new();
      L.evbuffer_add(b, 'second buffer');
      return b;
    }, freeIfLive);
  }
  /** A callback entry registered on `buf`. */
  get cbEntry(): L.EvbufferCbEntry {
    return this.once('cbEntry', () => L.evbuffer_add_cb(this.buf, noop, null));
  }
  /** A pair end with bytes waiting in its input and in its output. */
  get bev(): Bev {
    return this.pair[0]!;
  }
  get pair(): Bev[] {
    return this.once('pair', () => {
      const pair: Bev[] = [];
      expect(L.bufferevent_pair_new(this.base, 0, pair)).toBe(0);
      const [a, b] = pair as [Bev, Bev];
      L.bufferevent_enable(a, L.EV_READ);
      L.bufferevent_write(b, 'bytes already read by the bufferevent'); // moves to a's input at once
      L.bufferevent_disable(a, L.EV_READ);
      L.bufferevent_write(a, 'bytes waiting to be written'); // b does not read: stays in a's output
      expect(L.evbuffer_get_length(L.bufferevent_get_input(a))).toBeGreaterThan(0);
      expect(L.evbuffer_get_length(L.bufferevent_get_output(a))).toBeGreaterThan(0);
      return pair;
    }, (p) => p.forEach(freeIfLive));
  }
  /** A socket bufferevent without a socket. */
  get sock(): Bev {
    return this.once('sock', () => L.bufferevent_socket_new(this.base, -1, L.BEV_OPT_CLOSE_ON_FREE)!, freeIfLive);
  }
  get freedBuf(): Buf {
    return this.once('freedBuf', () => {
      const b = L.evbuffer_new();
      L.evbuffer_add(b, 'gone');
      L.evbuffer_free(b);
      return b;
    });
  }
  get ev(): L.Event {
    return this.once('ev', () => L.event_new(this.base, -1, 0, noop, null), (e) => {
      if (!e.freed) L.event_free(e);
    });
  }
  get freedEv(): L.Event {
    return this.once('freedEv', () => {
      const e = L.event_new(this.base, -1, 0, noop, null);
      L.event_free(e);
      return e;
    });
  }
  get freedBase(): L.EventBase {
    return this.once('freedBase', () => {
      const b = L.event_base_new();
      L.event_base_free(b);
      return b;
    });
  }
  /** A live event whose base has been freed. */
  get evOnFreedBase(): L.Event {
    return this.once('evOnFreedBase', () => {
      const b = L.event_base_new();
      const e = L.event_new(b, -1, 0, noop, null);
      L.event_base_free(b);
      return e;
    });
  }
  get dns(): L.EvdnsBase {
    return this.once('dns', () => L.evdns_base_new(this.base, 0), (d) => {
      if (!d.freed) L.evdns_base_free(d, 0);
    });
  }
  get freedDns(): L.EvdnsBase {
    return this.once('freedDns', () => {
      const d = L.evdns_base_new(this.base, 0);
      L.evdns_base_free(d, 0);
      return d;
    });
  }
  get lev(): L.Evconnlistener {
    return this.once('lev', () => L.evconnlistener_new_bind(this.base, null, null, L.LEV_OPT_CLOSE_ON_FREE, -1, LOOPBACK)!, (l) => {
      if (!l.freed) L.evconnlistener_free(l);
    });
  }
  get freedLev(): L.Evconnlistener {
    return this.once('freedLev', () => {
      const l = L.evconnlistener_new_bind(this.base, null, null, L.LEV_OPT_CLOSE_ON_FREE, -1, LOOPBACK)!;
      L.evconnlistener_free(l);
      return l;
    });
  }

  get cfg(): L.TokenBucketCfg {
    return this.once('cfg', () => L.ev_token_bucket_cfg_new(1000, 2000, 1000, 2000, null)!);
  }
  get freedCfg(): L.TokenBucketCfg {
    return this.once('freedCfg', () => {
      const c = L.ev_token_bucket_cfg_new(1000, 2000, 1000, 2000, null)!;
      L.ev_token_bucket_cfg_free(c);
      return c;
    });
  }
  get group(): L.RateLimitGroup {
    return this.once('group', () => L.bufferevent_rate_limit_group_new(this.base, this.cfg)!, (g) => {
      try {
        L.bufferevent_rate_limit_group_free(g);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_BEV_FREED') throw err;
      }
    });
  }
  get freedGroup(): L.RateLimitGroup {
    return this.once('freedGroup', () => {
      const g = L.bufferevent_rate_limit_group_new(this.base, this.cfg)!;
      L.bufferevent_rate_limit_group_free(g);
      return g;
    });
  }
  /** A socket bufferevent with a rate limit (the decrement calls need one). */
  get limited(): Bev {
    return this.once('limited', () => {
      const b = L.bufferevent_socket_new(this.base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
      L.bufferevent_set_rate_limit(b, this.cfg);
      return b;
    }, freeIfLive);
  }

  /** The live buffers that hold data, made so far (for the "nothing buffered is lost" check). */
  dataHolders(): [string, Buf][] {
    const out: [string, Buf][] = [];
    if (this.cache.has('buf')) out.push(['buf', this.buf]);
    if (this.cache.has('buf2')) out.push(['buf2', this.buf2]);
    if (this.cache.has('pair')) {
      out.push(['bev input', L.bufferevent_get_input(this.bev)]);
      out.push(['bev output', L.bufferevent_get_output(this.bev)]);
    }
    return out;
  }

  async cleanup(): Promise<void> {
    for (const c of this.cleanups.reverse()) c();
    await L.event_base_loop(this.base, L.EVLOOP_NONBLOCK); // run the finalizers
    L.event_base_free(this.base);
  }
}

function freeIfLive(x: Bev | Buf): void {
  try {
    if (x instanceof L.Evbuffer) L.evbuffer_free(x);
    else L.bufferevent_free(x);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BEV_FREED') throw err;
  }
}

/** The bytes in a buffer, read without changing it (peek works on frozen buffers too). */
function contents(b: Buf): Uint8Array {
  const n = L.evbuffer_peek(b, -1, null, null, 0);
  const vec: { iov_base?: Uint8Array; iov_len?: number }[] = Array.from({ length: n }, () => ({}));
  L.evbuffer_peek(b, -1, null, vec, n);
  return Buffer.concat(vec.map((v) => v.iov_base!.slice(0, v.iov_len)));
}

function snapshot(fx: Fx): Record<string, { length: number; bytes: string }> {
  const out: Record<string, { length: number; bytes: string }> = {};
  for (const [name, b] of fx.dataHolders()) out[name] = { length: L.evbuffer_get_length(b), bytes: Buffer.from(contents(b)).toString('hex') };
  return out;
}

// ---- the table ---------------------------------------------------------------------------------------------------

type Expect = 'type' | 'range' | 'freed' | { returns: unknown };
interface Case {
  what: string;
  args: (fx: Fx) => unknown[];
  expect: Expect;
  /** Set when the implementation is known not to do this: the row is then `it.fails`. */
  bug?: string;
}
type Row = Case[] | 'no arguments';
type Args = (fx: Fx) => unknown[];

const T = (what: string, args: Args, bug?: string): Case => ({ what, args, expect: 'type', bug });
const R = (what: string, args: Args, bug?: string): Case => ({ what, args, expect: 'range', bug });
const F = (what: string, args: Args, bug?: string): Case => ({ what, args, expect: 'freed', bug });
const N = (what: string, args: Args, value: unknown, bug?: string): Case => ({ what, args, expect: { returns: value }, bug });

/** The first argument is an event base; `rest` are valid other arguments. */
const baseArg = (rest: Args = () => []): Case[] => [
  T('base is null', (fx) => [null, ...rest(fx)]),
  T('base is a plain object', (fx) => [{}, ...rest(fx)]),
  T('base is an evbuffer', (fx) => [fx.buf, ...rest(fx)]),
  F('base was freed', (fx) => [fx.freedBase, ...rest(fx)]),
];
/** The first argument is a bufferevent. */
const bevArg = (rest: Args = () => []): Case[] => [
  T('bev is null', (fx) => [null, ...rest(fx)]),
  T('bev is a string', (fx) => ['bev', ...rest(fx)]),
  T('bev is an evbuffer', (fx) => [fx.buf, ...rest(fx)]),
  F('bev was freed', (fx) => [fx.freedBev, ...rest(fx)]),
];
/** The first argument is an evbuffer. */
const bufArg = (rest: Args = () => []): Case[] => [
  T('buf is null', (fx) => [null, ...rest(fx)]),
  T('buf is a Uint8Array', (fx) => [new Uint8Array(4), ...rest(fx)]),
  T('buf is a bufferevent', (fx) => [fx.bev, ...rest(fx)]),
  F('buf was freed', (fx) => [fx.freedBuf, ...rest(fx)]),
  F("buf is a freed bufferevent's input", (fx) => [fx.freedBevInput, ...rest(fx)]),
  F("buf is a freed bufferevent's output", (fx) => [fx.freedBevOutput, ...rest(fx)]),
];
const evArg = (rest: Args = () => []): Case[] => [
  T('ev is null', (fx) => [null, ...rest(fx)]),
  T('ev is an event base', (fx) => [fx.base, ...rest(fx)]),
  F('ev was freed', (fx) => [fx.freedEv, ...rest(fx)]),
];
const dnsArg = (rest: Args = () => []): Case[] => [
  T('dns_base is a string', (fx) => ['dns', ...rest(fx)]),
  T('dns_base is an event base', (fx) => [fx.base, ...rest(fx)]),
  F('dns_base was freed', (fx) => [fx.freedDns, ...rest(fx)]),
];
const cfgArg = (name: string, args: (fx: Fx, c: unknown) => unknown[]): Case[] => [
  T(`${name} is null`, (fx) => args(fx, null)),
  T(`${name} is a plain object`, (fx) => args(fx, { read_rate: 1 })),
  F(`${name} was freed`, (fx) => args(fx, fx.freedCfg)),
];
const groupArg = (rest: Args = () => []): Case[] => [
  T('group is null', (fx) => [null, ...rest(fx)]),
  T('group is a bufferevent', (fx) => [fx.bev, ...rest(fx)]),
  F('group was freed', (fx) => [fx.freedGroup, ...rest(fx)]),
];
const levArg = (rest: Args = () => []): Case[] => [
  T('listener is null', (fx) => [null, ...rest(fx)]),
  T('listener is an event base', (fx) => [fx.base, ...rest(fx)]),
  F('listener was freed', (fx) => [fx.freedLev, ...rest(fx)]),
];
/** `data, size?` input pairs, after `head` (the object written to). */
const inputData = (head: Args): Case[] => [
  T('data is a number', (fx) => [...head(fx), 42]),
  T('data is a plain object', (fx) => [...head(fx), {}]),
  T('data is an ArrayBuffer', (fx) => [...head(fx), new ArrayBuffer(4)]),
  T('data is an array of numbers', (fx) => [...head(fx), [1, 2, 3]]),
  T('size is a string', (fx) => [...head(fx), 'abc', '2']),
  R('size is negative', (fx) => [...head(fx), new Uint8Array(4), -1]),
  R('size is NaN', (fx) => [...head(fx), new Uint8Array(4), NaN]),
  R('size is not an integer', (fx) => [...head(fx), new Uint8Array(4), 1.5]),
  R('size is larger than the Uint8Array', (fx) => [...head(fx), new Uint8Array(4), 5]),
  R('size is larger than the UTF-8 bytes of a string', (fx) => [...head(fx), 'abc', 4]),
  R('size counts characters, not UTF-8 bytes, of a string', (fx) => [...head(fx), 'é', 3]),
];
/** `data: Uint8Array, size?` output pairs, after `head`, followed by `tail`. */
const outputData = (head: Args, tail: Args = () => []): Case[] => [
  T('data is a string', (fx) => [...head(fx), 'not writable', ...tail(fx)]),
  T('data is an array', (fx) => [...head(fx), [0, 0, 0], ...tail(fx)]),
  T('data is null', (fx) => [...head(fx), null, ...tail(fx)]),
  T('size is a string', (fx) => [...head(fx), new Uint8Array(4), '4', ...tail(fx)]),
  R('size is negative', (fx) => [...head(fx), new Uint8Array(4), -1, ...tail(fx)]),
  R('size is NaN', (fx) => [...head(fx), new Uint8Array(4), NaN, ...tail(fx)]),
  R('size is larger than the output array', (fx) => [...head(fx), new Uint8Array(4), 5, ...tail(fx)]),
];
/** A `struct timeval *` argument at position `at` of `args`. */
const timeval = (name: string, args: (fx: Fx, tv: unknown) => unknown[]): Case[] => [
  T(`${name} is a number`, (fx) => args(fx, 5)),
  T(`${name}.tv_sec is a string`, (fx) => args(fx, { tv_sec: '1', tv_usec: 0 })),
  R(`${name}.tv_sec is negative`, (fx) => args(fx, { tv_sec: -1, tv_usec: 0 })),
  R(`${name}.tv_usec is negative`, (fx) => args(fx, { tv_sec: 0, tv_usec: -1 })),
  R(`${name}.tv_sec is NaN`, (fx) => args(fx, { tv_sec: NaN, tv_usec: 0 })),
];
/** An integer / bitmask argument built by `args`. */
const intCases = (name: string, args: (fx: Fx, v: unknown) => unknown[]): Case[] => [
  T(`${name} is a string`, (fx) => args(fx, '1')),
  T(`${name} is null`, (fx) => args(fx, null)),
  R(`${name} is NaN`, (fx) => args(fx, NaN)),
  R(`${name} is not an integer`, (fx) => args(fx, 1.5)),
];
/** A `size_t` argument. */
const sizeCases = (name: string, args: (fx: Fx, v: unknown) => unknown[]): Case[] => [
  T(`${name} is a string`, (fx) => args(fx, '1')),
  T(`${name} is missing`, (fx) => args(fx, undefined)),
  R(`${name} is negative`, (fx) => args(fx, -1)),
  R(`${name} is NaN`, (fx) => args(fx, NaN)),
  R(`${name} is not an integer`, (fx) => args(fx, 1.5)),
];
const fnCases = (name: string, args: (fx: Fx, v: unknown) => unknown[]): Case[] => [
  T(`${name} is a string`, (fx) => args(fx, 'cb')),
  T(`${name} is an object`, (fx) => args(fx, {})),
];
const sockaddrCases = (args: (fx: Fx, sa: unknown) => unknown[]): Case[] => [
  T('sa is a string', (fx) => args(fx, '127.0.0.1:80')),
  T('sa has an unknown family', (fx) => args(fx, { family: 99, address: '127.0.0.1', port: 80 })),
  T('sa.address is a number', (fx) => args(fx, { family: L.AF_INET, address: 0x7f000001, port: 80 })),
  T('sa.port is a string', (fx) => args(fx, { family: L.AF_INET, address: '127.0.0.1', port: '80' })),
  R('sa.port is negative', (fx) => args(fx, { family: L.AF_INET, address: '127.0.0.1', port: -1 })),
  R('sa.port is above 65535', (fx) => args(fx, { family: L.AF_INET, address: '127.0.0.1', port: 65536 })),
  R('sa.port is NaN', (fx) => args(fx, { family: L.AF_INET, address: '127.0.0.1', port: NaN })),
  T('sin_addr.s_addr is a string', (fx) => args(fx, { sin_family: L.AF_INET, sin_port: L.htons(80), sin_addr: { s_addr: '127.0.0.1' } })),
];
/** The fd argument of bufferevent_socket_new / setfd: a net.Socket, an fd >= 0, or -1. */
const fdCases = (args: (fx: Fx, fd: unknown) => unknown[]): Case[] => [
  T('fd is a string', (fx) => args(fx, '3')),
  T('fd is a plain object', (fx) => args(fx, {})),
  R('fd is below -1', (fx) => args(fx, -2)),
  R('fd is NaN', (fx) => args(fx, NaN)),
];
const ptrCases = (name: string, args: (fx: Fx, p: unknown) => unknown[]): Case[] => [
  T(`${name} is a string`, (fx) => args(fx, '0')),
  T(`${name}.pos is a string`, (fx) => args(fx, { pos: '0' })),
  R(`${name}.pos is NaN`, (fx) => args(fx, { pos: NaN })),
];
const classCases = (strings: unknown[] = ['a', 'b', 'c', 'd', 'e', 'f', 'g']): Case[] => [
  T('constructed with no arguments', () => []),
  T('constructed with strings', () => strings),
];
// BUG: src/index.ts exports the classes (Evbuffer, Event, Bufferevent and its subclasses, EvbufferCbEntry, EvdnsBase,
// Evconnlistener) whose constructors are @internal and unchecked: `new Evbuffer()` crashes with a plain TypeError
// (no code), `new EvbufferCbEntry('a', 'b', 'c')` or `new EvdnsBase('a', 'b')` build broken objects. Fix: export them as
// types only (`export type { ... }`), or give the constructors the same checks as the flat API.

const EMPTY_IOVEC = (): { iov_base?: Uint8Array; iov_len?: number }[] => [{}];

const table: Record<string, Row> = {
  // ---- event base ----
  event_base_new: 'no arguments',
  event_init: 'no arguments',
  EventBase: 'no arguments',
  event_base_free: baseArg(),
  event_base_dispatch: baseArg(),
  event_base_loop: [...baseArg(() => [L.EVLOOP_NONBLOCK]), ...intCases('flags', (fx, v) => [fx.base, v])],
  event_base_loopexit: [...baseArg(() => [null]), ...timeval('tv', (fx, tv) => [fx.base, tv])],
  event_base_loopbreak: baseArg(),
  event_base_got_exit: baseArg(),
  event_base_got_break: baseArg(),
  event_base_priority_init: [...baseArg(() => [2]), ...intCases('npriorities', (fx, v) => [fx.base, v])],
  event_base_get_npriorities: baseArg(),

  // ---- events ----
  event_new: [
    ...baseArg(() => [-1, 0, noop, null]),
    ...fdCases((fx, fd) => [fx.base, fd, 0, noop, null]),
    ...intCases('what', (fx, v) => [fx.base, -1, v, noop, null]),
    ...fnCases('cb', (fx, v) => [fx.base, -1, 0, v, null]),
    T('cb is null', (fx) => [fx.base, -1, 0, null, null]),
  ],
  event_add: [
    ...evArg(() => [null]),
    ...timeval('tv', (fx, tv) => [fx.ev, tv]),
    F('the event base of ev was freed', (fx) => [fx.evOnFreedBase, null]),
  ],
  event_del: evArg(),
  event_active: [
    ...evArg(() => [L.EV_TIMEOUT, 0]),
    ...intCases('res', (fx, v) => [fx.ev, v, 0]),
    ...intCases('ncalls', (fx, v) => [fx.ev, L.EV_TIMEOUT, v]),
    F('the event base of ev was freed', (fx) => [fx.evOnFreedBase, L.EV_TIMEOUT, 0]),
  ],
  event_pending: [
    ...evArg(() => [L.EV_TIMEOUT, null]),
    ...intCases('what', (fx, v) => [fx.ev, v, null]),
    T('tv_out is a number', (fx) => [fx.ev, L.EV_TIMEOUT, 1]),
  ],
  event_priority_set: [...evArg(() => [0]), ...intCases('pri', (fx, v) => [fx.ev, v])],
  event_free: evArg(),
  evtimer_new: [...baseArg(() => [noop, null]), ...fnCases('cb', (fx, v) => [fx.base, v, null])],
  evtimer_add: [...evArg(() => [null]), ...timeval('tv', (fx, tv) => [fx.ev, tv])],
  evtimer_del: evArg(),
  evtimer_pending: [...evArg(() => [null]), T('tv_out is a string', (fx) => [fx.ev, 'tv'])],

  evbuffer_add_vprintf: [
    ...bufArg(() => ['%d', [1]]),
    T('format is a number', (fx) => [fx.buf, 42, []]),
    T('args is not an array', (fx) => [fx.buf, '%d', 1]),
  ],

  // ---- evbuffer I/O, expand, references, flags ----
  evbuffer_read: [
    ...bufArg(() => [1_000_000, -1]),
    T('fd is a string', (fx) => [fx.buf, '3', -1]),
    T('fd is negative', (fx) => [fx.buf, -1, -1]),
    T('fd is a net.Socket that is not connected', (fx) => [fx.buf, new net.Socket(), -1]),
    ...intCases('howmuch', (fx, v) => [fx.buf, 1_000_000, v]),
    N('fd is not open: -1 as in libevent', (fx) => [fx.buf, 1_000_000, -1], -1),
  ],
  evbuffer_write: [...bufArg(() => [1_000_000]), T('fd is a string', (fx) => [fx.buf, '3']), N('fd is not open: -1 as in libevent', (fx) => [fx.buf, 1_000_000], -1)],
  evbuffer_write_atmost: [
    ...bufArg(() => [1_000_000, -1]),
    T('fd is a plain object', (fx) => [fx.buf, {}, -1]),
    ...intCases('howmuch', (fx, v) => [fx.buf, 1_000_000, v]),
  ],
  evbuffer_expand: [...bufArg(() => [10]), ...sizeCases('datlen', (fx, v) => [fx.buf, v])],
  evbuffer_get_contiguous_space: bufArg(),
  evbuffer_add_buffer_reference: [
    ...bufArg((fx) => [fx.buf2]),
    T('inbuf is a string', (fx) => [fx.buf, 'x']),
    F('inbuf was freed', (fx) => [fx.buf, fx.freedBuf]),
    N('inbuf is outbuf: -1 as in libevent', (fx) => [fx.buf, fx.buf], -1),
  ],
  evbuffer_add_file: [
    ...bufArg(() => [1_000_000, 0, -1]),
    T('fd is a string', (fx) => [fx.buf, '3', 0, -1]),
    R('offset is negative', (fx) => [fx.buf, 0, -1, -1]),
    ...intCases('length', (fx, v) => [fx.buf, 0, 0, v]),
    N('fd is not open: -1 as in libevent', (fx) => [fx.buf, 1_000_000, 0, -1], -1),
  ],
  evbuffer_file_segment_new: [
    T('fd is a string', () => ['3', 0, -1, 0]),
    T('fd is negative', () => [-1, 0, -1, 0]),
    ...sizeCases('offset', (_fx, v) => [0, v, -1, 0]),
    ...intCases('flags', (_fx, v) => [0, 0, -1, v]),
    N('fd is not open: NULL as in libevent', () => [1_000_000, 0, -1, 0], null),
  ],
  evbuffer_file_segment_free: [T('seg is null', () => [null]), T('seg is an evbuffer', (fx) => [fx.buf])],
  evbuffer_add_file_segment: [
    ...bufArg(() => [null, 0, -1]).filter((c) => c.expect !== 'freed'),
    T('seg is a plain object', (fx) => [fx.buf, {}, 0, -1]),
  ],
  evbuffer_set_flags: [...bufArg(() => [L.EVBUFFER_FLAG_DRAINS_TO_FD]), ...intCases('flags', (fx, v) => [fx.buf, v])],
  evbuffer_clear_flags: [...bufArg(() => [L.EVBUFFER_FLAG_DRAINS_TO_FD]), ...intCases('flags', (fx, v) => [fx.buf, v])],

  // ---- rate limits ----
  ev_token_bucket_cfg_new: [
    ...sizeCases('read_rate', (_fx, v) => [v, 10, 1, 1, null]),
    ...sizeCases('read_burst', (_fx, v) => [1, v, 1, 1, null]),
    ...sizeCases('write_rate', (_fx, v) => [1, 1, v, 10, null]),
    ...sizeCases('write_burst', (_fx, v) => [1, 1, 1, v, null]),
    ...timeval('tick_len', (_fx, tv) => [1, 1, 1, 1, tv]),
    N('a rate above its burst: NULL as in libevent', () => [2, 1, 1, 1, null], null),
  ],
  ev_token_bucket_cfg_free: cfgArg('cfg', (_fx, c) => [c]),
  bufferevent_set_rate_limit: [...bevArg(() => [null]), ...cfgArg('cfg', (fx, c) => [fx.sock, c]).filter((c) => !c.what.endsWith('is null'))],
  bufferevent_get_token_bucket_cfg: bevArg(),
  bufferevent_rate_limit_group_new: [...baseArg((fx) => [fx.cfg]), ...cfgArg('cfg', (fx, c) => [fx.base, c])],
  bufferevent_rate_limit_group_free: groupArg(),
  bufferevent_rate_limit_group_set_cfg: [
    T('group is a bufferevent', (fx) => [fx.bev, fx.cfg]),
    F('group was freed', (fx) => [fx.freedGroup, fx.cfg]),
    N('group is null: -1 as in libevent', (fx) => [null, fx.cfg], -1),
    N('cfg is null: -1 as in libevent', (fx) => [fx.group, null], -1),
    ...cfgArg('cfg', (fx, c) => [fx.group, c]).filter((c) => !c.what.endsWith('is null')),
  ],
  bufferevent_rate_limit_group_set_min_share: [...groupArg(() => [64]), ...sizeCases('share', (fx, v) => [fx.group, v])],
  bufferevent_rate_limit_group_export: groupArg(),
  bufferevent_rate_limit_group_import: [
    T('shared is null', () => [null]),
    T('shared is a plain object', () => [{}]),
    T('shared is a bufferevent descriptor', (fx) => [{ __bufferevent: 1, sab: new SharedArrayBuffer(8), h: 0, gen: 0 }]),
  ],
  bufferevent_add_to_rate_limit_group: [...bevArg((fx) => [fx.group]), ...groupArg().map((c) => ({ ...c, args: (fx: Fx) => [fx.sock, ...c.args(fx)] }))],
  bufferevent_remove_from_rate_limit_group: bevArg(),
  bufferevent_get_read_limit: bevArg(),
  bufferevent_get_write_limit: bevArg(),
  bufferevent_get_max_to_read: bevArg(),
  bufferevent_get_max_to_write: bevArg(),
  bufferevent_decrement_read_limit: [...bevArg(() => [1]), ...intCases('decr', (fx, v) => [fx.limited, v])],
  bufferevent_decrement_write_limit: [...bevArg(() => [1]), ...intCases('decr', (fx, v) => [fx.limited, v])],
  bufferevent_rate_limit_group_get_read_limit: groupArg(),
  bufferevent_rate_limit_group_get_write_limit: groupArg(),
  bufferevent_rate_limit_group_decrement_read: [...groupArg(() => [1]), ...intCases('decr', (fx, v) => [fx.group, v])],
  bufferevent_rate_limit_group_decrement_write: [...groupArg(() => [1]), ...intCases('decr', (fx, v) => [fx.group, v])],
  bufferevent_rate_limit_group_get_totals: [...groupArg(() => [null]), T('out is a number', (fx) => [fx.group, 1])],
  bufferevent_rate_limit_group_reset_totals: groupArg(),
  bufferevent_set_max_single_read: [...bevArg(() => [100]), ...sizeCases('size', (fx, v) => [fx.sock, v])],
  bufferevent_set_max_single_write: [...bevArg(() => [100]), ...sizeCases('size', (fx, v) => [fx.sock, v])],
  bufferevent_get_max_single_read: bevArg(),
  bufferevent_get_max_single_write: bevArg(),

  // ---- bufferevents ----
  bufferevent_socket_new: [
    ...baseArg(() => [-1, 0]),
    ...fdCases((fx, fd) => [fx.base, fd, 0]),
    ...intCases('options', (fx, v) => [fx.base, -1, v]),
    N('options has an unknown bit: NULL as in libevent', (fx) => [fx.base, -1, 0x100], null),
    N('UNLOCK_CALLBACKS without DEFER_CALLBACKS: NULL as in libevent', (fx) => [fx.base, -1, L.BEV_OPT_UNLOCK_CALLBACKS], null),
  ],
  bufferevent_socket_connect: [
    ...bevArg(() => [{ family: L.AF_INET, address: '127.0.0.1', port: 9 }]),
    ...sockaddrCases((fx, sa) => [fx.sock, sa]),
  ],
  bufferevent_socket_connect_hostname: [
    ...bevArg(() => [null, L.AF_UNSPEC, 'localhost', 9]),
    T('dns_base is a string', (fx) => [fx.sock, 'dns', L.AF_UNSPEC, 'localhost', 9]),
    F('dns_base was freed', (fx) => [fx.sock, fx.freedDns, L.AF_UNSPEC, 'localhost', 9]),
    ...intCases('family', (fx, v) => [fx.sock, null, v, 'localhost', 9]),
    T('hostname is a number', (fx) => [fx.sock, null, L.AF_UNSPEC, 127, 9]),
    T('hostname is null', (fx) => [fx.sock, null, L.AF_UNSPEC, null, 9]),
    ...intCases('port', (fx, v) => [fx.sock, null, L.AF_UNSPEC, 'localhost', v]),
  ],
  bufferevent_socket_get_dns_error: bevArg(),
  bufferevent_free: bevArg(),
  bufferevent_setcb: [
    ...bevArg(() => [null, null, null, null]),
    ...fnCases('readcb', (fx, v) => [fx.bev, v, null, null, null]),
    ...fnCases('writecb', (fx, v) => [fx.bev, null, v, null, null]),
    ...fnCases('eventcb', (fx, v) => [fx.bev, null, null, v, null]),
  ],
  bufferevent_getcb: [...bevArg(() => [{}]), T('out is a string', (fx) => [fx.bev, 'out'])],
  bufferevent_enable: [...bevArg(() => [L.EV_READ]), ...intCases('events', (fx, v) => [fx.bev, v])],
  bufferevent_disable: [...bevArg(() => [L.EV_READ]), ...intCases('events', (fx, v) => [fx.bev, v])],
  bufferevent_get_enabled: bevArg(),
  bufferevent_setwatermark: [
    ...bevArg(() => [L.EV_READ, 0, 0]),
    ...intCases('events', (fx, v) => [fx.bev, v, 0, 0]),
    ...sizeCases('lowmark', (fx, v) => [fx.bev, L.EV_READ, v, 0]),
    ...sizeCases('highmark', (fx, v) => [fx.bev, L.EV_READ, 0, v]),
  ],
  bufferevent_getwatermark: [
    ...bevArg(() => [L.EV_READ, {}]),
    ...intCases('events', (fx, v) => [fx.bev, v, {}]),
    T('out is a string', (fx) => [fx.bev, L.EV_READ, 'out']),
  ],
  bufferevent_get_input: bevArg(),
  bufferevent_get_output: bevArg(),
  EVBUFFER_INPUT: bevArg(),
  EVBUFFER_OUTPUT: bevArg(),
  bufferevent_write: [...bevArg(() => ['data']), ...inputData((fx) => [fx.bev])],
  bufferevent_write_buffer: [
    ...bevArg((fx) => [fx.buf2]),
    T('buf is a string', (fx) => [fx.bev, 'buf']),
    T('buf is a bufferevent', (fx) => [fx.bev, fx.sock]),
    F('buf was freed', (fx) => [fx.bev, fx.freedBuf]),
    F("buf is a freed bufferevent's output", (fx) => [fx.bev, fx.freedBevOutput]),
  ],
  bufferevent_read: [...bevArg(() => [new Uint8Array(4)]), ...outputData((fx) => [fx.bev])],
  bufferevent_read_buffer: [
    ...bevArg((fx) => [fx.buf2]),
    T('buf is a string', (fx) => [fx.bev, 'buf']),
    F('buf was freed', (fx) => [fx.bev, fx.freedBuf]),
    F("buf is a freed bufferevent's input", (fx) => [fx.bev, fx.freedBevInput]),
  ],
  bufferevent_set_timeouts: [
    ...bevArg(() => [null, null]),
    ...timeval('timeout_read', (fx, tv) => [fx.bev, tv, null]),
    ...timeval('timeout_write', (fx, tv) => [fx.bev, null, tv]),
  ],
  bufferevent_flush: [
    ...bevArg(() => [L.EV_WRITE, L.BEV_NORMAL]),
    ...intCases('iotype', (fx, v) => [fx.bev, v, L.BEV_NORMAL]),
    ...intCases('mode', (fx, v) => [fx.bev, L.EV_WRITE, v]),
  ],
  bufferevent_priority_set: [...bevArg(() => [0]), ...intCases('pri', (fx, v) => [fx.sock, v])],
  bufferevent_get_priority: bevArg(),
  bufferevent_setfd: [
    ...bevArg(() => [-1]),
    ...fdCases((fx, fd) => [fx.sock, fd]),
    T('fd is a string, on a pair bufferevent', (fx) => [fx.bev, '3']),
    R('fd is below -1, on a pair bufferevent', (fx) => [fx.bev, -2]),
  ],
  bufferevent_replacefd: [
    ...bevArg(() => [-1]),
    ...fdCases((fx, fd) => [fx.sock, fd]),
    T('fd is a string, on a pair bufferevent', (fx) => [fx.bev, '3']),
  ],
  bufferevent_getfd: bevArg(),
  bufferevent_get_base: bevArg(),
  bufferevent_get_underlying: bevArg(),
  bufferevent_lock: bevArg(),
  bufferevent_unlock: bevArg(),
  bufferevent_incref: bevArg(),
  bufferevent_decref: bevArg(),
  bufferevent_trigger: [
    ...bevArg(() => [L.EV_READ, 0]),
    ...intCases('iotype', (fx, v) => [fx.bev, v, 0]),
    ...intCases('options', (fx, v) => [fx.bev, L.EV_READ, v]),
  ],
  bufferevent_trigger_event: [
    ...bevArg(() => [L.BEV_EVENT_EOF, 0]),
    ...intCases('what', (fx, v) => [fx.bev, v, 0]),
    ...intCases('options', (fx, v) => [fx.bev, L.BEV_EVENT_EOF, v]),
  ],
  bufferevent_pair_new: [
    ...baseArg(() => [0, []]),
    ...intCases('options', (fx, v) => [fx.base, v, []]),
    T('pair is null', (fx) => [fx.base, 0, null]),
    T('pair is a string', (fx) => [fx.base, 0, 'pair']),
    N('options has an unknown bit: -1 as in libevent', (fx) => [fx.base, 0x100, []], -1),
  ],
  bufferevent_pair_get_partner: bevArg(),
  bufferevent_filter_new: [
    T('underlying is a string', () => ['bev', null, null, 0, null, null]),
    T('underlying is an evbuffer', (fx) => [fx.buf, null, null, 0, null, null]),
    F('underlying was freed', (fx) => [fx.freedBev, null, null, 0, null, null]),
    N('underlying is NULL: NULL as in libevent', () => [null, null, null, 0, null, null], null),
    ...fnCases('input_filter', (fx, v) => [fx.sock, v, null, 0, null, null]),
    ...fnCases('output_filter', (fx, v) => [fx.sock, null, v, 0, null, null]),
    ...fnCases('free_context', (fx, v) => [fx.sock, null, null, 0, v, null]),
    ...intCases('options', (fx, v) => [fx.sock, null, null, v, null, null]),
    N('options has an unknown bit: NULL as in libevent', (fx) => [fx.sock, null, null, 0x100, null, null], null),
  ],
  bufferevent_new: [
    ...fdCases((_fx, fd) => [fd, null, null, null, null]),
    ...fnCases('readcb', (_fx, v) => [-1, v, null, null, null]),
    ...fnCases('writecb', (_fx, v) => [-1, null, v, null, null]),
    ...fnCases('errorcb', (_fx, v) => [-1, null, null, v, null]),
  ],
  bufferevent_base_set: [
    T('base is a string', (fx) => ['base', fx.sock]),
    F('base was freed', (fx) => [fx.freedBase, fx.sock]),
    T('bev is null', (fx) => [fx.base, null]),
    T('bev is an evbuffer', (fx) => [fx.base, fx.buf]),
    F('bev was freed', (fx) => [fx.base, fx.freedBev]),
  ],
  bufferevent_settimeout: [
    ...bevArg(() => [0, 0]),
    ...intCases('timeout_read', (fx, v) => [fx.bev, v, 0]),
    ...intCases('timeout_write', (fx, v) => [fx.bev, 0, v]),
    R('timeout_read is negative', (fx) => [fx.bev, -1, 0]),
  ],

  // ---- evbuffers ----
  evbuffer_new: 'no arguments',
  bufferevent_socket_detach: [
    T('bev is null', () => [null]),
    T('bev is a pair element', (fx) => [fx.pair[0]]),
  ],
  bufferevent_socket_attach: [
    T('base is null', (fx) => [null, {}]),
    T('detached is null', (fx) => [fx.base, null]),
    T('detached has no socket', (fx) => [fx.base, { input: new Uint8Array(0), output: new Uint8Array(0), options: 0, enabled: 0, watermarks: [], timeouts: [] }]),
  ],
  bufferevent_stream: [T('bev is null', () => [null]), F('bev is freed', (fx) => [fx.freedBev])],
  BuffereventDuplex: [T('constructed with no arguments', () => []), T('constructed with a string', () => ['bev'])],
  offloadFilterNew: [
    T('underlying is null', () => [null, {}]),
    T('options is null', (fx) => [fx.bev, null]),
    T('options.pool is not a pool', (fx) => [fx.bev, { pool: {} }]),
  ],
  startRuntime: [
    T('options is null', () => [null]),
    T('module is a number', () => [{ module: 1 }]),
    T('workers is a string', () => [{ module: 'x.js', workers: '2' }]),
    R('workers is 0', () => [{ module: 'x.js', workers: 0 }]),
    R('distribution is unknown', () => [{ module: 'x.js', distribution: 'random' }]),
    R('port is out of range', () => [{ module: 'x.js', port: 70000 }]),
    T('routeKey is not a function', () => [{ module: 'x.js', routeKey: 'k' }]),
    T('registrySize is a string', () => [{ module: 'x.js', registrySize: '10' }]),
    R('maxConnections is 0', () => [{ module: 'x.js', maxConnections: 0 }]),
  ],
  Registry: [
    T('constructed with no arguments', () => []),
    T('constructed with a plain ArrayBuffer', () => [new ArrayBuffer(64), 0]),
    T('constructed with a SharedArrayBuffer that is not a registry', () => [new SharedArrayBuffer(64), 0]),
  ],
  threadLockWaits: 'no arguments',
  BuffereventError: [T('code is a number', () => ['message', 5]), T('code is not an ERR_BEV_ code', () => ['message', 'ENOENT'])],
  Runtime: [T('constructed with no arguments', () => []), T('constructed with a string', () => ['opts'])],
  evbuffer_free: bufArg(),
  evbuffer_get_length: bufArg(),
  EVBUFFER_LENGTH: bufArg(),
  EVBUFFER_DATA: bufArg(),
  evbuffer_add: [...bufArg(() => ['data']), ...inputData((fx) => [fx.buf])],
  evbuffer_prepend: [...bufArg(() => ['data']), ...inputData((fx) => [fx.buf])],
  evbuffer_add_printf: [
    ...bufArg(() => ['%d', 1]),
    T('format is a number', (fx) => [fx.buf, 5]),
    T('format is null', (fx) => [fx.buf, null]),
  ],
  evbuffer_add_buffer: [
    T('dst is a string', (fx) => ['dst', fx.buf2]),
    T('src is a string', (fx) => [fx.buf, 'src']),
    T('src is a bufferevent', (fx) => [fx.buf, fx.bev]),
    F('dst was freed', (fx) => [fx.freedBuf, fx.buf2]),
    F('src was freed', (fx) => [fx.buf, fx.freedBuf]),
    F("src is a freed bufferevent's input", (fx) => [fx.buf, fx.freedBevInput]),
  ],
  evbuffer_prepend_buffer: [
    T('dst is a string', (fx) => ['dst', fx.buf2]),
    T('src is a string', (fx) => [fx.buf, 'src']),
    F('dst was freed', (fx) => [fx.freedBuf, fx.buf2]),
    F('src was freed', (fx) => [fx.buf, fx.freedBuf]),
  ],
  evbuffer_remove_buffer: [
    T('src is a string', (fx) => ['src', fx.buf2, 1]),
    T('dst is a string', (fx) => [fx.buf, 'dst', 1]),
    F('src was freed', (fx) => [fx.freedBuf, fx.buf2, 1]),
    F('dst was freed', (fx) => [fx.buf, fx.freedBuf, 1]),
    F("dst is a freed bufferevent's output", (fx) => [fx.buf, fx.freedBevOutput, 1]),
    ...sizeCases('size', (fx, v) => [fx.buf, fx.buf2, v]),
  ],
  evbuffer_remove: [...bufArg(() => [new Uint8Array(4)]), ...outputData((fx) => [fx.buf])],
  evbuffer_copyout: [...bufArg(() => [new Uint8Array(4)]), ...outputData((fx) => [fx.buf])],
  evbuffer_copyout_from: [
    ...bufArg(() => [null, new Uint8Array(4)]),
    ...ptrCases('pos', (fx, p) => [fx.buf, p, new Uint8Array(4)]),
    ...outputData((fx) => [fx.buf, null]),
  ],
  evbuffer_drain: [...bufArg(() => [1]), ...sizeCases('size', (fx, v) => [fx.buf, v])],
  evbuffer_pullup: [
    ...bufArg(() => [-1]),
    T('size is a string', (fx) => [fx.buf, '4']),
    R('size is NaN', (fx) => [fx.buf, NaN]),
    R('size is not an integer', (fx) => [fx.buf, 2.5]),
  ],
  evbuffer_readln: [
    ...bufArg(() => [null, L.EVBUFFER_EOL_ANY]),
    T('n_read_out is a number', (fx) => [fx.buf, 1, L.EVBUFFER_EOL_ANY]),
    ...intCases('eol_style', (fx, v) => [fx.buf, null, v]),
    R('eol_style is not a known style', (fx) => [fx.buf, null, 99]),
  ],
  evbuffer_readline: bufArg(),
  evbuffer_search: [
    ...bufArg(() => ['a', 1, null]),
    T('what is a number', (fx) => [fx.buf, 97, 1, null]),
    T('what is null', (fx) => [fx.buf, null, 1, null]),
    T('size is a string', (fx) => [fx.buf, 'a', '1', null]),
    R('size is negative', (fx) => [fx.buf, 'a', -1, null]),
    R('size is NaN', (fx) => [fx.buf, 'a', NaN, null]),
    R('size is larger than what', (fx) => [fx.buf, new Uint8Array(2), 3, null]),
    ...ptrCases('start', (fx, p) => [fx.buf, 'a', 1, p]),
  ],
  evbuffer_search_range: [
    ...bufArg(() => ['a', 1, null, null]),
    T('what is a number', (fx) => [fx.buf, 97, 1, null, null]),
    R('size is negative', (fx) => [fx.buf, 'a', -1, null, null]),
    R('size is larger than what', (fx) => [fx.buf, new Uint8Array(2), 3, null, null]),
    ...ptrCases('start', (fx, p) => [fx.buf, 'a', 1, p, null]),
    ...ptrCases('end', (fx, p) => [fx.buf, 'a', 1, null, p]),
  ],
  evbuffer_search_eol: [
    ...bufArg(() => [null, null, L.EVBUFFER_EOL_ANY]),
    ...ptrCases('start', (fx, p) => [fx.buf, p, null, L.EVBUFFER_EOL_ANY]),
    T('eol_len_out is a number', (fx) => [fx.buf, null, 1, L.EVBUFFER_EOL_ANY]),
    ...intCases('eol_style', (fx, v) => [fx.buf, null, null, v]),
  ],
  evbuffer_ptr_set: [
    ...bufArg(() => [{}, 0, L.EVBUFFER_PTR_SET]),
    T('ptr is null', (fx) => [fx.buf, null, 0, L.EVBUFFER_PTR_SET]),
    T('ptr is a number', (fx) => [fx.buf, 0, 0, L.EVBUFFER_PTR_SET]),
    ...sizeCases('position', (fx, v) => [fx.buf, {}, v, L.EVBUFFER_PTR_SET]),
    ...intCases('how', (fx, v) => [fx.buf, {}, 0, v]),
    R('how is neither EVBUFFER_PTR_SET nor EVBUFFER_PTR_ADD', (fx) => [fx.buf, {}, 0, 7]),
  ],
  evbuffer_peek: [
    ...bufArg(() => [-1, null, [], 0]),
    T('len is a string', (fx) => [fx.buf, '1', null, [], 0]),
    R('len is NaN', (fx) => [fx.buf, NaN, null, [], 0]),
    ...ptrCases('start', (fx, p) => [fx.buf, -1, p, [], 0]),
    T('vec is a string while n_vec is 1', (fx) => [fx.buf, -1, null, 'vec', 1]),
    ...sizeCases('n_vec', (fx, v) => [fx.buf, -1, null, [], v]),
    R('n_vec is larger than vec', (fx) => [fx.buf, -1, null, [{}], 2]),
  ],
  evbuffer_freeze: [
    ...bufArg(() => [0]),
    T('at_front is a string', (fx) => [fx.buf, 'yes']),
    T('at_front is an object', (fx) => [fx.buf, {}]),
  ],
  evbuffer_unfreeze: [
    ...bufArg(() => [0]),
    T('at_front is a string', (fx) => [fx.buf, 'yes']),
    T('at_front is an object', (fx) => [fx.buf, {}]),
  ],
  evbuffer_add_cb: [
    ...bufArg(() => [noop, null]),
    ...fnCases('cb', (fx, v) => [fx.buf, v, null]),
    T('cb is null', (fx) => [fx.buf, null, null]),
  ],
  evbuffer_remove_cb_entry: [
    ...bufArg((fx) => [fx.cbEntry]),
    T('ent is a string', (fx) => [fx.buf, 'ent']),
    T('ent is a plain object', (fx) => [fx.buf, {}]),
  ],
  evbuffer_remove_cb: [...bufArg(() => [noop, null]), ...fnCases('cb', (fx, v) => [fx.buf, v, null])],
  evbuffer_cb_set_flags: [
    ...bufArg((fx) => [fx.cbEntry, L.EVBUFFER_CB_ENABLED]),
    T('ent is a string', (fx) => [fx.buf, 'ent', L.EVBUFFER_CB_ENABLED]),
    ...intCases('flags', (fx, v) => [fx.buf, fx.cbEntry, v]),
  ],
  evbuffer_cb_clear_flags: [
    ...bufArg((fx) => [fx.cbEntry, L.EVBUFFER_CB_ENABLED]),
    T('ent is a string', (fx) => [fx.buf, 'ent', L.EVBUFFER_CB_ENABLED]),
    ...intCases('flags', (fx, v) => [fx.buf, fx.cbEntry, v]),
  ],
  evbuffer_enable_locking: [...bufArg(() => [null]), T('lock is an object', (fx) => [fx.buf, {}])],
  evbuffer_lock: bufArg(),
  evbuffer_unlock: bufArg(),
  evbuffer_reserve_space: [
    ...bufArg(() => [16, EMPTY_IOVEC(), 1]),
    ...sizeCases('size', (fx, v) => [fx.buf, v, EMPTY_IOVEC(), 1]),
    T('vec is a string', (fx) => [fx.buf, 16, 'vec', 1]),
    T('n_vec is a string', (fx) => [fx.buf, 16, EMPTY_IOVEC(), '1']),
    R('n_vec is negative', (fx) => [fx.buf, 16, EMPTY_IOVEC(), -1]),
    R('n_vec is larger than vec', (fx) => [fx.buf, 16, EMPTY_IOVEC(), 2]),
    // libevent returns -1 for n_vecs < 1 (buffer.c); int statuses are kept exactly as libevent's.
    N('n_vec is 0: -1 as in libevent', (fx) => [fx.buf, 16, [], 0], -1),
  ],
  evbuffer_commit_space: [
    ...bufArg(() => [[], 0]),
    T('vec is a string while n_vec is 1', (fx) => [fx.buf, 'vec', 1]),
    T('n_vec is a string', (fx) => [fx.buf, [], '0']),
    R('n_vec is negative', (fx) => [fx.buf, [], -1]),
    R('n_vec is larger than vec', (fx) => [fx.buf, EMPTY_IOVEC(), 2]),
  ],
  evbuffer_add_reference: [
    ...bufArg(() => [new Uint8Array(2), 2, null, null]),
    T('data is a string', (fx) => [fx.buf, 'ab', 2, null, null]),
    T('data is null', (fx) => [fx.buf, null, 0, null, null]),
    T('size is a string', (fx) => [fx.buf, new Uint8Array(2), '2', null, null]),
    R('size is negative', (fx) => [fx.buf, new Uint8Array(2), -1, null, null]),
    R('size is NaN', (fx) => [fx.buf, new Uint8Array(2), NaN, null, null]),
    R('size is larger than data', (fx) => [fx.buf, new Uint8Array(2), 3, null, null]),
    ...fnCases('cleanupfn', (fx, v) => [fx.buf, new Uint8Array(2), 2, v, null]),
  ],
  evbuffer_find: [
    ...bufArg(() => ['a', 1]),
    T('what is a number', (fx) => [fx.buf, 97, 1]),
    R('size is negative', (fx) => [fx.buf, 'a', -1]),
    R('size is larger than what', (fx) => [fx.buf, new Uint8Array(2), 3]),
  ],
  evbuffer_setcb: [...bufArg(() => [null, null]), ...fnCases('cb', (fx, v) => [fx.buf, v, null])],

  // ---- utilities ----
  EVUTIL_SOCKET_ERROR: 'no arguments',
  evthread_use_pthreads: 'no arguments',
  evthread_enable_lock_debugging: 'no arguments',
  evutil_socket_error_to_string: intCases('err', (_fx, v) => [v]),
  evutil_gai_strerror: intCases('err', (_fx, v) => [v]),
  evutil_make_socket_nonblocking: [T('fd is a plain object', () => [{}]), ...intCases('fd', (_fx, v) => [v])],
  evutil_parse_sockaddr_port: [
    T('str is a number', () => [8080]),
    T('str is null', () => [null]),
    N('str is not an address: NULL as in libevent', () => ['not an address'], null),
    N('the port is above 65535: NULL as in libevent', () => ['127.0.0.1:65536'], null),
  ],
  htons: intCases('x', (_fx, v) => [v]),
  ntohs: intCases('x', (_fx, v) => [v]),
  htonl: intCases('x', (_fx, v) => [v]),
  ntohl: intCases('x', (_fx, v) => [v]),
  evdns_base_new: [...baseArg(() => [0]), ...intCases('initialize_nameservers', (fx, v) => [fx.base, v])],
  evdns_base_free: [...dnsArg(() => [0]), ...intCases('fail_requests', (fx, v) => [fx.dns, v])],
  evdns_base_nameserver_ip_add: [
    ...dnsArg(() => ['127.0.0.1:53']),
    T('ip_as_string is a number', (fx) => [fx.dns, 0x7f000001]),
  ],

  // ---- listener ----
  evconnlistener_new_bind: [
    ...baseArg(() => [null, null, 0, -1, LOOPBACK]),
    ...fnCases('cb', (fx, v) => [fx.base, v, null, 0, -1, LOOPBACK]),
    ...intCases('flags', (fx, v) => [fx.base, null, null, v, -1, LOOPBACK]),
    ...intCases('backlog', (fx, v) => [fx.base, null, null, 0, v, LOOPBACK]),
    ...sockaddrCases((fx, sa) => [fx.base, null, null, 0, -1, sa]),
    N('the address is in use: NULL as in libevent', (fx) => [fx.base, null, null, 0, -1, { ...LOOPBACK, port: L.evconnlistener_get_port(fx.lev) }], null),
  ],
  evconnlistener_free: levArg(),
  evconnlistener_enable: levArg(),
  evconnlistener_disable: levArg(),
  evconnlistener_get_fd: levArg(),
  evconnlistener_get_port: levArg(),
  evconnlistener_set_cb: [...levArg(() => [null, null]), ...fnCases('cb', (fx, v) => [fx.lev, v, null])],
  evconnlistener_new: [
    ...baseArg(() => [null, null, 0, 0, 1_000_000]),
    ...fnCases('cb', (fx, v) => [fx.base, v, null, 0, 0, 1_000_000]),
    ...intCases('flags', (fx, v) => [fx.base, null, null, v, 0, 1_000_000]),
    T('fd is a string', (fx) => [fx.base, null, null, 0, 0, '3']),
    T('fd is negative', (fx) => [fx.base, null, null, 0, 0, -1]),
    N('fd is not a socket that can listen: NULL as in libevent', (fx) => [fx.base, null, null, 0, 0, 1_000_000], null),
  ],
  evconnlistener_set_error_cb: [...levArg(() => [null]), ...fnCases('errorcb', (fx, v) => [fx.lev, v])],
  evconnlistener_get_base: levArg(),

  // ---- across threads ----
  bufferevent_export: bevArg(),
  bufferevent_import: [
    T('shared is null', () => [null]),
    T('shared is a string', () => ['shared']),
    T('shared is a plain object', () => [{}]),
    T('shared is a bufferevent', (fx) => [fx.bev]),
    T('shared is what evbuffer_export returned', (fx) => [fx.freedSharedBuf]),
    T('shared.sab is an ArrayBuffer', () => [{ __bufferevent: 1, sab: new ArrayBuffer(64), h: 0 }]),
    F('shared names a bufferevent freed since', (fx) => [fx.freedSharedBev]),
  ],
  evbuffer_export: bufArg(),
  evbuffer_import: [
    T('shared is null', () => [null]),
    T('shared is a string', () => ['shared']),
    T('shared is a plain object', () => [{}]),
    T('shared is an evbuffer', (fx) => [fx.buf]),
    T('shared is what bufferevent_export returned', (fx) => [fx.freedSharedBev]),
    // BUG: src/thread/export.ts evbuffer_import returns the owner's (freed) Evbuffer without live(), and a
    // SharedEvbuffer carries no header generation (H_GEN), so once the freed header is recycled an import can alias
    // an unrelated evbuffer. Fix: put the generation in the shared value, check it and live() on import.
    F('shared names an evbuffer freed since', (fx) => [fx.freedSharedBuf]),
  ],

  // ---- other exported functions ----
  // The classes under the flat API. Their constructors are marked @internal but are exported from src/index.ts, so a
  // user can call them; with bad arguments they must fail with a coded error, not crash in the middle.
  Bufferevent: classCases(),
  Evbuffer: classCases(),
  EvbufferCbEntry: classCases(),
  Event: classCases(),
  EvdnsBase: classCases(),
  // (sa stays null: with a string the constructor would go on to listen on a random port of every interface)
  Evconnlistener: classCases(['a', 'b', 'c', 'd', 'e', null]),
};

// ---- running a case ------------------------------------------------------------------------------------------------

const exportsByName = L as unknown as Record<string, unknown>;
const isClass = (f: unknown): boolean => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));

/** Call the export and describe what happened: "TypeError ERR_INVALID_ARG_TYPE", "returned null", ... */
async function outcome(name: string, args: unknown[]): Promise<string> {
  const f = exportsByName[name] as (...a: unknown[]) => unknown;
  try {
    let v = isClass(f) ? Reflect.construct(f, args) : f(...args);
    if (v !== null && typeof v === 'object' && typeof (v as Promise<unknown>).then === 'function') v = await v; // a rejected promise counts as a throw
    return `returned ${show(v)}`;
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const kind = e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? e.constructor.name : typeof e;
    return `${kind} ${typeof e?.code === 'string' ? e.code : '(no code)'}`;
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  return `an instance of ${v.constructor?.name ?? 'Object'}`;
}

function expected(e: Expect): string {
  if (e === 'type') return 'TypeError ERR_INVALID_ARG_TYPE';
  if (e === 'range') return 'RangeError ERR_OUT_OF_RANGE';
  if (e === 'freed') return 'Error ERR_BEV_FREED';
  return `returned ${show(e.returns)}`;
}

function title(c: Case): string {
  const what = expected(c.expect);
  if (typeof c.expect === 'object') return `${c.what} (${what})`;
  return `${c.what}: throws ${what}`;
}

// ---- the tests -------------------------------------------------------------------------------------------------------

describe('bad input to every exported function', () => {
  it('the table has a row for every exported function, and only for those', () => {
    const fns = Object.keys(exportsByName).filter((k) => typeof exportsByName[k] === 'function');
    const missing = fns.filter((k) => !(k in table));
    const stale = Object.keys(table).filter((k) => typeof exportsByName[k] !== 'function');
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  it('rows marked "no arguments" are functions that take none, and every other row has cases', () => {
    for (const [name, row] of Object.entries(table)) {
      if (row === 'no arguments') expect((exportsByName[name] as (...a: unknown[]) => unknown).length, name).toBe(0);
      else expect(row.length, name).toBeGreaterThan(0);
    }
  });

  let fx: Fx;
  beforeEach(async () => {
    fx = await Fx.make();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  for (const [name, row] of Object.entries(table)) {
    if (row === 'no arguments') continue;
    describe(name, () => {
      for (const c of row) {
        // BUG rows: see `bug`; the row is expected to fail until fixed.
        const test = c.bug ? it.fails : it;
        test(`${title(c)}; buffered data stays intact`, async () => {
          const args = c.args(fx);
          const before = snapshot(fx);
          const got = await outcome(name, args);
          expect(got, `${name}(${args.map((a) => show(a)).join(', ')})`).toBe(expected(c.expect));
          expect(snapshot(fx)).toEqual(before);
        });
      }
    });
  }
});

describe('"freed" means the last reference went', () => {
  it('a bufferevent freed while a reference is held still works until bufferevent_decref drops the last one', async () => {
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    const input = L.bufferevent_get_input(bev);
    L.bufferevent_incref(bev);
    L.bufferevent_free(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(L.bufferevent_get_enabled(bev)).toBe(L.EV_WRITE);
    expect(L.evbuffer_get_length(input)).toBe(0);
    expect(L.bufferevent_decref(bev)).toBe(1);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(() => L.bufferevent_get_enabled(bev)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.evbuffer_get_length(input)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    L.event_base_free(base);
  });

  it('a pair end freed before the loop ran is already unusable, and its partner stays usable', async () => {
    const base = L.event_base_new();
    const pair: Bev[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const [a, b] = pair as [Bev, Bev];
    L.bufferevent_free(a);
    expect(() => L.bufferevent_write(a, 'x')).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(L.bufferevent_pair_get_partner(b)).toBeNull();
    expect(L.bufferevent_write(b, 'still fine')).toBe(0);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(b))).toBe(10);
    L.bufferevent_free(b);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});

afterAll(async () => {
  // every listener made above was freed: no listening or connected socket is left (closing ones go within the limit)
  await expectNoSocketHandles();
});
