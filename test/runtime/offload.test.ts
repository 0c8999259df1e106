import { describe, it, expect } from 'vitest';
import zlib from 'node:zlib';
import { Piscina } from 'piscina';
import * as L from '../../src/index.ts';
import { runUntil } from '../support/net.ts';

const filename = new URL('../fixtures/filter-tasks.ts', import.meta.url).href;

describe('a filter whose work runs in a piscina pool', () => {
  it('input direction: chunks are transformed off the I/O thread and arrive in order', async () => {
    const pool = new Piscina({ filename, maxThreads: 2 });
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const f = L.offloadFilterNew(pair[1]!, { pool, input: 'upper' });
    let got = '';
    L.bufferevent_setcb(f, (bev) => {
      const input = L.bufferevent_get_input(bev);
      const out = new Uint8Array(L.evbuffer_get_length(input));
      L.evbuffer_remove(input, out);
      got += Buffer.from(out).toString();
    }, null, null, null);
    L.bufferevent_enable(f, L.EV_READ);
    let expected = '';
    for (let i = 0; i < 50; i++) {
      const s = `chunk ${i} abc;`;
      expected += s.toUpperCase();
      L.bufferevent_write(pair[0]!, s);
      if (i % 7 === 0) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    }
    await runUntil(base, () => got.length >= expected.length);
    expect(got).toBe(expected);
    L.bufferevent_free(f);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
    await pool.destroy();
  });

  it('output direction: what is written to the filter reaches the underlying transformed (gzip members)', async () => {
    const pool = new Piscina({ filename, maxThreads: 2 });
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const f = L.offloadFilterNew(pair[0]!, { pool, output: 'gzip' });
    const parts: Buffer[] = [];
    L.bufferevent_setcb(pair[1]!, (bev) => {
      const input = L.bufferevent_get_input(bev);
      const out = new Uint8Array(L.evbuffer_get_length(input));
      L.evbuffer_remove(input, out);
      parts.push(Buffer.from(out));
    }, null, null, null);
    L.bufferevent_enable(pair[1]!, L.EV_READ);
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(200);
    for (let i = 0; i < text.length; i += 1000) L.bufferevent_write(f, text.slice(i, i + 1000));
    await runUntil(base, () => {
      try {
        return zlib.gunzipSync(Buffer.concat(parts)).toString() === text; // concatenated gzip members
      } catch {
        return false;
      }
    });
    L.bufferevent_free(f);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
    await pool.destroy();
  });

  it("the underlying's EOF is passed on after the last offloaded chunk and the BEV_FINISHED pass", async () => {
    const pool = new Piscina({ filename, maxThreads: 1 });
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const f = L.offloadFilterNew(pair[1]!, { pool, input: 'slowUpper' });
    const log: string[] = [];
    L.bufferevent_setcb(f, (bev) => {
      const input = L.bufferevent_get_input(bev);
      const out = new Uint8Array(L.evbuffer_get_length(input));
      L.evbuffer_remove(input, out);
      log.push(Buffer.from(out).toString());
    }, null, (_b, what) => log.push(`event 0x${what.toString(16)}`), null);
    L.bufferevent_enable(f, L.EV_READ);
    L.bufferevent_write(pair[0]!, 'hello ');
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // the chunk is in the pool now
    L.bufferevent_write(pair[0]!, 'world');
    L.bufferevent_flush(pair[0]!, L.EV_WRITE, L.BEV_FINISHED); // pair[1] gets EOF|READING
    await runUntil(base, () => log.some((x) => x.startsWith('event')));
    expect(log.join('')).toBe('HELLO WORLD<END>event 0x11');
    L.bufferevent_free(f);
    L.bufferevent_free(pair[0]!);
    L.bufferevent_free(pair[1]!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
    await pool.destroy();
  });
});
