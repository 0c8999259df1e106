import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../src/index.ts';

const handler = new URL('./fixtures/echo-handler.ts', import.meta.url);

describe('explicit resource management: using / await using', () => {
  it('a bufferevent, an evbuffer and a listener are freed at the end of their scope; the base after a last turn', async () => {
    let bevRef: L.Bufferevent;
    let bufRef: L.Evbuffer;
    let levRef: L.Evconnlistener;
    let baseRef: L.EventBase;
    {
      await using base = L.event_base_new();
      baseRef = base;
      {
        using buf = L.evbuffer_new();
        using bev = L.bufferevent_socket_new(base, -1, 0)!;
        using lev = L.evconnlistener_new_bind(base, () => {}, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
        L.evbuffer_add(buf, 'x');
        bufRef = buf;
        bevRef = bev;
        levRef = lev;
      }
      expect(() => L.evbuffer_get_length(bufRef)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
      expect(() => L.bufferevent_enable(bevRef, L.EV_READ)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
      expect(() => L.evconnlistener_get_port(levRef)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
    }
    await expect(L.event_base_loop(baseRef, L.EVLOOP_NONBLOCK)).rejects.toMatchObject({ code: 'ERR_BEV_FREED' });
  });

  it('disposing what was already freed does nothing', async () => {
    await using base = L.event_base_new();
    using bev = L.bufferevent_socket_new(base, -1, 0)!;
    using buf = L.evbuffer_new();
    L.bufferevent_free(bev);
    L.evbuffer_free(buf);
  });

  it('a runtime closes at the end of its scope: no worker or socket is left', async () => {
    let port = 0;
    {
      await using rt = await L.startRuntime({ module: handler, workers: 1 });
      port = rt.port;
      const s = net.connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.write('hi\n');
      await once(s, 'data');
      s.end();
      await once(s, 'close');
    }
    const probe = net.connect(port, '127.0.0.1');
    const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
