import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../src/index.ts';
import { prng, randBytes } from './support/prng.ts';
import { runUntil } from './support/net.ts';

describe('a Duplex stream over a bufferevent', () => {
  it('echoes 2 MiB through a socket bufferevent with backpressure, then ends on EOF', async () => {
    const base = L.event_base_new();
    let duplex: L.BuffereventDuplex | null = null;
    const lev = L.evconnlistener_new_bind(base, (_l, s) => {
      duplex = L.bufferevent_stream(L.bufferevent_socket_new(base, s, L.BEV_OPT_CLOSE_ON_FREE)!, { highWaterMark: 16384 });
      duplex.on('data', (d: Buffer) => {
        if (!duplex!.write(d)) {
          duplex!.pause();
          duplex!.once('drain', () => duplex!.resume());
        }
      });
      duplex.on('end', () => duplex!.end());
      duplex.on('finish', () => {
        duplex!.destroy();
        L.evconnlistener_free(lev!);
      });
    }, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
    const loop = L.event_base_dispatch(base); // the stream's callbacks run while the base loops
    const data = Buffer.from(randBytes(prng(42), 2 * 1024 * 1024));
    const client = net.connect(L.evconnlistener_get_port(lev), '127.0.0.1');
    const got: Buffer[] = [];
    client.on('data', (d) => got.push(d));
    await once(client, 'connect');
    client.end(data);
    await once(client, 'end');
    expect(Buffer.concat(got).equals(data)).toBe(true);
    client.destroy();
    expect(await loop).toBe(1); // everything was freed: the loop ran out of events
    L.event_base_free(base);
  });

  it('end() sends FIN once the output has drained, and bytes already buffered are read', async () => {
    const base = L.event_base_new();
    let duplex: L.BuffereventDuplex | null = null;
    const lev = L.evconnlistener_new_bind(base, (_l, s) => {
      const bev = L.bufferevent_socket_new(base, s, L.BEV_OPT_CLOSE_ON_FREE)!;
      duplex = L.bufferevent_stream(bev);
      duplex.on('data', (d: Buffer) => duplex!.end(`got ${d.toString()}`)); // reply, then half-close
    }, null, L.LEV_OPT_CLOSE_ON_FREE, -1, { family: 'IPv4', address: '127.0.0.1', port: 0 })!;
    const loop = L.event_base_dispatch(base);
    const client = net.connect({ port: L.evconnlistener_get_port(lev), host: '127.0.0.1', allowHalfOpen: true });
    let reply = '';
    client.on('data', (d) => (reply += d.toString()));
    await once(client, 'connect');
    client.write('ping');
    await once(client, 'end'); // the peer saw our FIN
    expect(reply).toBe('got ping');
    client.end();
    duplex!.destroy();
    L.evconnlistener_free(lev);
    client.destroy();
    expect(await loop).toBe(1);
    L.event_base_free(base);
  });
});

describe('the Duplex and the bufferevent\'s watermarks and errors', () => {
  it('a write is acknowledged at once below the write high watermark, and only at the low watermark above it', async () => {
    const base = L.event_base_new();
    const pair: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, pair);
    const [a, b] = pair as [L.Bufferevent, L.Bufferevent];
    L.bufferevent_setwatermark(a, L.EV_WRITE, 100, 1000);
    const duplex = L.bufferevent_stream(a);
    const acks: number[] = [];
    duplex.write(Buffer.alloc(500), () => acks.push(500)); // below 1000: at once
    await new Promise((r) => setImmediate(r)); // (a stream's write callbacks come on the next tick)
    expect(acks).toEqual([500]);
    duplex.write(Buffer.alloc(600), () => acks.push(600)); // 1100 queued: waits (b does not read)
    for (let k = 0; k < 10; k++) await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    expect(acks).toEqual([500]);
    L.bufferevent_enable(b, L.EV_READ); // b reads: a's output drains below 100, its write callback acknowledges
    L.bufferevent_setcb(b, (x) => L.evbuffer_drain(L.bufferevent_get_input(x), Infinity), null, null, null);
    await runUntil(base, () => acks.length === 2);
    expect(acks).toEqual([500, 600]);
    duplex.destroy();
    L.bufferevent_free(b);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });

  it('a connection reset destroys it with a Node-style system error (ECONNRESET, read) of the library\'s class', async () => {
    const base = L.event_base_new();
    const srv = net.createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as net.AddressInfo).port;
    const accepted = once(srv, 'connection');
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = (await accepted) as [net.Socket];
    const duplex = L.bufferevent_stream(L.bufferevent_socket_new(base, client, L.BEV_OPT_CLOSE_ON_FREE)!);
    let error: (Error & Record<string, unknown>) | null = null;
    duplex.on('error', (e: Error & Record<string, unknown>) => (error = e));
    duplex.resume();
    peer.resetAndDestroy();
    await runUntil(base, () => error !== null);
    expect(error).toMatchObject({ code: 'ECONNRESET', syscall: 'read', address: '127.0.0.1', port });
    expect(error).toBeInstanceOf(L.BuffereventError);
    expect((error!.bevEvents as number) & L.BEV_EVENT_ERROR).toBeTruthy();
    srv.close();
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
  });
});
