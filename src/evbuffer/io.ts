import fs from 'node:fs';
import net from 'node:net';
import * as S from './storage.ts';
import { Evbuffer, lock2, unlock2 } from './evbuffer.ts';
import { setSocketError } from '../bufferevent/core.ts';
import { socketFd } from '../bufferevent/sockwrap.ts';
import { freedError, isLibraryError, typeError, errnoOf } from '../errors.ts';
import { EVBUF_FS_CLOSE_ON_FREE, segmentAlloc, segmentForget, segmentUnref } from './segments.ts';
import { sizeArg, ssizeArg, maskArg } from '../validate.ts';

/**
 * The rest of buffer.h around an evbuffer: I/O on a socket now (evbuffer_read, evbuffer_write, _write_atmost),
 * evbuffer_expand, evbuffer_get_contiguous_space, evbuffer_add_buffer_reference and the flags.
 *
 * The I/O calls use the descriptor directly (read(2) and writev(2) through node:fs), as libevent does: on a
 * non-blocking socket (every socket Node made is one) they never block; "nothing there" is -1 with
 * EVUTIL_SOCKET_ERROR() = EAGAIN. A `net.Socket` given to them should be paused (not read by Node meanwhile).
 */
export const EVBUFFER_FLAG_DRAINS_TO_FD = 1;
/** libevent 2.1's EVBUFFER_MAX_READ: one evbuffer_read reads at most this much */
export const EVBUFFER_MAX_READ = 4096;
const IOV_MAX = 64;

function fdOf(fd: unknown): number {
  if (fd instanceof net.Socket) {
    const n = socketFd(fd);
    if (n < 0) throw typeError('fd', 'a connected net.Socket (it has no descriptor)', fd);
    return n;
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw typeError('fd', 'a net.Socket or a socket fd', fd);
  return fd;
}

/** A failed syscall: -1 with EVUTIL_SOCKET_ERROR() set; anything that is not a system error is thrown. */
function syscallFailed(e: unknown): number {
  if (isLibraryError(e) || errnoOf(e) === 0) throw e;
  setSocketError(errnoOf(e));
  return -1;
}

/** evbuffer_read: bytes read into the end of the buffer, 0 at end of file, -1 on error. */
export function evbufferRead(buf: Evbuffer, fdArg: unknown, howmuchArg: unknown): number {
  buf.live();
  const fd = fdOf(fdArg);
  let howmuch = ssizeArg(howmuchArg, 'howmuch');
  if (howmuch < 0 || howmuch > EVBUFFER_MAX_READ) howmuch = EVBUFFER_MAX_READ;
  if (buf.flags() & S.F_FROZEN_END) return -1;
  const tmp = Buffer.allocUnsafe(howmuch);
  let n: number;
  try {
    n = fs.readSync(fd, tmp, 0, howmuch, null);
  } catch (e) {
    return syscallFailed(e);
  }
  if (n > 0 && buf.add(tmp.subarray(0, n)) !== 0) return -1; // frozen meanwhile
  return n;
}

/** evbuffer_write_atmost: writes up to `howmuch` bytes from the front (all when negative), drains what was written. */
export function evbufferWriteAtmost(buf: Evbuffer, fdArg: unknown, howmuchArg: unknown): number {
  buf.live();
  const fd = fdOf(fdArg);
  let howmuch = ssizeArg(howmuchArg, 'howmuch');
  buf.lockRaw();
  try {
    if (buf.flags() & S.F_FROZEN_START) return -1;
    const a = buf.a;
    a.sync();
    const len = S.length(a, buf.h);
    if (howmuch < 0 || howmuch > len) howmuch = len;
    if (howmuch === 0) return 0;
    S.materialize(a, buf.h, howmuch); // a file's bytes are read now, as they are written
    const views: Uint8Array[] = [];
    let k = 0;
    for (let c = a.i32[(buf.h + S.H_FIRST) >>> 2]! >>> 0; c !== 0 && k < howmuch && views.length < IOV_MAX; c = S.chainNext(a, c)) {
      const n = Math.min(S.chainLen(a, c), howmuch - k);
      if (n === 0) continue;
      const at = S.chainStart(a, c);
      views.push(a.u8.subarray(at, at + n));
      k += n;
    }
    let n: number;
    try {
      n = fs.writevSync(fd, views);
    } catch (e) {
      return syscallFailed(e);
    }
    if (n > 0) buf.drain(n);
    return n;
  } finally {
    buf.unlockRaw();
  }
}

export function evbufferWrite(buf: Evbuffer, fd: unknown): number {
  return evbufferWriteAtmost(buf, fd, -1);
}

/** evbuffer_expand: make room for `datlen` more bytes in one piece at the end. -1 when the memory cannot be had. */
export function evbufferExpand(buf: Evbuffer, datlenArg: unknown): number {
  buf.live();
  const n = sizeArg(datlenArg, 'datlen');
  if (n === 0) return 0;
  buf.lockRaw();
  try {
    S.reserveTail(buf.a, buf.h, n);
    return 0;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BEV_ARENA_FULL') return -1; // libevent: the allocation failed
    throw e;
  } finally {
    buf.unlockRaw();
  }
}

/** evbuffer_get_contiguous_space: the bytes of the first chain (what a pullup of them would not move). */
export function evbufferContiguousSpace(buf: Evbuffer): number {
  buf.live();
  buf.lockRaw();
  try {
    const first = buf.a.i32[(buf.h + S.H_FIRST) >>> 2]! >>> 0;
    return first === 0 ? 0 : S.chainLen(buf.a, first);
  } finally {
    buf.unlockRaw();
  }
}

/**
 * evbuffer_add_buffer_reference: `inbuf`'s bytes appended to `outbuf`, `inbuf` unchanged. libevent shares the
 * chains; here they are copied (the two buffers may live in different threads' memory), which no caller can tell
 * apart except by memory use. -1 when `outbuf` is `inbuf` or its end is frozen.
 */
export function evbufferAddBufferReference(outbuf: Evbuffer, inbuf: Evbuffer): number {
  outbuf.live();
  inbuf.live();
  if (outbuf === inbuf || (outbuf.a === inbuf.a && outbuf.h === inbuf.h)) return -1;
  lock2(outbuf, inbuf);
  try {
    inbuf.a.sync();
    const len = S.length(inbuf.a, inbuf.h);
    if (len === 0) return 0;
    if (outbuf.flags() & S.F_FROZEN_END) return -1;
    const tmp = new Uint8Array(len);
    S.copyOut(inbuf.a, inbuf.h, 0, tmp, 0, len);
    return outbuf.add(tmp);
  } finally {
    unlock2(outbuf, inbuf);
  }
}

/** evbuffer_set_flags / evbuffer_clear_flags: EVBUFFER_FLAG_DRAINS_TO_FD is the one flag; 0. */
export function evbufferSetFlags(buf: Evbuffer, flagsArg: unknown, on: boolean): number {
  buf.live();
  const f = maskArg(flagsArg, 'flags');
  if ((f & EVBUFFER_FLAG_DRAINS_TO_FD) === 0) return 0;
  buf.lockRaw();
  const w = (buf.h + S.H_FLAGS) >>> 2;
  if (on) Atomics.or(buf.a.i32, w, S.F_DRAINS_TO_FD);
  else Atomics.and(buf.a.i32, w, ~S.F_DRAINS_TO_FD);
  buf.unlockRaw();
  return 0;
}

// ---- files -----------------------------------------------------------------------------------------------------------

/** evbuffer_file_segment: a range of an open file (src/evbuffer/segments.ts). */
export class EvbufferFileSegment {
  /** @internal */ readonly slot: number;
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
  readonly flags: number;
  /** @internal */ freed = false;
  /** evbuffer_file_segment_free */
  free(): void {
    fileSegmentFree(this);
  }
  /** @internal */
  constructor(slot: number, fd: number, offset: number, length: number, flags: number) {
    this.slot = slot;
    this.fd = fd;
    this.offset = offset;
    this.length = length;
    this.flags = flags;
  }
}

function checkSegment(v: unknown): EvbufferFileSegment {
  if (!(v instanceof EvbufferFileSegment)) throw typeError('seg', 'an evbuffer_file_segment (evbuffer_file_segment_new)', v);
  if (v.freed) throw freedError('evbuffer_file_segment');
  return v;
}

/** Bytes a file chain may stand for (its `off` is 32 bits). */
const FILE_CHAIN_MAX = 0x7fffffff;

/**
 * evbuffer_file_segment_new: `length` -1 means to the end of the file. null when the fd is not an open file, or the
 * range is outside it (as libevent). The bytes are not read now. EVBUF_FS_CLOSE_ON_FREE closes the fd once the
 * segment is freed and no buffer holds any of it; the other EVBUF_FS_* flags are accepted (there is no mmap or
 * sendfile here).
 */
export function fileSegmentNew(fdArg: unknown, offsetArg: unknown, lengthArg: unknown, flagsArg: unknown): EvbufferFileSegment | null {
  if (typeof fdArg !== 'number' || !Number.isInteger(fdArg) || fdArg < 0) throw typeError('fd', 'a file descriptor', fdArg);
  const offset = sizeArg(offsetArg, 'offset');
  let length = ssizeArg(lengthArg, 'length');
  const flags = maskArg(flagsArg, 'flags');
  let size: number;
  try {
    size = fs.fstatSync(fdArg).size;
  } catch {
    return null;
  }
  if (length < 0) {
    if (offset > size) return null;
    length = size - offset;
  }
  const slot = segmentAlloc(fdArg, flags);
  if (slot < 0) return null; // the process-wide table is full
  return new EvbufferFileSegment(slot, fdArg, offset, length, flags);
}

/** evbuffer_file_segment_free: the user's reference; the fd closes (with CLOSE_ON_FREE) when no buffer holds it. */
export function fileSegmentFree(segArg: unknown): void {
  const seg = checkSegment(segArg);
  seg.freed = true;
  segmentUnref(seg.slot);
}

/** evbuffer_add_file_segment: append `length` bytes (-1: to the segment's end) from `offset` within the segment. */
export function addFileSegment(buf: Evbuffer, segArg: unknown, offsetArg: unknown, lengthArg: unknown): number {
  buf.live();
  const seg = checkSegment(segArg);
  const offset = sizeArg(offsetArg, 'offset');
  let length = ssizeArg(lengthArg, 'length');
  if (length < 0) {
    if (offset > seg.length) return -1;
    length = seg.length - offset;
  }
  if (offset + length > seg.length) return -1;
  buf.lockRaw();
  try {
    if (buf.flags() & S.F_FROZEN_END) return -1;
    if (length === 0) return 0;
    buf.a.sync();
    for (let done = 0; done < length; ) {
      const k = Math.min(FILE_CHAIN_MAX, length - done);
      S.addFileChain(buf.a, buf.h, seg.slot, seg.offset + offset + done, k);
      done += k;
    }
    buf.invokeCallbacks();
    return 0;
  } finally {
    buf.unlockRaw();
  }
}

/**
 * evbuffer_add_file: the file's bytes from `offset` (`length` -1: to its end) are read as the buffer is drained or
 * written, never loaded whole; the fd is closed when the buffer is done with them. -1 on failure (the fd stays open).
 */
export function evbufferAddFile(buf: Evbuffer, fd: unknown, offset: unknown, length: unknown): number {
  buf.live();
  const seg = fileSegmentNew(fd, offset, length, EVBUF_FS_CLOSE_ON_FREE);
  if (seg === null) return -1;
  const r = addFileSegment(buf, seg, 0, -1);
  if (r === 0) fileSegmentFree(seg);
  else segmentForget(seg.slot); // as libevent: a failed add does not close the fd
  return r;
}
