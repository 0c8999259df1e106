import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import * as L from '../../src/index.ts';
import { runUntil } from '../support/net.ts';

describe('moving a live socket bufferevent to another thread', () => {
  it('keeps the bytes buffered in both directions, in order, and the connection goes on there', async () => {
    const base = L.event_base_new();
    let server: L.Bufferevent | null = null;
    const lev = L.evconnlistener_new_bind(base, (_l, s) => {
      server = L.bufferevent_socket_new(base, s, L.BEV_OPT_CLOSE_ON_FREE)!;
      L.bufferevent_enable(server, L.EV_READ);
      L.bufferevent_disable(server, L.EV_WRITE); // output waits in the buffer
      L.bufferevent_write(server, 'queued ');
    }, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
    const client = net.connect(L.evconnlistener_get_port(lev), '127.0.0.1');
    let received = '';
    let onData: (() => void) | null = null;
    client.on('data', (d) => {
      received += d.toString();
      onData?.();
    });
    const receivedAtLeast = (n: number): Promise<void> =>
      new Promise((resolve) => {
        onData = () => received.length >= n && resolve();
        onData();
      });
    await once(client, 'connect');
    client.write('hello ');
    await runUntil(base, () => server !== null && L.evbuffer_get_length(L.bufferevent_get_input(server)) === 6);
    expect(L.evbuffer_get_length(L.bufferevent_get_output(server!))).toBe(7);
    const detached = await L.bufferevent_socket_detach(server!);
    expect(Buffer.from(detached.input).toString()).toBe('hello ');
    expect(Buffer.from(detached.output).toString()).toBe('queued ');
    expect(() => L.bufferevent_get_enabled(server!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    const w = new Worker(new URL('../fixtures/move-worker.ts', import.meta.url));
    const attached = once(w, 'message');
    w.postMessage({ detached }, [detached.socket as never]);
    expect((await attached)[0]).toEqual({ attached: true });
    await receivedAtLeast('queued hello '.length); // the carried input is delivered without new data arriving
    client.write('world');
    await receivedAtLeast('queued hello world'.length);
    expect(received).toBe('queued hello world'); // queued output first, then the buffered input echoed, then new data
    const closed = once(w, 'message');
    client.end();
    expect((await closed)[0]).toEqual({ closed: true });
    await once(w, 'exit');
    client.destroy();
    L.evconnlistener_free(lev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});
