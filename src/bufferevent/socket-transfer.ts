import net from 'node:net';
import type { EventBase } from '../event/base.ts';
import { EV_READ, EV_WRITE } from '../event/base.ts';
import { typeError } from '../errors.ts';
import * as S from '../evbuffer/storage.ts';
import type { Evbuffer } from '../evbuffer/evbuffer.ts';
import { SocketBufferevent } from './socket.ts';
import { freshSocketForTransfer } from './sockwrap.ts';

/**
 * Moving a live connection between event bases (threads): bufferevent_socket_detach takes the socket and the bytes
 * buffered in both directions out of a socket bufferevent, bufferevent_socket_attach continues them in a new one.
 */

/** What bufferevent_socket_detach returns: structured-cloneable once `socket` is in the transfer list. */
export interface DetachedSocket {
  socket: net.Socket;
  input: Uint8Array;
  output: Uint8Array;
  options: number;
  enabled: number;
  /** [read low, read high, write low, write high] */
  watermarks: number[];
  /** [read, write] in ms, null for none */
  timeouts: Array<number | null>;
}

/** A copy of everything buffered. @locks held */
function copyOut(b: Evbuffer): Uint8Array {
  const n = S.length(b.a, b.h);
  const u = new Uint8Array(n);
  S.copyOut(b.a, b.h, 0, u, 0, n);
  return u;
}

/**
 * Take the connection out of `bev`, with the bytes buffered in both directions, to serve it on another base (another
 * thread: post the result with `[detached.socket]` in the transfer list, then `bufferevent_socket_attach(base,
 * detached)` there). Stops reading and writing, waits for a write in flight to complete (its bytes are then gone from
 * the output, so nothing is sent twice), copies what is buffered, and frees `bev` without closing the socket.
 * @thread owner only
 */
export async function socketDetach(bev: SocketBufferevent): Promise<DetachedSocket> {
  bev.live();
  bev.ownerOnly('bufferevent_socket_detach');
  if (bev.sock === null) throw typeError('bev', 'a socket bufferevent with a socket', bev);
  bev.increfAndLock();
  try {
    bev.delRead();
    bev.delWrite();
  } finally {
    bev.decrefAndUnlock();
  }
  await bev.whenQuiet(); // a write in flight, or a read waiting for the input's lock (another thread holds it)
  bev.live();
  bev.increfAndLock();
  let out: DetachedSocket;
  try {
    const w = bev.releaseSocket()!; // it now belongs to whoever attaches the result
    out = {
      socket: freshSocketForTransfer(w), // Node transfers only sockets that have not read or written yet
      input: copyOut(bev.input),
      output: copyOut(bev.output),
      options: bev.options & ~0,
      enabled: bev.enabled,
      watermarks: [bev.wmReadLow, bev.wmReadHigh, bev.wmWriteLow, bev.wmWriteHigh],
      timeouts: [bev.timeoutRead, bev.timeoutWrite],
    };
  } finally {
    bev.decrefAndUnlock();
  }
  bev.free();
  return out;
}

/** bufferevent_socket_attach: a new socket bufferevent on `base` continuing a detached one (same options, watermarks,
 * timeouts and enabled state; the buffered input is in its input, the unsent output in its output). */
export function socketAttach(base: EventBase, d: DetachedSocket): SocketBufferevent {
  const bev = new SocketBufferevent(base, d.options);
  bev.setShared('socket', null);
  const [rl = 0, rh = 0, wl = 0, wh = 0] = d.watermarks;
  bev.setwatermark(EV_READ, rl, rh);
  bev.setwatermark(EV_WRITE, wl, wh);
  const ms = (v: number | null | undefined) => (v == null ? null : { tv_sec: Math.floor(v / 1000), tv_usec: Math.round((v % 1000) * 1000) });
  bev.setTimeouts(ms(d.timeouts[0]), ms(d.timeouts[1]));
  if (d.input.length > 0) bev.deliverBufferedInput(d.input);
  bev.attach(d.socket); // after the buffered input is in place: reads land behind it
  if (d.output.length > 0) bev.output.add(d.output);
  bev.disable(EV_READ | EV_WRITE);
  bev.enable(d.enabled);
  if (d.input.length > 0) bev.announceInput(); // after the caller's setcb, the loop delivers it
  return bev;
}
