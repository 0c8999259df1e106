import * as L from '../index.ts';
import { prng, randInt } from './prng.ts';
export { prng, randInt };
import type { EventBase } from '../event/base.ts';

/**
 * What a scenario's code sees on a worker thread, and the shared words the actors of one trial publish.
 *
 * Slots (Int32, SLOT_WORDS per actor, written by that actor only with Atomics.store, read by anyone):
 *
 * | word | field    | meaning                                                                           |
 * |------|----------|-----------------------------------------------------------------------------------|
 * | 0    | REC      | records: seq * 4 + phase; phase 0 idle (seq records done), 1 a locked record under |
 * |      |          | way (START is valid, the actor holds the lock), 2 an unlocked add under way        |
 * | 1    | START    | buffer length when the locked record began                                        |
 * | 2    | BYTES    | bytes of completed records (low 31 bits)                                          |
 * | 3    | LOCKED   | 1 between a user lock call's return and the matching unlock call, else 0           |
 * | 4    | PROGRESS | operations done                                                                   |
 * | 5    | DONE     | 1 when the actor finished its operations                                          |
 */
export const SLOT_WORDS = 8;
export const S_REC = 0;
export const S_START = 1;
export const S_BYTES = 2;
export const S_LOCKED = 3;
export const S_PROGRESS = 4;
export const S_DONE = 5;

export type Inject = 'skip-lock' | null;

export interface TrialParams {
  scenario: string;
  actors: number;
  ops: number;
  seed: number;
  controlled: boolean;
  inject: Inject;
  kill: boolean;
  trace: boolean;
  /** a user harness module (the 'user' scenario) */
  module?: string;
}

export interface SetupCtx {
  base: EventBase;
  params: TrialParams;
}

export interface ActorCtx {
  index: number;
  params: TrialParams;
  /** handles imported from what the setup shared */
  shared: Record<string, unknown>;
  rng: () => number;
  slots: Int32Array;
  /** the real-time counter of the model checks */
  ticket: Int32Array;
  /** one line per operation, in order, when tracing */
  trace: string[] | null;
  lockWait: number[];
  lockHold: number[];
  /** ERR_BEV_OWNER_DIED reports this actor received */
  told: number;
}

export function slot(ctx: { slots: Int32Array }, actor: number, word: number): number {
  return Atomics.load(ctx.slots, actor * SLOT_WORDS + word);
}
export function setSlot(ctx: ActorCtx, word: number, v: number): void {
  Atomics.store(ctx.slots, ctx.index * SLOT_WORDS + word, v);
}

/** A record size from 1 B to 64 KiB, mostly small. */
export function recordSize(r: () => number): number {
  const k = r();
  if (k < 0.7) return randInt(r, 1, 256);
  if (k < 0.95) return randInt(r, 257, 4096);
  return randInt(r, 4097, 64 * 1024 - 16);
}

/** Ticket for the model checks' real-time order. */
export function tick(ctx: ActorCtx): number {
  return Atomics.add(ctx.ticket, 0, 1);
}

export function errCode(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : String(e);
}

const now = (): number => performance.now();

/**
 * A user-facing lock call, timed. ERR_BEV_OWNER_DIED (the previous holder died: this actor holds the lock now and
 * must make the data whole) runs `repair`, then carries on as a normal acquisition.
 */
export function timedLock(ctx: ActorCtx, lock: () => void, repair: () => void): number {
  const t0 = now();
  try {
    lock();
  } catch (e) {
    if (errCode(e) !== 'ERR_BEV_OWNER_DIED') throw e;
    ctx.told++;
    if (ctx.trace) ctx.trace.push('  told ERR_BEV_OWNER_DIED: repairing');
    repair();
  }
  const t1 = now();
  if (ctx.lockWait.length < 20_000) ctx.lockWait.push((t1 - t0) * 1000);
  setSlot(ctx, S_LOCKED, 1);
  return t1;
}

export function timedUnlock(ctx: ActorCtx, since: number, unlock: () => void): void {
  if (ctx.lockHold.length < 20_000) ctx.lockHold.push((now() - since) * 1000);
  setSlot(ctx, S_LOCKED, 0);
  unlock();
}

export function evbufferLocked(ctx: ActorCtx, buf: L.Evbuffer, repair: () => void): number {
  return timedLock(ctx, () => L.evbuffer_lock(buf), repair);
}
export function evbufferUnlock(ctx: ActorCtx, buf: L.Evbuffer, since: number): void {
  timedUnlock(ctx, since, () => L.evbuffer_unlock(buf));
}

/** Let the owner thread's event loop run until `done()`, or until `progress()` stood still for `idleMs`. */
export async function loopUntil(done: () => boolean, progress: () => number, idleMs = 5000): Promise<boolean> {
  let last = progress();
  let since = now();
  while (!done()) {
    await new Promise<void>((r) => setImmediate(r));
    const p = progress();
    if (p !== last) {
      last = p;
      since = now();
    } else if (now() - since > idleMs) return false;
  }
  return true;
}
