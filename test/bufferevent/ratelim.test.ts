import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import type net from 'node:net';
import * as L from '../../src/index.ts';
import { closeLeftovers, forgetSockets, runUntil, tcpPair, tcpServer } from '../support/net.ts';

/** Rate limits and single-read/write caps (bufferevent_ratelim.c), on socket bufferevents over loopback. */
afterEach(() => closeLeftovers());

const tv = (ms: number) => ({ tv_sec: Math.floor(ms / 1000), tv_usec: (ms % 1000) * 1000 });

/** A socket bufferevent on one end of a TCP pair; the other end is a plain node:net socket. */
async function socketBev(base: L.EventBase): Promise<{ bev: L.Bufferevent; peer: net.Socket; reads: number[] }> {
  const { client, server } = await tcpPair();
  const bev = L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!;
  const reads: number[] = [];
  L.bufferevent_setcb(
    bev,
    (b) => {
      const input = L.bufferevent_get_input(b);
      const n = L.evbuffer_get_length(input);
      reads.push(n);
      L.evbuffer_drain(input, n);
    },
    null,
    null,
    null,
  );
  server.resume();
  return { bev, peer: server, reads };
}

describe('ev_token_bucket_cfg_new', () => {
  it('makes a configuration, with a one-second tick for a null tick_len', () => {
    const c = L.ev_token_bucket_cfg_new(100, 200, 300, 400, null)!;
    expect(c).toMatchObject({ read_rate: 100, read_maximum: 200, write_rate: 300, write_maximum: 400, msec_per_tick: 1000 });
    expect(c.tick_timeout).toEqual({ tv_sec: 1, tv_usec: 0 });
    expect(L.ev_token_bucket_cfg_new(1, 1, 1, 1, tv(250))!.msec_per_tick).toBe(250);
  });
  it('returns null as libevent does: a rate above its burst, a rate below 1, or anything above EV_RATE_LIMIT_MAX', () => {
    expect(L.ev_token_bucket_cfg_new(201, 200, 1, 1, null)).toBeNull();
    expect(L.ev_token_bucket_cfg_new(1, 1, 5, 4, null)).toBeNull();
    expect(L.ev_token_bucket_cfg_new(0, 1, 1, 1, null)).toBeNull();
    expect(L.ev_token_bucket_cfg_new(1, L.EV_RATE_LIMIT_MAX + 1, 1, 1, null)).toBeNull();
    expect(L.EV_RATE_LIMIT_MAX).toBe(2 ** 31 - 1);
  });
  it('rejects bad arguments with coded errors, and a freed configuration with ERR_BEV_FREED', () => {
    expect(() => L.ev_token_bucket_cfg_new('1' as never, 1, 1, 1, null)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => L.ev_token_bucket_cfg_new(-1, 1, 1, 1, null)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const c = L.ev_token_bucket_cfg_new(1, 1, 1, 1, null)!;
    L.ev_token_bucket_cfg_free(c);
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    expect(() => L.bufferevent_set_rate_limit(pair[0]!, c)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    expect(() => L.bufferevent_set_rate_limit(pair[0]!, {} as never)).toThrow(TypeError);
    pair.forEach((b) => L.bufferevent_free(b));
    L.event_base_free(base);
  });
});

describe('max_single_read / max_single_write', () => {
  it('default to libevent\'s 16384; 0 or more than EV_SSIZE_MAX resets the default', async () => {
    const base = L.event_base_new();
    const { bev } = await socketBev(base);
    expect(L.bufferevent_get_max_single_read(bev)).toBe(16384);
    expect(L.bufferevent_get_max_single_write(bev)).toBe(16384);
    expect(L.bufferevent_set_max_single_read(bev, 100)).toBe(0);
    expect(bev.getMaxSingleRead()).toBe(100);
    L.bufferevent_set_max_single_read(bev, 0);
    expect(L.bufferevent_get_max_single_read(bev)).toBe(16384);
    L.bufferevent_set_max_single_write(bev, L.EV_SSIZE_MAX + 2);
    expect(L.bufferevent_get_max_single_write(bev)).toBe(16384);
    expect(() => L.bufferevent_set_max_single_read(bev, -1)).toThrow(RangeError);
    // without a rate limit, the most to read is the single-read cap
    L.bufferevent_set_max_single_read(bev, 777);
    expect(L.bufferevent_get_max_to_read(bev)).toBe(777);
    expect(L.bufferevent_get_read_limit(bev)).toBe(L.EV_SSIZE_MAX);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });

  it('cap every socket read', async () => {
    const base = L.event_base_new();
    const { bev, peer, reads } = await socketBev(base);
    L.bufferevent_set_max_single_read(bev, 100);
    L.bufferevent_enable(bev, L.EV_READ);
    peer.write(Buffer.alloc(5000, 1));
    await runUntil(base, () => reads.reduce((a, b) => a + b, 0) >= 5000);
    // each read callback follows one socket read (no watermark): none saw more than the cap
    expect(Math.max(...reads)).toBeLessThanOrEqual(100);
    expect(reads.length).toBeGreaterThanOrEqual(50);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });

  it('cap every socket write', async () => {
    const base = L.event_base_new();
    const { bev, peer } = await socketBev(base);
    const drained: number[] = [];
    L.evbuffer_add_cb(L.bufferevent_get_output(bev), (_b, info) => { if (info.n_deleted > 0) drained.push(info.n_deleted); }, null);
    L.bufferevent_set_max_single_write(bev, 300);
    let got = 0;
    peer.on('data', (d: Buffer) => (got += d.length));
    L.bufferevent_write(bev, new Uint8Array(3000));
    await runUntil(base, () => got >= 3000);
    expect(Math.max(...drained)).toBeLessThanOrEqual(300);
    expect(drained.reduce((a, b) => a + b, 0)).toBe(3000);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });
});

describe('bufferevent_set_rate_limit', () => {
  it('no read takes more than the bucket holds; the bucket loses what was read and gains at most the rate per refill', async () => {
    const base = L.event_base_new();
    const { bev, peer, reads } = await socketBev(base);
    const cfg = L.ev_token_bucket_cfg_new(1000, 1500, 100_000, 100_000, tv(50))!;
    expect(L.bufferevent_set_rate_limit(bev, cfg)).toBe(0);
    expect(L.bufferevent_get_token_bucket_cfg(bev)).toBe(cfg);
    expect(L.bufferevent_get_read_limit(bev)).toBe(1000); // a new bucket starts at the rate
    const seen: Array<{ before: number; n: number; after: number }> = [];
    let before = L.bufferevent_get_read_limit(bev);
    L.bufferevent_setcb(
      bev,
      (b) => {
        const input = L.bufferevent_get_input(b);
        const n = L.evbuffer_get_length(input);
        L.evbuffer_drain(input, n);
        reads.push(n);
        const after = L.bufferevent_get_read_limit(b);
        seen.push({ before, n, after });
        before = after;
      },
      null,
      null,
      null,
    );
    L.bufferevent_enable(bev, L.EV_READ);
    peer.write(Buffer.alloc(6000, 2));
    await runUntil(base, () => reads.reduce((a, b) => a + b, 0) >= 6000);
    let refills = 0;
    for (const s of seen) {
      // the bucket as the read found it: what the last callback left, plus whole ticks' refills
      expect(s.n).toBeGreaterThan(0);
      expect(s.after).toBeLessThanOrEqual(1500);
    }
    for (let k = 1; k < seen.length; k++) {
      const gained = seen[k]!.after + seen[k]!.n - seen[k - 1]!.after;
      // what this read could use came from refills: never more than the burst above zero
      expect(seen[k]!.n).toBeLessThanOrEqual(Math.max(0, seen[k - 1]!.after) + gained);
      if (gained > 0) refills++;
      expect(gained % 1000 === 0 || seen[k]!.after + seen[k]!.n === 1500).toBe(true);
    }
    // 6000 bytes at 1000 per tick, starting from 1000: at least five refills were needed
    expect(refills).toBeGreaterThanOrEqual(4);
    expect(reads.length).toBeGreaterThanOrEqual(5);
    L.bufferevent_set_rate_limit(bev, null);
    expect(L.bufferevent_get_read_limit(bev)).toBe(L.EV_SSIZE_MAX);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });

  it('decrement_read_limit below zero suspends reading until the limit is raised again; a negative decrement adds', async () => {
    const base = L.event_base_new();
    const { bev, peer, reads } = await socketBev(base);
    expect(() => L.bufferevent_decrement_read_limit(bev, 1)).toThrow(expect.objectContaining({ code: 'ERR_BEV_NO_RATE_LIMIT' }));
    L.bufferevent_set_rate_limit(bev, L.ev_token_bucket_cfg_new(100_000, 100_000, 100_000, 100_000, tv(60_000))!);
    L.bufferevent_enable(bev, L.EV_READ);
    expect(L.bufferevent_decrement_read_limit(bev, 100_000 + 5)).toBe(0);
    expect(L.bufferevent_get_read_limit(bev)).toBe(-5);
    expect(L.bufferevent_get_max_to_read(bev)).toBe(0);
    peer.write(Buffer.alloc(1000, 3));
    // the bytes are in the socket; loop turns pass with reading suspended
    for (let k = 0; k < 50; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(reads).toEqual([]);
    expect(L.bufferevent_decrement_read_limit(bev, -2000)).toBe(0);
    expect(L.bufferevent_get_read_limit(bev)).toBe(1995);
    await runUntil(base, () => reads.reduce((a, b) => a + b, 0) >= 1000);
    L.bufferevent_free(bev);
    forgetSockets();
    L.event_base_free(base);
  });
});

describe('rate-limit groups', () => {
  it('share one bucket: totals count what members read, decrement suspends and resumes every member', async () => {
    const base = L.event_base_new();
    const a = await socketBev(base);
    const b = await socketBev(base);
    const g = L.bufferevent_rate_limit_group_new(base, L.ev_token_bucket_cfg_new(100_000, 100_000, 100_000, 100_000, tv(60_000))!)!;
    expect(L.bufferevent_add_to_rate_limit_group(a.bev, g)).toBe(0);
    expect(L.bufferevent_add_to_rate_limit_group(b.bev, g)).toBe(0);
    expect(L.bufferevent_rate_limit_group_get_read_limit(g)).toBe(100_000);
    // a member's share: the group's limit over its members, here 50000, capped by max_single_read
    expect(L.bufferevent_get_max_to_read(a.bev)).toBe(16384);
    L.bufferevent_set_max_single_read(a.bev, 1_000_000);
    expect(L.bufferevent_get_max_to_read(a.bev)).toBe(50_000);
    L.bufferevent_enable(a.bev, L.EV_READ);
    L.bufferevent_enable(b.bev, L.EV_READ);
    a.peer.write(Buffer.alloc(700, 1));
    b.peer.write(Buffer.alloc(300, 1));
    const sum = (r: number[]) => r.reduce((x, y) => x + y, 0);
    await runUntil(base, () => sum(a.reads) >= 700 && sum(b.reads) >= 300);
    const totals: { total_read?: number; total_written?: number } = {};
    L.bufferevent_rate_limit_group_get_totals(g, totals);
    expect(totals).toEqual({ total_read: 1000, total_written: 0 });
    expect(L.bufferevent_rate_limit_group_get_read_limit(g)).toBe(99_000);
    L.bufferevent_rate_limit_group_reset_totals(g);
    L.bufferevent_rate_limit_group_get_totals(g, totals);
    expect(totals.total_read).toBe(0);

    L.bufferevent_rate_limit_group_decrement_read(g, 99_001);
    expect(L.bufferevent_rate_limit_group_get_read_limit(g)).toBe(-1);
    expect(L.bufferevent_get_max_to_read(a.bev)).toBe(0);
    a.peer.write(Buffer.alloc(10, 1));
    b.peer.write(Buffer.alloc(10, 1));
    for (let k = 0; k < 50; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(sum(a.reads) + sum(b.reads)).toBe(1000);
    L.bufferevent_rate_limit_group_decrement_read(g, -1001);
    await runUntil(base, () => sum(a.reads) >= 710 && sum(b.reads) >= 310);

    // min share: 980 left over two members is 490 each, below a min share of 500, which wins
    expect(L.bufferevent_rate_limit_group_get_read_limit(g)).toBe(980);
    expect(L.bufferevent_rate_limit_group_set_min_share(g, 500)).toBe(0);
    expect(L.bufferevent_get_max_to_read(a.bev)).toBe(500);
    expect(L.bufferevent_remove_from_rate_limit_group(a.bev)).toBe(0);
    expect(L.bufferevent_get_max_to_read(a.bev)).toBe(1_000_000);
    L.bufferevent_rate_limit_group_free(g);
    expect(() => L.bufferevent_rate_limit_group_get_read_limit(g)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    for (const x of [a, b]) L.bufferevent_free(x.bev);
    forgetSockets();
    L.event_base_free(base);
  });

  it('works across threads: a member owned by another worker is suspended and resumed by the group\'s bucket', async () => {
    const base = L.event_base_new();
    const srv = await tcpServer();
    const g = L.bufferevent_rate_limit_group_new(base, L.ev_token_bucket_cfg_new(100_000, 100_000, 100_000, 100_000, tv(60_000))!)!;
    const w = new Worker(new URL('../fixtures/ratelim-worker.ts', import.meta.url));
    try {
      const next = async (op: string) => {
        for (;;) {
          const [m] = (await once(w, 'message')) as [{ op: string; got: number; maxToRead: number }];
          if (m.op === op) return m;
        }
      };
      w.postMessage({ op: 'join', group: L.bufferevent_rate_limit_group_export(g), port: srv.port });
      await next('joined');
      await runUntil(base, () => srv.accepted.length === 1);
      const peer = srv.accepted[0]!;
      const status = async () => {
        w.postMessage({ op: 'status' });
        return next('status');
      };
      // empty the group's bucket from this thread: the worker's member stops reading
      L.bufferevent_rate_limit_group_decrement_read(g, 100_001);
      let st = await status();
      for (let k = 0; k < 100 && st.maxToRead !== 0; k++) st = await status();
      expect(st.maxToRead).toBe(0);
      peer.write(Buffer.alloc(1000, 5));
      for (let k = 0; k < 20; k++) st = await status(); // twenty round trips: the worker's loop ran meanwhile
      expect(st.got).toBe(0);
      L.bufferevent_rate_limit_group_decrement_read(g, -10_001);
      for (let k = 0; k < 2000 && st.got < 1000; k++) st = await status();
      expect(st.got).toBe(1000);
      const totals: { total_read?: number } = {};
      L.bufferevent_rate_limit_group_get_totals(g, totals);
      expect(totals.total_read).toBe(1000);
      w.postMessage({ op: 'leave' });
      await next('left');
    } finally {
      await w.terminate();
      L.bufferevent_rate_limit_group_free(g);
      await srv.close();
      forgetSockets();
      L.event_base_free(base);
    }
  });
});

describe('camelCase methods of the rate-limit objects', () => {
  it('a group and a configuration have the flat functions as methods', () => {
    const base = L.event_base_new();
    const cfg = L.ev_token_bucket_cfg_new(1000, 1000, 2000, 2000, null)!;
    const g = L.bufferevent_rate_limit_group_new(base, cfg)!;
    expect(g.getReadLimit()).toBe(1000);
    expect(g.decrementRead(10)).toBe(0);
    expect(g.getReadLimit()).toBe(990);
    expect(g.decrementWrite(-5)).toBe(0);
    expect(g.getWriteLimit()).toBe(2005);
    expect(g.setMinShare(10)).toBe(0);
    expect(g.setCfg(L.ev_token_bucket_cfg_new(500, 500, 500, 500, null)!)).toBe(0);
    expect(g.getReadLimit()).toBe(500); // clipped to the new burst
    expect(g.getTotals()).toEqual({ total_read: 0, total_written: 0 });
    g.resetTotals();
    expect(g.export().__ratelimitgroup).toBe(1);
    g.free();
    expect(() => g.getReadLimit()).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    cfg.free();
    expect(() => cfg.free()).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    L.event_base_free(base);
  });
});
