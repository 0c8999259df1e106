import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';
import { Helper } from '../support/worker.ts';
import { runUntil } from '../support/net.ts';

/**
 * A read callback on the owner signals a worker to write into the same bufferevent, then watches the worker.
 * With locked callbacks the worker's write waits for the callback to return (the lock is held); with
 * DEFER|UNLOCK_CALLBACKS it completes while the callback is still running.
 */
async function scenario(options: number): Promise<string> {
  const base = L.event_base_new();
  const pair: L.Bufferevent[] = [];
  L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE | options, pair);
  const gateSab = new SharedArrayBuffer(4);
  const gate = new Int32Array(gateSab);
  const h = new Helper('bev-worker.ts');
  const written = h.call({ op: 'write-on-gate', shared: L.bufferevent_export(pair[0]!), gate: gateSab, data: 'from B' });
  let seen = '';
  L.bufferevent_setcb(pair[1]!, () => {
    if (seen) return;
    Atomics.store(gate, 0, 1); // go
    Atomics.notify(gate, 0);
    while (Atomics.load(gate, 0) === 1) Atomics.wait(gate, 0, 1, 1000); // handshake: B is about to write
    // B now calls bufferevent_write. Either it completes while we are still here (gate 3), or it is blocked on the
    // lock we hold; the bounded wait below only observes which (it does not sequence anything).
    Atomics.wait(gate, 0, 2, 300);
    seen = Atomics.load(gate, 0) === 3 ? 'completed during the callback' : 'blocked until the callback returned';
  }, null, null, null);
  L.bufferevent_enable(pair[1]!, L.EV_READ);
  L.bufferevent_write(pair[0]!, 'from A');
  await runUntil(base, () => seen !== '');
  expect((await written).result).toBe('written'); // in both cases the write completes in the end
  await h.close();
  L.bufferevent_free(pair[0]!);
  L.bufferevent_free(pair[1]!);
  L.event_base_free(base);
  return seen;
}

describe('callbacks and the bufferevent lock across threads', () => {
  it('a foreign write blocks while a locked (default) callback runs', async () => {
    expect(await scenario(0)).toBe('blocked until the callback returned');
  });

  it('a foreign write completes during a callback run with BEV_OPT_UNLOCK_CALLBACKS', async () => {
    expect(await scenario(L.BEV_OPT_DEFER_CALLBACKS | L.BEV_OPT_UNLOCK_CALLBACKS)).toBe('completed during the callback');
  });
});
