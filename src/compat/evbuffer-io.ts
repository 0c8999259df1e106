/** The flat API and the methods of src/evbuffer/io.ts (buffer.h: socket I/O, expand, references, flags). */
import type net from 'node:net';
import { Evbuffer } from '../evbuffer/evbuffer.ts';
import * as IO from '../evbuffer/io.ts';
import { typeError } from '../errors.ts';

export { EVBUFFER_FLAG_DRAINS_TO_FD, EVBUFFER_MAX_READ } from '../evbuffer/io.ts';
export type { EvbufferFileSegment } from '../evbuffer/io.ts';
export { EVBUF_FS_CLOSE_ON_FREE, EVBUF_FS_DISABLE_MMAP, EVBUF_FS_DISABLE_SENDFILE, EVBUF_FS_DISABLE_LOCKING } from '../evbuffer/segments.ts';

function buf(v: unknown, name = 'buf'): Evbuffer {
  if (!Evbuffer.isReal(v)) throw typeError(name, 'an Evbuffer', v);
  return v;
}

/** Read up to `howmuch` bytes (-1: a default) from the socket into the end of the evbuffer. The count, 0 at EOF, or -1. */
export function evbuffer_read(b: Evbuffer, fd: net.Socket | number, howmuch: number): number {
  return IO.evbufferRead(buf(b), fd, howmuch);
}
/** Write as much of the evbuffer to the socket as it takes now, draining it. The count, or -1. */
export function evbuffer_write(b: Evbuffer, fd: net.Socket | number): number {
  return IO.evbufferWrite(buf(b), fd);
}
/** Like evbuffer_write, at most `howmuch` bytes (-1: all). The count, or -1. */
export function evbuffer_write_atmost(b: Evbuffer, fd: net.Socket | number, howmuch: number): number {
  return IO.evbufferWriteAtmost(buf(b), fd, howmuch);
}
/** Make room for `datlen` more bytes at the end without another allocation. 0, or -1. */
export function evbuffer_expand(b: Evbuffer, datlen: number): number {
  return IO.evbufferExpand(buf(b), datlen);
}
/** How many bytes at the front are contiguous (what evbuffer_pullup would not have to move). */
export function evbuffer_get_contiguous_space(b: Evbuffer): number {
  return IO.evbufferContiguousSpace(buf(b));
}
/** Append the contents of `inbuf` to `outbuf` (copied here), leaving `inbuf` as it was. 0, or -1. */
export function evbuffer_add_buffer_reference(outbuf: Evbuffer, inbuf: Evbuffer): number {
  return IO.evbufferAddBufferReference(buf(outbuf, 'outbuf'), buf(inbuf, 'inbuf'));
}
/** Append `length` bytes of the file `fd` from `offset`; they are read when sent. The evbuffer owns the fd. 0, or -1. */
export function evbuffer_add_file(b: Evbuffer, fd: number, offset: number, length: number): number {
  return IO.evbufferAddFile(buf(b), fd, offset, length);
}
/** A piece of a file to add to evbuffers (EVBUF_FS_* flags), or null. */
export function evbuffer_file_segment_new(fd: number, offset: number, length: number, flags: number): IO.EvbufferFileSegment | null {
  return IO.fileSegmentNew(fd, offset, length, flags);
}
/** Drop the caller's reference to a file segment (evbuffers holding it keep theirs). */
export function evbuffer_file_segment_free(seg: IO.EvbufferFileSegment): void {
  IO.fileSegmentFree(seg);
}
/** Append `length` bytes (-1: to the end) of a file segment from `offset`. 0, or -1. */
export function evbuffer_add_file_segment(b: Evbuffer, seg: IO.EvbufferFileSegment, offset: number, length: number): number {
  return IO.addFileSegment(buf(b), seg, offset, length);
}
/** Set EVBUFFER_FLAG_* flags. 0. */
export function evbuffer_set_flags(b: Evbuffer, flags: number): number {
  return IO.evbufferSetFlags(buf(b), flags, true);
}
/** Clear EVBUFFER_FLAG_* flags. 0. */
export function evbuffer_clear_flags(b: Evbuffer, flags: number): number {
  return IO.evbufferSetFlags(buf(b), flags, false);
}

declare module '../evbuffer/evbuffer.ts' {
  interface Evbuffer {
    read(fd: net.Socket | number, howmuch: number): number;
    write(fd: net.Socket | number): number;
    writeAtmost(fd: net.Socket | number, howmuch: number): number;
    expand(datlen: number): number;
    getContiguousSpace(): number;
    addBufferReference(inbuf: Evbuffer): number;
    setFlags(flags: number): number;
    addFile(fd: number, offset: number, length: number): number;
    addVprintf(format: string, args: readonly unknown[]): number;
    addFileSegment(seg: IO.EvbufferFileSegment, offset: number, length: number): number;
    clearFlags(flags: number): number;
  }
}
Object.assign(Evbuffer.prototype, {
  read(this: Evbuffer, fd: net.Socket | number, howmuch: number) { return evbuffer_read(this, fd, howmuch); },
  write(this: Evbuffer, fd: net.Socket | number) { return evbuffer_write(this, fd); },
  writeAtmost(this: Evbuffer, fd: net.Socket | number, howmuch: number) { return evbuffer_write_atmost(this, fd, howmuch); },
  expand(this: Evbuffer, datlen: number) { return evbuffer_expand(this, datlen); },
  getContiguousSpace(this: Evbuffer) { return evbuffer_get_contiguous_space(this); },
  addBufferReference(this: Evbuffer, inbuf: Evbuffer) { return evbuffer_add_buffer_reference(this, inbuf); },
  setFlags(this: Evbuffer, flags: number) { return evbuffer_set_flags(this, flags); },
  addFile(this: Evbuffer, fd: number, offset: number, length: number) { return evbuffer_add_file(this, fd, offset, length); },
  addVprintf(this: Evbuffer, format: string, args: readonly unknown[]) {
    if (!Array.isArray(args)) throw typeError('args', "an array of the format's arguments", args);
    return this.addPrintf(format, args as unknown[]);
  },
  addFileSegment(this: Evbuffer, seg: IO.EvbufferFileSegment, offset: number, length: number) { return evbuffer_add_file_segment(this, seg, offset, length); },
  clearFlags(this: Evbuffer, flags: number) { return evbuffer_clear_flags(this, flags); },
});
