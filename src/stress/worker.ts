/**
 * A thread of `bufferevent stress` (src/stress/engine.ts starts one per actor). It runs an event base all the time
 * (so the owner of a trial's objects delivers foreign requests), and on the coordinator's messages:
 * - { type: 'setup', params }: (the owner, actor 0) make the trial's objects; reply { shared } with every
 *   Bufferevent/Evbuffer exported;
 * - { type: 'run', params, shared, slots, ticket, control }: import the handles and run this thread's actor, free
 *   or under the controlled scheduler; reply { result };
 * - { type: 'collect', params }: (the owner) the scenario's collect step; reply { collected }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as L from '../index.ts';
import { Bufferevent } from '../bufferevent/core.ts';
import { Evbuffer } from '../evbuffer/evbuffer.ts';
import { ControlledActor, StressAbort } from './scheduler.ts';
import { errCode, prng, type ActorCtx, type TrialParams } from './actor.ts';
import type { ActorResult, Scenario } from './scenario.ts';
import { scenarioByName } from './scenarios/index.ts';
import { userScenario } from './user.ts';

const port = parentPort!;
const index = (workerData as { index: number }).index;
const base = L.event_base_new();
void L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY);

let state: Record<string, unknown> = {};
let ownerLocal: unknown = undefined;
let told = 0;

async function resolve(p: TrialParams): Promise<Scenario> {
  if (p.module !== undefined) return userScenario(p.module);
  const s = scenarioByName(p.scenario);
  if (!s) throw new Error(`unknown scenario ${p.scenario}`);
  return s;
}

function exportAll(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Bufferevent) out[k] = L.bufferevent_export(v);
    else if (v instanceof Evbuffer) out[k] = L.evbuffer_export(v);
  }
  return out;
}

function importAll(desc: Record<string, unknown>): Record<string, unknown> {
  if (index === 0) return state; // the owner uses its own objects
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(desc)) {
    out[k] = (v as { __bufferevent?: 1 }).__bufferevent ? L.bufferevent_import(v as L.SharedBufferevent) : L.evbuffer_import(v as L.SharedEvbuffer);
  }
  return out;
}

interface RunMessage {
  params: TrialParams;
  shared: Record<string, unknown>;
  slots: SharedArrayBuffer;
  ticket: SharedArrayBuffer;
  control: SharedArrayBuffer | null;
}

/** End this thread at once, as a crash would: process.exit in a worker stops only the worker. */
function die(): never {
  const parked = new Int32Array(new SharedArrayBuffer(4));
  const exit = process.exit as (code: number) => void;
  exit(0);
  for (;;) Atomics.wait(parked, 0, 0); // parked until the termination takes effect
}

async function run(m: RunMessage): Promise<ActorResult> {
  const sc = await resolve(m.params);
  const ctx: ActorCtx = {
    index,
    params: m.params,
    shared: importAll(m.shared),
    rng: prng((m.params.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0),
    slots: new Int32Array(m.slots),
    ticket: new Int32Array(m.ticket),
    trace: m.params.trace ? [] : null,
    lockWait: [],
    lockHold: [],
    told: 0,
  };
  let res: ActorResult;
  if (m.control !== null) {
    const actor = new ControlledActor(m.control, index, die);
    try {
      actor.begin();
      res = sc.actor(ctx) as ActorResult;
    } catch (e) {
      res = { ops: 0, told: ctx.told, error: e instanceof StressAbort ? 'aborted' : `${errCode(e)}: ${(e as Error).message ?? e}` };
    } finally {
      actor.end();
    }
  } else {
    // free run: start together
    Atomics.add(ctx.ticket, 1, 1);
    while (Atomics.load(ctx.ticket, 1) < m.params.actors) Atomics.wait(ctx.ticket, 1, Atomics.load(ctx.ticket, 1), 5);
    try {
      res = await sc.actor(ctx);
    } catch (e) {
      res = { ops: 0, told: ctx.told, error: `${errCode(e)}: ${(e as Error).message ?? e}` };
    }
  }
  if (index === 0) {
    ownerLocal = res.local;
    told = ctx.told;
  }
  return { ops: res.ops, told: res.told, data: res.data, error: res.error, trace: ctx.trace ?? undefined, lockWait: ctx.lockWait, lockHold: ctx.lockHold };
}

port.on('message', (m: { type: string; params: TrialParams } & Partial<RunMessage>) => {
  const reply = (type: string, body: Record<string, unknown>): void => port.postMessage({ type, ...body });
  const fail = (e: unknown): void => reply('error', { error: `${errCode(e)}: ${(e as Error)?.stack ?? e}` });
  if (m.type === 'setup') {
    void (async () => {
      const sc = await resolve(m.params);
      state = await sc.setup({ base, params: m.params });
      reply('setup', { shared: exportAll(state) });
    })().catch(fail);
  } else if (m.type === 'run') {
    run(m as RunMessage).then((result) => reply('result', { result }), fail);
  } else if (m.type === 'collect') {
    void (async () => {
      const sc = await resolve(m.params);
      const collected = await sc.collect({ params: m.params, state, ownerData: ownerLocal, slots: new Int32Array(m.slots!), told });
      state = {};
      ownerLocal = undefined;
      reply('collect', { collected });
    })().catch(fail);
  }
});
port.postMessage({ type: 'ready' });
