import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../../src/index.ts';
import { Registry, registryMemory } from '../../src/runtime/registry.ts';
import { tcpPair } from '../support/net.ts';

const handler = new URL('../fixtures/registry-handler.ts', import.meta.url);

function threadsafePair(base: L.EventBase): [L.Bufferevent, L.Bufferevent] {
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
  return pair as [L.Bufferevent, L.Bufferevent];
}

/** Resolves with the next `ev` event for `key`. */
function next(reg: Registry, ev: 'join' | 'leave', key: string): Promise<void> {
  return new Promise((resolve) => {
    const fn = (k: string): void => {
      if (k !== key) return;
      reg.off(ev, fn);
      resolve();
    };
    reg.on(ev, fn);
  });
}

/** A line-oriented client: `line()` resolves with the next line received. */
async function client(port: number): Promise<{ sock: net.Socket; send(s: string): void; line(): Promise<string> }> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let buf = '';
  const waiting: Array<(s: string) => void> = [];
  const lines: string[] = [];
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    sock,
    send: (s) => sock.write(`${s}\n`),
    line: () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((r) => waiting.push(r))),
  };
}

describe('registry: published bufferevents under keys', () => {
  it('publish, lookup, keys and unpublish on one thread; lookup of the owner gives its own object', () => {
    const base = L.event_base_new();
    const reg = new Registry(registryMemory(8), -1);
    const [a, b] = threadsafePair(base);
    reg.publish('alpha', a);
    reg.publish('β-key', b);
    expect(reg.lookup('alpha')).toBe(a);
    expect(reg.lookup('β-key')).toBe(b);
    expect(reg.lookup('gamma')).toBeNull();
    expect(reg.keys().sort()).toEqual(['alpha', 'β-key']);
    expect(reg.size).toBe(2);
    expect(reg.ownerOf('alpha')).toBe(-1);
    expect(reg.unpublish('alpha')).toBe(true);
    expect(reg.unpublish('alpha')).toBe(false);
    expect(reg.lookup('alpha')).toBeNull();
    L.bufferevent_free(a!);
    L.bufferevent_free(b!);
    L.event_base_free(base);
  });

  it('bad keys and bufferevents give coded errors; a live key cannot be published twice; a full table says so', () => {
    const base = L.event_base_new();
    const reg = new Registry(registryMemory(8), -1);
    const [a, b] = threadsafePair(base);
    expect(() => reg.publish('', a)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => reg.publish('x'.repeat(L.REGISTRY_KEY_MAX + 1), a)).toThrow(RangeError);
    expect(() => reg.publish(7 as unknown as string, a)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => reg.publish('k', {} as L.Bufferevent)).toThrow(TypeError);
    const plain: L.Bufferevent[] = [];
    L.bufferevent_pair_new(base, 0, plain);
    expect(() => reg.publish('k', plain[0]!)).toThrow(expect.objectContaining({ code: 'ERR_BEV_NOT_THREADSAFE' }));
    reg.publish('k', a);
    expect(() => reg.publish('k', b)).toThrow(expect.objectContaining({ code: 'ERR_BEV_KEY_EXISTS' }));
    for (let i = 1; i < reg.capacity; i++) reg.publish(`k${i}`, b);
    expect(() => reg.publish('one-more', b)).toThrow(expect.objectContaining({ code: 'ERR_BEV_REGISTRY_FULL', name: 'RangeError' }));
    for (const x of [...plain, a, b]) L.bufferevent_free(x!);
    L.event_base_free(base);
  });

  it('churn far past the capacity keeps working (removed slots are reused, probes stay bounded)', () => {
    const base = L.event_base_new();
    const reg = new Registry(registryMemory(4), -1);
    const [a, b] = threadsafePair(base);
    for (let i = 0; i < 5000; i++) {
      reg.publish(`c${i}`, a);
      if (i % 3 === 0) reg.publish(`d${i}`, b);
      expect(reg.lookup(`c${i}`)).toBe(a);
      reg.unpublish(`c${i}`);
      if (i % 3 === 0) reg.unpublish(`d${i}`);
      expect(reg.lookup(`c${i}`)).toBeNull();
    }
    expect(reg.size).toBe(0);
    L.bufferevent_free(a!);
    L.bufferevent_free(b!);
    L.event_base_free(base);
  });

  it('a published bufferevent leaves when it is finalized: a leave event, and lookup gives null', async () => {
    const base = L.event_base_new();
    const reg = new Registry(registryMemory(8), -1);
    const [a, b] = threadsafePair(base);
    const joined = next(reg, 'join', 'a');
    reg.publish('a', a);
    await joined;
    const left = next(reg, 'leave', 'a');
    L.bufferevent_free(a!);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // finalization runs from the loop
    await left;
    expect(reg.lookup('a')).toBeNull();
    expect(reg.keys()).toEqual([]);
    reg.close();
    L.bufferevent_free(b!);
    L.event_base_free(base);
  });

  it('a published connection that is detached to move it leaves; attached again it can be published again', async () => {
    const base = L.event_base_new();
    const reg = new Registry(registryMemory(8), -1);
    const { client, server } = await tcpPair();
    const bev = L.bufferevent_socket_new(base, server, L.BEV_OPT_CLOSE_ON_FREE | L.BEV_OPT_THREADSAFE)!;
    const joined = next(reg, 'join', 'conn');
    reg.publish('conn', bev);
    await joined;
    const left = next(reg, 'leave', 'conn');
    const detached = await L.bufferevent_socket_detach(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // the old bufferevent is finalized from the loop
    await left;
    expect(reg.lookup('conn')).toBeNull();
    const moved = L.bufferevent_socket_attach(base, detached)!;
    const back = next(reg, 'join', 'conn');
    reg.publish('conn', moved);
    await back;
    expect(reg.lookup('conn')).toBe(moved);
    reg.close();
    L.bufferevent_free(moved);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    client.destroy();
    L.event_base_free(base);
  });

  it('across workers: a connection on one worker writes into a connection published by another', async () => {
    const rt = await L.startRuntime({ module: handler, workers: 2 });
    try {
      const joinedA = next(rt.registry, 'join', 'a');
      const joinedB = next(rt.registry, 'join', 'b');
      const a = await client(rt.port);
      a.send('a');
      expect(await a.line()).toBe('published a on 0');
      const b = await client(rt.port);
      b.send('b');
      expect(await b.line()).toBe('published b on 1');
      await Promise.all([joinedA, joinedB]);
      expect(rt.registry.ownerOf('a')).toBe(0);
      expect(rt.registry.ownerOf('b')).toBe(1);
      a.send('send b hello from worker 0');
      expect(await b.line()).toBe('a:hello from worker 0');
      b.send('send a and back');
      expect(await a.line()).toBe('b:and back');
      // the main thread can write into a worker's connection too
      L.bufferevent_write(rt.registry.lookup('a')!, 'from main\n');
      expect(await a.line()).toBe('from main');
      // a connection closing leaves
      const leftA = next(rt.registry, 'leave', 'a');
      a.sock.end();
      await leftA;
      b.send('send a nobody');
      expect(await b.line()).toBe('no a');
      b.sock.destroy();
    } finally {
      await rt.close();
    }
  });

  it('the entries of a worker that died leave, on every thread', async () => {
    const rt = await L.startRuntime({ module: handler, workers: 2, restart: false });
    try {
      const a = await client(rt.port);
      a.send('on-zero');
      expect(await a.line()).toBe('published on-zero on 0');
      const b = await client(rt.port);
      b.send('on-one');
      expect(await b.line()).toBe('published on-one on 1');
      const left = next(rt.registry, 'leave', 'on-zero');
      a.sock.on('error', () => {});
      a.send('exit');
      await left;
      expect(rt.registry.lookup('on-zero')).toBeNull();
      b.send('send on-zero hi');
      expect(await b.line()).toBe('no on-zero');
      b.sock.destroy();
      a.sock.destroy();
    } finally {
      await rt.close();
    }
  });
});
