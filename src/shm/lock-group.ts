import type { Arena } from './arena.ts';
import { L_GROUP } from './arena.ts';
import { rlockAssertHeld, rlockMarkValidated } from './rlock.ts';

/**
 * Lock groups: what one lock protects, so that the thread that acquires a lock after its holder died can check and
 * repair all of it at once, whichever object it came through.
 *
 * A lock made by Arena.newLock has a `group` word (arena.ts, L_GROUP): the first member, as `header offset | kind`
 * (headers are 8-aligned, so the kind fits in the low 3 bits). Each kind says how to repair one member and which
 * member follows it:
 * - GROUP_EVBUFFER: a standalone locked evbuffer (`evbuffer_enable_locking`); it is the only member.
 * - GROUP_BUFFEREVENT: a bufferevent and its two evbuffers; the bufferevents sharing one lock (a pair, a filter and
 *   its underlying) are chained through a word of their headers (src/bufferevent/core.ts).
 * Members are added and removed under the lock itself; the group word is read only by a holder of the lock.
 */
export const GROUP_EVBUFFER = 1;
export const GROUP_BUFFEREVENT = 2;
const KIND_MASK = 7;

/** Repair one member after a holder died; returns the next member (`h | kind`), 0 at the end. @locks held */
export type GroupRepair = (a: Arena, h: number) => number;
const kinds: (GroupRepair | undefined)[] = [];

/** Register the repair of a kind (done once by the module that owns the kind's layout). */
export function defineGroupKind(kind: number, repair: GroupRepair): void {
  kinds[kind] = repair;
}

export function groupMember(h: number, kind: number): number {
  return h | kind;
}

/** The first member of the lock's group (`h | kind`), 0 if none. @locks held */
export function groupHead(a: Arena, lockOff: number): number {
  return a.i32[(lockOff + L_GROUP) >>> 2]! >>> 0;
}
export function setGroupHead(a: Arena, lockOff: number, member: number): void {
  rlockAssertHeld(a.i32, lockOff);
  a.i32[(lockOff + L_GROUP) >>> 2] = member;
}

/**
 * After acquiring a lock whose holder died: repair every member of its group, then mark the lock validated (the
 * OWNER_DIED flag stays for the user-facing lock calls to report). Returns false when the group is empty (the caller
 * then repairs what it knows). @locks held
 */
export function recoverGroup(a: Arena, lockOff: number): boolean {
  let m = groupHead(a, lockOff);
  if (m === 0) return false;
  for (let n = 0; m !== 0 && n < 1 << 16; n++) {
    const repair = kinds[m & KIND_MASK];
    if (repair === undefined) break;
    m = repair(a, m & ~KIND_MASK);
  }
  rlockMarkValidated(a.i32, lockOff);
  return true;
}
