import { afterEach, describe, expect, it } from 'vitest';
import dc from 'node:diagnostics_channel';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as L from '../src/index.ts';
import { closeLeftovers, forgetSockets, refusedPort, runUntil, tcpServer } from './support/net.ts';

/** diagnostics_channel and NODE_DEBUG=bufferevent. */
afterEach(() => closeLeftovers());

type Sock = L.Bufferevent & { connect(t: unknown): Promise<void> };

describe('diagnostics channels', () => {
  it('a subscriber sees the connect trace (start, asyncEnd / error) and every event reported', async () => {
    const trace: string[] = [];
    const events: number[] = [];
    const tc = dc.tracingChannel('bufferevent:connect');
    const handlers = {
      start: (m: unknown) => trace.push(`start ${JSON.stringify((m as { target: unknown }).target)}`),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: () => trace.push('asyncEnd'),
      error: (m: unknown) => trace.push(`error ${((m as { error: { code: string } }).error).code}`),
    };
    const onEvent = (m: unknown) => events.push((m as { what: number }).what);
    tc.subscribe(handlers);
    dc.subscribe('bufferevent:event', onEvent);
    try {
      const base = L.event_base_new();
      const srv = await tcpServer();
      const ok = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)! as Sock;
      let done = false;
      void ok.connect({ host: '127.0.0.1', port: srv.port }).then(() => (done = true));
      await runUntil(base, () => done);
      const port = await refusedPort();
      const bad = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)! as Sock;
      let failed = false;
      void bad.connect({ host: '127.0.0.1', port }).catch(() => (failed = true));
      await runUntil(base, () => failed);
      // a TracingChannel ends a rejected promise with error, then asyncEnd
      expect(trace).toEqual([`start {"host":"127.0.0.1","port":${srv.port}}`, 'asyncEnd', `start {"host":"127.0.0.1","port":${port}}`, 'error ECONNREFUSED', 'asyncEnd']);
      expect(events).toEqual([L.BEV_EVENT_CONNECTED, L.BEV_EVENT_ERROR]);
      L.bufferevent_free(ok);
      L.bufferevent_free(bad);
      await srv.close();
      forgetSockets();
      L.event_base_free(base);
    } finally {
      tc.unsubscribe(handlers);
      dc.unsubscribe('bufferevent:event', onEvent);
    }
  });

  it('bufferevent:free and bufferevent:lock-contended (on the thread that waited) publish what happened', async () => {
    const freed: unknown[] = [];
    const waits: number[] = [];
    const onFree = (m: unknown) => freed.push((m as { bev: unknown }).bev);
    const onWait = (m: unknown) => waits.push((m as { waitMs: number }).waitMs);
    dc.subscribe('bufferevent:free', onFree);
    dc.subscribe('bufferevent:lock-contended', onWait);
    const w = new Worker(new URL('./fixtures/lifetime-worker.ts', import.meta.url));
    try {
      const base = L.event_base_new();
      const pair: L.Bufferevent[] = [];
      L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
      // the worker holds the lock until this thread waits in it, then dies: this thread waited, and says so
      const gate = new Int32Array(new SharedArrayBuffer(8));
      w.postMessage({ op: 'hold-and-die', shared: L.bufferevent_export(pair[0]!), gate: gate.buffer, how: 'exit' });
      while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 5);
      let told = false;
      try {
        L.bufferevent_lock(pair[0]!);
      } catch (e) {
        told = (e as { code?: string }).code === 'ERR_BEV_OWNER_DIED';
      }
      L.bufferevent_unlock(pair[0]!);
      expect(told).toBe(true);
      expect(waits.length).toBe(1);
      expect(waits[0]).toBeGreaterThan(0);
      L.bufferevent_free(pair[0]!);
      L.bufferevent_free(pair[1]!);
      expect(freed).toEqual([pair[0], pair[1]]);
      await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
      L.event_base_free(base);
    } finally {
      await w.terminate();
      dc.unsubscribe('bufferevent:free', onFree);
      dc.unsubscribe('bufferevent:lock-contended', onWait);
    }
  });
});

describe('NODE_DEBUG=bufferevent', () => {
  it('prints a line per interesting event, from the same channels, and why a constructor returned null', () => {
    const script = `
      import * as L from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      const base = L.event_base_new();
      console.log(L.bufferevent_socket_new(base, -1, L.BEV_OPT_UNLOCK_CALLBACKS));
      const pair = [];
      L.bufferevent_pair_new(base, 0, pair);
      L.bufferevent_trigger_event(pair[0], L.BEV_EVENT_EOF | L.BEV_EVENT_READING, 0);
      L.bufferevent_free(pair[0]);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_DEBUG: 'bufferevent' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('null');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('BUFFEREVENT'));
    expect(lines.some((l) => l.includes('UNLOCK_CALLBACKS requires DEFER_CALLBACKS'))).toBe(true);
    expect(lines.some((l) => /event READING\|EOF/.test(l))).toBe(true);
    expect(lines.some((l) => / free$/.test(l))).toBe(true);
    const quiet = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_DEBUG: '' }, encoding: 'utf8' });
    expect(quiet.stderr).not.toContain('BUFFEREVENT');
  });
});
