import { describe, it, expect } from 'vitest';
import dc from 'node:diagnostics_channel';
import * as L from '../../src/index.ts';
import { queueForeignWrite } from '../../src/evbuffer/remote-write.ts';

/**
 * The queue a foreign handle's additions wait in when taking the lock would close a wait cycle: it is added in order
 * once the lock is free, and a drop (the buffer freed or its end frozen first) is published, never silent.
 */
describe('queued additions of a foreign handle', () => {
  function watchDrops(): { drops: Array<{ writes: number; bytes: number; reason: string }>; stop: () => void } {
    const drops: Array<{ writes: number; bytes: number; reason: string }> = [];
    const fn = (m: unknown): void => void drops.push(m as { writes: number; bytes: number; reason: string });
    dc.subscribe('bufferevent:write-dropped', fn);
    return { drops, stop: () => dc.unsubscribe('bufferevent:write-dropped', fn) };
  }
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('are added in order once the lock is taken, and nothing is reported', async () => {
    const w = watchDrops();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    expect(queueForeignWrite(buf, new TextEncoder().encode('one '))).toBe(0);
    expect(queueForeignWrite(buf, new TextEncoder().encode('two'))).toBe(0); // behind the first
    await settle();
    expect(Buffer.from(L.evbuffer_pullup(buf, -1)!).toString()).toBe('one two');
    expect(w.drops).toEqual([]);
    L.evbuffer_free(buf);
    w.stop();
  });

  it('a buffer freed before the lock came free: the drop is published with its count and bytes', async () => {
    const w = watchDrops();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    queueForeignWrite(buf, new Uint8Array(10));
    queueForeignWrite(buf, new Uint8Array(5));
    L.evbuffer_free(buf);
    await settle();
    expect(w.drops).toEqual([{ writes: 2, bytes: 15, reason: 'freed' }]);
    w.stop();
  });

  it('a buffer whose end was frozen first: the drop is published as frozen, and the buffer keeps what it had', async () => {
    const w = watchDrops();
    const buf = L.evbuffer_new();
    L.evbuffer_enable_locking(buf, null);
    L.evbuffer_add(buf, 'kept');
    queueForeignWrite(buf, new Uint8Array(3));
    L.evbuffer_freeze(buf, 0);
    await settle();
    expect(w.drops).toEqual([{ writes: 1, bytes: 3, reason: 'frozen' }]);
    expect(L.evbuffer_get_length(buf)).toBe(4);
    L.evbuffer_free(buf);
    w.stop();
  });
});
