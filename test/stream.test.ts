import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../src/index.ts';
import { prng, randBytes } from './support/prng.ts';

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
