import dc from 'node:diagnostics_channel';
import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { startRuntime, WORKER_YOUNG_GENERATION_MB } from '../../src/index.ts';
import { expectNoSocketHandles } from '../support/net.ts';

const handler = new URL('../fixtures/echo-handler.ts', import.meta.url);

/** One request/reply over a new connection: returns the reply line ("<worker index>:<threadId>:<text>"). */
async function ask(port: number, text: string, keepOpen = false): Promise<{ reply: string; sock: net.Socket }> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(`${text}\n`);
  let buf = '';
  while (!buf.includes('\n')) {
    const [d] = (await once(sock, 'data')) as [Buffer];
    buf += d.toString();
  }
  if (!keepOpen) {
    sock.end();
    await once(sock, 'close');
  }
  return { reply: buf.trim(), sock };
}

describe('runtime: event-base workers serving connections', () => {
  it('round robin spreads connections over the workers, and close() leaves no worker or handle', async () => {
    const rt = await startRuntime({ module: handler, workers: 2 });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await ask(rt.port, `hello ${i}`)).reply);
    expect(seen.map((r) => r.split(':')[0])).toEqual(['0', '1', '0', '1']);
    expect(seen.every((r, i) => r.endsWith(`hello ${i}`))).toBe(true);
    expect(rt.dispatched).toEqual([2, 2]);
    await rt.close();
    // the server's 'close' comes before libuv has let its handle go: wait (bounded) for it, then none may be left
    await expectNoSocketHandles();
  });

  it('each hand-over to a worker is published on bufferevent:handoff with the worker and the remote address', async () => {
    const seen: Array<{ worker: number; remoteAddress: string }> = [];
    const onHandoff = (m: unknown) => seen.push(m as { worker: number; remoteAddress: string });
    dc.subscribe('bufferevent:handoff', onHandoff);
    try {
      const rt = await startRuntime({ module: handler, workers: 2 });
      for (let i = 0; i < 2; i++) await ask(rt.port, `hello ${i}`);
      expect(seen.map((m) => m.worker)).toEqual([0, 1]);
      expect(seen.every((m) => m.remoteAddress === '127.0.0.1')).toBe(true);
      await rt.close();
    } finally {
      dc.unsubscribe('bufferevent:handoff', onHandoff);
    }
  });

  it('with diagnostics: true, the workers\' channel messages are published on the main thread with the worker index', async () => {
    const events: Array<{ worker: number; what: number }> = [];
    let seen!: () => void;
    const first = new Promise<void>((r) => (seen = r));
    const onEvent = (m: unknown) => {
      events.push(m as { worker: number; what: number });
      seen();
    };
    dc.subscribe('bufferevent:event', onEvent);
    try {
      await expect(startRuntime({ module: handler, workers: 1, diagnostics: 'yes' as never })).rejects.toThrow(TypeError);
      const rt = await startRuntime({ module: handler, workers: 2, diagnostics: true });
      await ask(rt.port, 'hello 0'); // the client ends: the worker's bufferevent sees EOF
      await first; // forwarded from the worker (the test's timeout bounds the wait)
      expect(events[0]!.worker).toBe(0);
      expect(events[0]!.what & 0x10).toBeTruthy(); // BEV_EVENT_EOF
      await rt.close();
    } finally {
      dc.unsubscribe('bufferevent:event', onEvent);
    }
  });

  it('a handed-over connection reaches onConnection as a socket that has read nothing, so the bufferevent takes it over in place', async () => {
    const rt = await startRuntime({ module: handler, workers: 1 });
    const { reply } = await ask(rt.port, 'inplace?');
    expect(reply.split(':')[2]).toBe('true');
    await rt.close();
  });

  it('least-loaded sends a new connection to the worker with fewer open connections', async () => {
    const rt = await startRuntime({ module: handler, workers: 2, distribution: 'least-loaded' });
    const a = await ask(rt.port, 'a', true); // stays open on worker 0
    const b = await ask(rt.port, 'b');
    expect(a.reply.split(':')[0]).toBe('0');
    expect(b.reply.split(':')[0]).toBe('1');
    a.sock.end();
    await once(a.sock, 'close');
    await rt.close();
  });

  it('a route key sends connections with the same key to the same worker', async () => {
    const rt = await startRuntime({ module: handler, workers: 2, routeKey: () => 'same-client' });
    const r = [];
    for (let i = 0; i < 3; i++) r.push((await ask(rt.port, 'x')).reply.split(':')[0]);
    expect(new Set(r).size).toBe(1);
    await rt.close();
  });

  it('with reusePort each worker listens on the port itself', async () => {
    const rt = await startRuntime({ module: handler, workers: 2, reusePort: true });
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push((await ask(rt.port, `r${i}`)).reply);
    expect(replies.every((r, i) => r.endsWith(`r${i}`))).toBe(true);
    await rt.close();
  });

  it('restarts a worker that died and keeps serving', async () => {
    const rt = await startRuntime({ module: handler, workers: 1 });
    const first = (await ask(rt.port, 'before')).reply;
    const s = net.connect(rt.port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    const restarted = once(rt, 'restart');
    s.write('crash\n');
    await restarted;
    s.destroy();
    // the replacement is started on the old one's exit; ask until it answers (each ask is a full round trip)
    let after = '';
    for (let i = 0; i < 50 && !after; i++) {
      try {
        after = (await ask(rt.port, 'after')).reply;
      } catch {
        after = '';
      }
    }
    expect(after.endsWith('after')).toBe(true);
    expect(after.split(':')[1]).not.toBe(first.split(':')[1]); // another thread
    expect(rt.restarts).toBe(1);
    await rt.close();
  });

  it('workers start with a capped young generation by default, and with the resourceLimits given', async () => {
    const seen = new SharedArrayBuffer(8);
    const rt = await startRuntime({ module: new URL('../fixtures/limits-handler.ts', import.meta.url), workers: 2, workerData: seen });
    expect(Array.from(new Int32Array(seen))).toEqual([WORKER_YOUNG_GENERATION_MB, WORKER_YOUNG_GENERATION_MB]);
    await rt.close();
    const rt2 = await startRuntime({ module: new URL('../fixtures/limits-handler.ts', import.meta.url), workers: 1, workerData: seen, resourceLimits: { maxYoungGenerationSizeMb: 32 } });
    expect(new Int32Array(seen)[0]).toBe(32);
    await rt2.close();
    await expect(startRuntime({ module: new URL('../fixtures/limits-handler.ts', import.meta.url), resourceLimits: 5 as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('a worker that keeps failing to restart is given up after 5 tries; the runtime stays up and closes cleanly', async () => {
    const starts = new SharedArrayBuffer(4);
    const rt = await startRuntime({ module: new URL('../fixtures/fragile-handler.ts', import.meta.url), workers: 1, workerData: starts });
    expect((await ask(rt.port, 'ok')).reply.endsWith('ok')).toBe(true);
    const down = once(rt, 'down');
    const s = net.connect(rt.port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    s.write('crash\n');
    await down; // 5 restarts failed in setup
    s.destroy();
    expect(rt.restarts).toBe(5);
    // no worker left: a new connection is closed at once instead of waiting forever
    const c = net.connect(rt.port, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'close');
    await rt.close();
  });

  it('a throwing onConnection closes that connection, reports connection-error, and the worker lives on', async () => {
    const rt = await startRuntime({ module: new URL('../fixtures/throwing-handler.ts', import.meta.url), workers: 1 });
    for (let i = 0; i < 2; i++) {
      const reported = once(rt, 'connection-error');
      const c = net.connect(rt.port, '127.0.0.1');
      c.on('error', () => {});
      const closed = once(c, 'close');
      const [err, index] = (await reported) as [Error, number];
      expect(err.message).toContain('handler bug');
      expect(index).toBe(0);
      await closed;
    }
    expect(rt.restarts).toBe(0);
    await rt.close();
  });
});
