import { Arena, localArena, W_BELL, W_MAILBOX } from './arena.ts';
import { mailboxPost, mailboxTake, KIND_BEV } from './mailbox.ts';

/**
 * Owner-side plumbing for cross-thread requests.
 *
 * - `postToOwner(arena, notifyOff, h, bits)` (any thread): OR the bits into the object's notify word, enqueue the
 *   object in the owner's mailbox if it was not queued, and ring the owner's doorbell (Atomics.add + notify on the
 *   arena's bell word). Wake-ups coalesce: the owner drains everything queued per wake.
 * - The owner registers each object that other threads can reach (`registerOwned`), and listens on its own arena's
 *   doorbell while one of its event bases is looping (`listen`/`unlisten`): an `Atomics.waitAsync` on the bell word.
 *   A pending waitAsync does not keep Node alive; the looping base holds its own ref'd handle.
 *
 * @thread registry and listening: owner thread only; postToOwner: any thread
 */
export interface OwnedObject {
  /** Deliver request bits that another thread posted (runs on the owner thread). */
  remoteRequest(bits: number): void;
}

const owned = new Map<number, { obj: OwnedObject; notifyOff: number }>();

export function registerOwned(h: number, notifyOff: number, obj: OwnedObject): void {
  owned.set(h, { obj, notifyOff });
}

export function unregisterOwned(a: Arena, h: number): void {
  if (a === maybeLocal()) owned.delete(h);
}

export function isRegistered(h: number): boolean {
  return owned.has(h);
}

export function ownedObject(h: number): OwnedObject | undefined {
  return owned.get(h)?.obj;
}

let local: Arena | null = null;
function maybeLocal(): Arena {
  return (local ??= localArena());
}

export function postToOwner(a: Arena, notifyOff: number, h: number, bits: number, kind = KIND_BEV): void {
  const i32 = a.i32;
  if (mailboxPost(i32, i32[W_MAILBOX]! >>> 0, notifyOff, h, kind, bits)) {
    Atomics.add(i32, W_BELL, 1); // publish: there is mail (pairs with the owner's Atomics.load of the bell)
    Atomics.notify(i32, W_BELL);
  }
}

/**
 * Where an error thrown by user code during a delivery goes (an evbuffer callback run for another thread's change):
 * to the most recent looping event base, whose loop then rejects with it, as for a throwing callback of its own.
 * With no base looping, the error waits for the next one.
 */
export type DeliveryErrorSink = (err: unknown) => void;
const sinks: DeliveryErrorSink[] = [];
const undelivered: unknown[] = [];

/** Hand an error from a delivery to the looping base (see DeliveryErrorSink). @thread owner */
export function reportDeliveryError(err: unknown): void {
  const sink = sinks[sinks.length - 1];
  if (sink !== undefined) sink(err);
  else undelivered.push(err);
}

/**
 * Take the mail and hand each object its request bits. One object's failure does not stop the others' delivery:
 * errors go to reportDeliveryError. @thread owner
 */
export function deliverMail(): void {
  const a = maybeLocal();
  a.sync();
  const i32 = a.i32;
  const { entries, overflow } = mailboxTake(i32, i32[W_MAILBOX]! >>> 0);
  const visit = (h: number): void => {
    const e = owned.get(h);
    if (!e) return;
    const bits = Atomics.exchange(i32, e.notifyOff >>> 2, 0);
    if (bits === 0) return;
    try {
      e.obj.remoteRequest(bits);
    } catch (err) {
      reportDeliveryError(err);
    }
  };
  for (let k = 0; k < entries.length; k += 2) visit(entries[k]! >>> 0);
  if (overflow) for (const h of [...owned.keys()]) visit(h);
}

let listeners = 0;
let waiting = false;

/**
 * Start watching this thread's doorbell (counted: one per looping event base); `sink` receives errors thrown by
 * user code during deliveries while this base is the most recent one looping. @thread owner
 */
export function listen(sink: DeliveryErrorSink): void {
  sinks.push(sink);
  listeners++;
  while (undelivered.length > 0) sink(undelivered.shift());
  if (listeners === 1) ring();
}

export function unlisten(sink: DeliveryErrorSink): void {
  const i = sinks.lastIndexOf(sink);
  if (i >= 0) sinks.splice(i, 1);
  listeners--;
}

/**
 * Read the bell, deliver the mail, then wait for the bell to move from the value read *before* delivering. A post that
 * lands during delivery (after the mail was taken) has moved the bell past that value, so the wait returns at once:
 * no wake-up is lost. (Reading the bell after delivering would wait on a value that already counts that post.)
 */
function ring(): void {
  if (listeners === 0 || waiting) return;
  const i32 = maybeLocal().i32;
  const seen = Atomics.load(i32, W_BELL);
  try {
    deliverMail();
  } catch (err) {
    reportDeliveryError(err); // the mailbox itself failed: report it, and keep listening all the same
  }
  const r = Atomics.waitAsync(maybeLocal().i32, W_BELL, seen);
  if (!r.async) {
    queueMicrotask(ring); // the bell moved already: deliver again
    return;
  }
  waiting = true;
  void r.value.then(() => {
    waiting = false;
    ring();
  });
}
