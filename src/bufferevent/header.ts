/**
 * The bufferevent's header in shared memory: its layout (one definition, from which every offset is derived), the
 * request bits a foreign thread posts to the owner, the lifecycle states, and what recovery after a dead lock holder
 * does to it. Every thread that has a handle reads and writes these words; the table says who may write each.
 */
import { defineLayout } from '../shm/layout.ts';
import type { Arena } from '../shm/arena.ts';
import { postToOwner } from '../shm/owner.ts';
import { defineGroupKind, GROUP_BUFFEREVENT } from '../shm/lock-group.ts';
import { H_FLAGS as EVB_FLAGS, F_DEAD, repair as repairBuffer } from '../evbuffer/storage.ts';

const BEV_LOCK = 'bufferevent lock';
/**
 * The shared header of a bufferevent, in the creating thread's arena (8-aligned). "bufferevent lock" means the lock
 * when the bufferevent has one; without one the bufferevent never leaves its owner thread. The generation survives
 * the block's reuse (header-sized blocks are reused only as headers of the same size class). The lock's own counters
 * (acquisitions and waits, from any thread) are in the lock block (arena.ts, LOCK_BYTES).
 *
 * | byte | type | field        | protected by, written by   | meaning                                                                               |
 * |------|------|--------------|----------------------------|---------------------------------------------------------------------------------------|
 * | 0    | i32  | spare0       | arena lock                 | a freed header's free-list link (the lock is the evbuffers' H_LOCK)                   |
 * | 4    | i32  | refcnt       | bufferevent lock           | libevent's refcnt: user + running ops + queued runner + DNS + ...                     |
 * | 8    | i32  | enabled      | bufferevent lock           | EV_READ / EV_WRITE as the user set them (never shows suspension)                      |
 * | 12   | i32  | readSusp     | bufferevent lock           | BEV_SUSPEND_* reasons reading is suspended                                            |
 * | 16   | i32  | writeSusp    | bufferevent lock           | BEV_SUSPEND_* reasons writing is suspended                                            |
 * | 20   | i32  | options      | write-once, creator        | BEV_OPT_* given at creation                                                           |
 * | 24   | i32  | state        | Atomics.or, any thread     | S_DEAD, S_FREEING, S_FINALIZED (read plainly for liveness)                            |
 * | 28   | i32  | owner        | write-once, creator        | THREAD_TAG of the base's thread                                                       |
 * | 32   | f64  | wmReadLow    | bufferevent lock           | read low watermark                                                                    |
 * | 40   | f64  | wmReadHigh   | bufferevent lock           | read high watermark (0 = none)                                                        |
 * | 48   | f64  | wmWriteLow   | bufferevent lock           | write low watermark                                                                   |
 * | 56   | f64  | wmWriteHigh  | bufferevent lock           | write high watermark (0 = none)                                                       |
 * | 64   | f64  | timeoutRead  | bufferevent lock           | read timeout in ms, -1 for none                                                       |
 * | 72   | f64  | timeoutWrite | bufferevent lock           | write timeout in ms, -1 for none                                                      |
 * | 80   | i32  | input        | write-once, creator        | input evbuffer header offset                                                          |
 * | 84   | i32  | output       | write-once, creator        | output evbuffer header offset                                                         |
 * | 88   | i32  | cbPending    | bufferevent lock           | 1 readcb pending, 2 writecb pending (deferred delivery)                               |
 * | 92   | i32  | eventPending | bufferevent lock           | BEV_EVENT_* bits waiting for deferred delivery                                        |
 * | 96   | i32  | dnsError     | bufferevent lock           | last EVUTIL_EAI_* code of connect_hostname                                            |
 * | 100  | i32  | errnoPending | bufferevent lock           | errno captured with a deferred event                                                  |
 * | 104  | i32  | notify       | Atomics, any thread        | mailbox request bits from other threads (src/shm/mailbox.ts)                          |
 * | 108  | i32  | fd           | owner writes, anyone reads | the OS fd of a socket bufferevent, -1                                                 |
 * | 112  | i32  | type         | write-once, creator        | TYPE_CODES: 1 socket, 2 pair, 3 filter                                                |
 * | 116  | i32  | link         | bufferevent lock           | header of the pair partner or the filter's underlying, 0 if none                      |
 * | 120  | i32  | priority     | bufferevent lock           | priority of the bufferevent's events                                                  |
 * | 124  | i32  | generation   | Atomics.add at free        | never reset: a stale handle throws ERR_BEV_FREED                                      |
 * | 128  | i32  | flushReq     | Atomics.or, any thread     | flush requested from another thread: iotype | mode << 8                               |
 * | 132  | i32  | groupNext    | bufferevent lock           | next bufferevent sharing this lock (h | GROUP_BUFFEREVENT), 0 at the end              |
 * | 136  | i32  | holdRefs     | bufferevent lock           | references taken by increfAndLock, not yet dropped: the holder's, dropped by recovery |
 * | 140  | i32  | spare1       | -                          | alignment                                                                             |
 * | 144  | f64  | maxRead      | bufferevent lock           | bufferevent_set_max_single_read (default 16384)                                       |
 * | 152  | f64  | maxWrite     | bufferevent lock           | bufferevent_set_max_single_write (default 16384)                                      |
 * | 160  | f64  | statRead     | bufferevent lock           | bytes the bufferevent's I/O put into its input (bev.stats)                            |
 * | 168  | f64  | statWritten  | bufferevent lock           | bytes its I/O took out of its output                                                  |
 * | 176  | f64  | statReadcb   | bufferevent lock           | read callbacks run                                                                    |
 * | 184  | f64  | statWritecb  | bufferevent lock           | write callbacks run                                                                   |
 * | 192  | f64  | statEventcb  | bufferevent lock           | event callbacks run                                                                   |
 */
export const BEV_HEADER = defineLayout('bufferevent header', 200, [
  { name: 'spare0', type: 'i32', guard: 'arena lock', meaning: "a freed header's free-list link (the lock is the evbuffers' H_LOCK)" },
  { name: 'refcnt', type: 'i32', guard: BEV_LOCK, meaning: "libevent's refcnt: user + running ops + queued runner + DNS + ..." },
  { name: 'enabled', type: 'i32', guard: BEV_LOCK, meaning: 'EV_READ / EV_WRITE as the user set them (never shows suspension)' },
  { name: 'readSusp', type: 'i32', guard: BEV_LOCK, meaning: 'BEV_SUSPEND_* reasons reading is suspended' },
  { name: 'writeSusp', type: 'i32', guard: BEV_LOCK, meaning: 'BEV_SUSPEND_* reasons writing is suspended' },
  { name: 'options', type: 'i32', guard: 'write-once, creator', meaning: 'BEV_OPT_* given at creation' },
  { name: 'state', type: 'i32', guard: 'Atomics.or, any thread', meaning: 'S_DEAD, S_FREEING, S_FINALIZED (read plainly for liveness)' },
  { name: 'owner', type: 'i32', guard: 'write-once, creator', meaning: "THREAD_TAG of the base's thread" },
  { name: 'wmReadLow', type: 'f64', guard: BEV_LOCK, meaning: 'read low watermark' },
  { name: 'wmReadHigh', type: 'f64', guard: BEV_LOCK, meaning: 'read high watermark (0 = none)' },
  { name: 'wmWriteLow', type: 'f64', guard: BEV_LOCK, meaning: 'write low watermark' },
  { name: 'wmWriteHigh', type: 'f64', guard: BEV_LOCK, meaning: 'write high watermark (0 = none)' },
  { name: 'timeoutRead', type: 'f64', guard: BEV_LOCK, meaning: 'read timeout in ms, -1 for none' },
  { name: 'timeoutWrite', type: 'f64', guard: BEV_LOCK, meaning: 'write timeout in ms, -1 for none' },
  { name: 'input', type: 'i32', guard: 'write-once, creator', meaning: 'input evbuffer header offset' },
  { name: 'output', type: 'i32', guard: 'write-once, creator', meaning: 'output evbuffer header offset' },
  { name: 'cbPending', type: 'i32', guard: BEV_LOCK, meaning: '1 readcb pending, 2 writecb pending (deferred delivery)' },
  { name: 'eventPending', type: 'i32', guard: BEV_LOCK, meaning: 'BEV_EVENT_* bits waiting for deferred delivery' },
  { name: 'dnsError', type: 'i32', guard: BEV_LOCK, meaning: 'last EVUTIL_EAI_* code of connect_hostname' },
  { name: 'errnoPending', type: 'i32', guard: BEV_LOCK, meaning: 'errno captured with a deferred event' },
  { name: 'notify', type: 'i32', guard: 'Atomics, any thread', meaning: 'mailbox request bits from other threads (src/shm/mailbox.ts)' },
  { name: 'fd', type: 'i32', guard: 'owner writes, anyone reads', meaning: 'the OS fd of a socket bufferevent, -1' },
  { name: 'type', type: 'i32', guard: 'write-once, creator', meaning: 'TYPE_CODES: 1 socket, 2 pair, 3 filter' },
  { name: 'link', type: 'i32', guard: BEV_LOCK, meaning: "header of the pair partner or the filter's underlying, 0 if none" },
  { name: 'priority', type: 'i32', guard: BEV_LOCK, meaning: "priority of the bufferevent's events" },
  { name: 'generation', type: 'i32', guard: 'Atomics.add at free', meaning: 'never reset: a stale handle throws ERR_BEV_FREED' },
  { name: 'flushReq', type: 'i32', guard: 'Atomics.or, any thread', meaning: 'flush requested from another thread: iotype | mode << 8' },
  { name: 'groupNext', type: 'i32', guard: BEV_LOCK, meaning: 'next bufferevent sharing this lock (h | GROUP_BUFFEREVENT), 0 at the end' },
  { name: 'holdRefs', type: 'i32', guard: BEV_LOCK, meaning: "references taken by increfAndLock, not yet dropped: the holder's, dropped by recovery" },
  { name: 'spare1', type: 'i32', guard: '-', meaning: 'alignment' },
  { name: 'maxRead', type: 'f64', guard: BEV_LOCK, meaning: 'bufferevent_set_max_single_read (default 16384)' },
  { name: 'maxWrite', type: 'f64', guard: BEV_LOCK, meaning: 'bufferevent_set_max_single_write (default 16384)' },
  { name: 'statRead', type: 'f64', guard: BEV_LOCK, meaning: "bytes the bufferevent's I/O put into its input (bev.stats)" },
  { name: 'statWritten', type: 'f64', guard: BEV_LOCK, meaning: 'bytes its I/O took out of its output' },
  { name: 'statReadcb', type: 'f64', guard: BEV_LOCK, meaning: 'read callbacks run' },
  { name: 'statWritecb', type: 'f64', guard: BEV_LOCK, meaning: 'write callbacks run' },
  { name: 'statEventcb', type: 'f64', guard: BEV_LOCK, meaning: 'event callbacks run' },
]);
export const HDR = BEV_HEADER.size;
export const O_STAT = BEV_HEADER.off('statRead');
/** bev.stats() counters: byte offsets from O_STAT. */
export const ST_READ = BEV_HEADER.off('statRead') - O_STAT;
export const ST_WRITTEN = BEV_HEADER.off('statWritten') - O_STAT;
export const ST_READCB = BEV_HEADER.off('statReadcb') - O_STAT;
export const ST_WRITECB = BEV_HEADER.off('statWritecb') - O_STAT;
export const ST_EVENTCB = BEV_HEADER.off('statEventcb') - O_STAT;
export const O_MAXREAD = BEV_HEADER.off('maxRead');
export const O_MAXWRITE = BEV_HEADER.off('maxWrite');
export const O_GROUPNEXT = BEV_HEADER.off('groupNext');
export const O_HOLDREF = BEV_HEADER.off('holdRefs');
export const O_REF = BEV_HEADER.off('refcnt');
export const O_ENABLED = BEV_HEADER.off('enabled');
export const O_RSUSP = BEV_HEADER.off('readSusp');
export const O_WSUSP = BEV_HEADER.off('writeSusp');
export const O_OPTIONS = BEV_HEADER.off('options');
export const O_STATE = BEV_HEADER.off('state');
export const O_OWNER = BEV_HEADER.off('owner');
export const O_WM_RLOW = BEV_HEADER.off('wmReadLow');
export const O_WM_RHIGH = BEV_HEADER.off('wmReadHigh');
export const O_WM_WLOW = BEV_HEADER.off('wmWriteLow');
export const O_WM_WHIGH = BEV_HEADER.off('wmWriteHigh');
export const O_TO_READ = BEV_HEADER.off('timeoutRead');
export const O_TO_WRITE = BEV_HEADER.off('timeoutWrite');
export const O_INPUT = BEV_HEADER.off('input');
export const O_OUTPUT = BEV_HEADER.off('output');
export const O_CBPEND = BEV_HEADER.off('cbPending');
export const O_EVPEND = BEV_HEADER.off('eventPending');
export const O_DNSERR = BEV_HEADER.off('dnsError');
export const O_ERRNO = BEV_HEADER.off('errnoPending');
export const O_NOTIFY = BEV_HEADER.off('notify');
export const O_FD = BEV_HEADER.off('fd');
export const O_TYPE = BEV_HEADER.off('type');
export const O_LINK = BEV_HEADER.off('link');
export const O_PRIO = BEV_HEADER.off('priority');
export const O_GEN = BEV_HEADER.off('generation');
export const O_FLUSHREQ = BEV_HEADER.off('flushReq');
/** Mailbox request bits (the owner acts on them in onRemote). */
export const RQ_RECONCILE = 1; // enabled changed: apply enable/disable
export const RQ_WM = 2; // watermarks changed
export const RQ_TIMEOUTS = 4; // timeouts changed
export const RQ_FLUSH = 8; // flush requested (flushReq)
export const RQ_DEFERRED = 16; // pending callback bits were set: schedule the deferred runner
export const RQ_FREE = 32; // bufferevent_free from another thread: drop callbacks, cancel work
export const RQ_FINALIZE = 64; // the last reference went in another thread: unlink and finalize here
export const TYPE_CODES = { socket: 1, pair: 2, filter: 3 } as const;
export const S_DEAD = 1;
export const S_FINALIZED = 2;
export const S_FREEING = 4; // bufferevent_free ran (in any thread): no user callback starts from now on
export const PEND_READ = 1;
export const PEND_WRITE = 2;

/**
 * Recovery of one bufferevent after a holder of its lock died (src/shm/lock-group.ts): repair both evbuffers and
 * drop the references the dead holder took with increfAndLock (holdRefs; every one of them belongs to the holder,
 * since a live thread drops its own before it releases the lock). When that was the last reference, the
 * bufferevent dies as at any last decref, and its owner finalizes it. @locks held (by the recovering thread)
 */
defineGroupKind(GROUP_BUFFEREVENT, (a: Arena, h: number): number => {
  const i32 = a.i32;
  repairBuffer(a, i32[(h + O_INPUT) >>> 2]! >>> 0);
  repairBuffer(a, i32[(h + O_OUTPUT) >>> 2]! >>> 0);
  const held = i32[(h + O_HOLDREF) >>> 2]!;
  if (held > 0) {
    i32[(h + O_HOLDREF) >>> 2] = 0;
    const left = (i32[(h + O_REF) >>> 2]! -= held);
    if (left <= 0 && (i32[(h + O_STATE) >>> 2]! & S_DEAD) === 0) {
      markDead(a, h);
      postToOwner(a, h + O_NOTIFY, h, RQ_FINALIZE);
    }
  }
  return i32[(h + O_GROUPNEXT) >>> 2]! >>> 0;
});

/**
 * The last reference went: from now on every call, in any thread, throws ERR_BEV_FREED, on the bufferevent and on its
 * evbuffers (published with Atomics.or: a reader's plain load sees it once the caller releases the lock). Unlinking
 * and finalization follow on the owner. @locks held
 */
export function markDead(a: Arena, h: number): void {
  const i32 = a.i32;
  Atomics.or(i32, (h + O_STATE) >>> 2, S_DEAD);
  Atomics.or(i32, (i32[(h + O_INPUT) >>> 2]! + EVB_FLAGS) >>> 2, F_DEAD);
  Atomics.or(i32, (i32[(h + O_OUTPUT) >>> 2]! + EVB_FLAGS) >>> 2, F_DEAD);
}
