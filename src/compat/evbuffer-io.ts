/** The flat API and the methods of src/evbuffer/io.ts (buffer.h: socket I/O, expand, references, flags). */
import type net from 'node:net';
import { Evbuffer } from '../evbuffer/evbuffer.ts';
import * as IO from '../evbuffer/io.ts';
import { typeError } from '../errors.ts';

export { EVBUFFER_FLAG_DRAINS_TO_FD, EVBUFFER_MAX_READ } from '../evbuffer/io.ts';

function buf(v: unknown, name = 'buf'): Evbuffer {
  if (!Evbuffer.isReal(v)) throw typeError(name, 'an Evbuffer', v);
  return v;
}

export function evbuffer_read(b: Evbuffer, fd: net.Socket | number, howmuch: number): number {
  return IO.evbufferRead(buf(b), fd, howmuch);
}
export function evbuffer_write(b: Evbuffer, fd: net.Socket | number): number {
  return IO.evbufferWrite(buf(b), fd);
}
export function evbuffer_write_atmost(b: Evbuffer, fd: net.Socket | number, howmuch: number): number {
  return IO.evbufferWriteAtmost(buf(b), fd, howmuch);
}
export function evbuffer_expand(b: Evbuffer, datlen: number): number {
  return IO.evbufferExpand(buf(b), datlen);
}
export function evbuffer_get_contiguous_space(b: Evbuffer): number {
  return IO.evbufferContiguousSpace(buf(b));
}
export function evbuffer_add_buffer_reference(outbuf: Evbuffer, inbuf: Evbuffer): number {
  return IO.evbufferAddBufferReference(buf(outbuf, 'outbuf'), buf(inbuf, 'inbuf'));
}
export function evbuffer_set_flags(b: Evbuffer, flags: number): number {
  return IO.evbufferSetFlags(buf(b), flags, true);
}
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
  clearFlags(this: Evbuffer, flags: number) { return evbuffer_clear_flags(this, flags); },
});
