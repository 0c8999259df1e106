import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

describe('base.loop with an AbortSignal', () => {
  it('an abort ends a running loop; the promise rejects with an AbortError carrying the reason', async () => {
    const base = L.event_base_new();
    const ac = new AbortController();
    let ticks = 0;
    const t = L.event_new(base, -1, L.EV_PERSIST, () => {
      if (++ticks === 3) ac.abort(new Error('enough'));
    }, null);
    L.event_add(t, { tv_sec: 0, tv_usec: 1000 });
    const err = (await base.loop(0, { signal: ac.signal }).then(() => null, (e: unknown) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((err.cause as Error).message).toBe('enough');
    expect(ticks).toBe(3); // the loop stopped at the abort, as with event_base_loopbreak
    expect(await base.loop(L.EVLOOP_NONBLOCK)).toBe(0); // and can run again
    L.event_free(t);
    L.event_base_free(base);
  });

  it('an already aborted signal rejects at once; { signal } alone means flags 0; bad options are TypeErrors', async () => {
    const base = L.event_base_new();
    await expect(base.loop({ signal: AbortSignal.abort('no') } as unknown as number)).rejects.toMatchObject({ name: 'AbortError', cause: 'no' });
    await expect(base.loop(0, { signal: 'x' as unknown as AbortSignal })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    const ac = new AbortController();
    const keep = L.event_new(base, -1, L.EV_PERSIST, () => ac.abort(), null); // something pending keeps the loop up
    L.event_add(keep, { tv_sec: 0, tv_usec: 1000 });
    const done = base.loop({ signal: ac.signal } as unknown as number).then(() => 'resolved', (e: Error) => e.name);
    expect(await done).toBe('AbortError');
    L.event_free(keep);
    L.event_base_free(base);
  });
});
