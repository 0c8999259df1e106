import net from 'node:net';
import { errnoOf } from '../errors.ts';

/** The errno of a write on a connection that is gone (what libevent reports where libuv says ECANCELED). */
export const EPIPE = 32;

/**
 * The one place that touches Node internals for zero-copy reads.
 *
 * `net.Socket`'s `onread` option makes libuv read straight into a buffer we choose (here: the free space at the end
 * of the input evbuffer, in shared memory). Node keeps that option in three symbol-keyed fields of the socket
 * (`kBuffer`, `kBufferCb`, `kBufferGen`), which its read callback consults on every read.
 *
 * - A socket that has not read anything yet (an accepted connection, which listeners and the runtime pause on
 *   connect) is switched **in place**: the three fields are set on the socket itself, and saved, so that `unwrap`
 *   can give the socket back as it was. No second object per connection.
 * - A socket that has read before may hold state in its Readable half that a switch in place would trip over, so its
 *   libuv handle is re-wrapped in a new `net.Socket` built with `onread`; the handle's owner pointer (Node's
 *   `owner_symbol`) then names the wrapper, and `unwrap` gives it back to the original object.
 *
 * Either way a socket given without CLOSE_ON_FREE is usable by its owner again after the bufferevent is freed.
 * Reading is started and stopped on the handle itself (readStart, readStop), whatever the Readable half thinks.
 */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

/** What a switch in place changed on the user's socket, to be put back by unwrap. */
interface SavedRead {
  buffer: unknown;
  callback: unknown;
  gen: unknown;
  allowHalfOpen: boolean;
}

export interface Wrapped {
  /** The socket the bufferevent reads and writes through. */
  sock: net.Socket;
  /** The socket object the user gave (the same object as `sock` when it was switched in place), or null. */
  original: net.Socket | null;
  /** Set when `sock` is the user's socket switched in place. */
  saved: SavedRead | null;
}

interface UvStream {
  reading?: boolean;
  readStart?: () => number;
  readStop?: () => number;
  useUserBuffer?: (b: Uint8Array) => void;
}

function handleOf(sock: net.Socket): UvStream | null {
  return (sock as unknown as { _handle: UvStream | null })._handle;
}

/** Node's `onread` fields of a net.Socket (the same symbols on every socket: looked up once). */
let readSymbols: { kBuffer: symbol; kBufferCb: symbol; kBufferGen: symbol } | null = null;
function onreadSymbols(sock: net.Socket): typeof readSymbols {
  if (readSymbols !== null) return readSymbols;
  const kBuffer = socketSymbol(sock, 'kBuffer');
  const kBufferCb = socketSymbol(sock, 'kBufferCb');
  const kBufferGen = socketSymbol(sock, 'kBufferGen');
  if (!kBuffer || !kBufferCb || !kBufferGen) return null;
  return (readSymbols = { kBuffer, kBufferCb, kBufferGen });
}

/** What most sockets save (no `onread` of their own): shared, one per allowHalfOpen value. */
const PLAIN_SAVED = [false, true].map((allowHalfOpen): SavedRead => Object.freeze({ buffer: null, callback: null, gen: null, allowHalfOpen }));
function savedRead(buffer: unknown, callback: unknown, gen: unknown, allowHalfOpen: boolean): SavedRead {
  if (buffer == null && callback == null && gen == null) return PLAIN_SAVED[allowHalfOpen ? 1 : 0]!;
  return { buffer, callback, gen, allowHalfOpen };
}

/** Stand-in for `kBuffer` until the first region is handed out: Node only tests that the field is set. */
const NO_REGION_YET = new Uint8Array(0);

export function wrapSocket(orig: net.Socket, onread: OnRead): Wrapped {
  const handle = handleOf(orig);
  if (!handle) {
    // not connected yet (or closed): it cannot be re-wrapped; use it as it is
    return { sock: orig, original: null, saved: null };
  }
  orig.pause();
  stopReadingHandle(orig);
  const syms = onreadSymbols(orig);
  if (syms !== null && orig.bytesRead === 0 && orig.readableLength === 0) {
    const o = orig as unknown as Record<symbol, unknown>;
    const saved = savedRead(o[syms.kBuffer], o[syms.kBufferCb], o[syms.kBufferGen], orig.allowHalfOpen);
    o[syms.kBuffer] = NO_REGION_YET;
    o[syms.kBufferCb] = onread.callback;
    o[syms.kBufferGen] = onread.buffer;
    orig.allowHalfOpen = true; // an EOF ends reading only, as in libevent: the write side stays open
    return { sock: orig, original: orig, saved };
  }
  const sock = new net.Socket({ handle, allowHalfOpen: true, manualStart: true, onread } as unknown as net.SocketConstructorOpts);
  // whoever watches the original socket (a runtime counting connections, the user) still learns when it closes
  sock.once('close', () => {
    if (orig.destroyed) return;
    (orig as unknown as { _handle: unknown })._handle = null; // the handle is closed already: do not close it twice
    orig.destroy(); // emits 'close' on the original
  });
  sock.pause(); // reading starts only when the bufferevent asks (socket.ts startReading)
  return { sock, original: orig, saved: null };
}

export function socketFromFd(fd: number, onread: OnRead): net.Socket {
  const sock = new net.Socket({ fd, allowHalfOpen: true, manualStart: true, readable: true, writable: true, onread } as net.SocketConstructorOpts);
  sock.pause();
  return sock;
}

export function newSocket(onread: OnRead): net.Socket {
  const sock = new net.Socket({ allowHalfOpen: true, manualStart: true, onread } as net.SocketConstructorOpts);
  sock.pause(); // else Node starts reading by itself once connected (afterConnect reads unless paused)
  return sock;
}

/** Start the socket's handle reading (into the region handed out last). No-op without a handle. */
export function startReadingHandle(sock: net.Socket): void {
  const h = handleOf(sock);
  if (h === null || h.reading === true || typeof h.readStart !== 'function') return;
  h.reading = true;
  h.readStart();
}

/** Stop the socket's handle reading. No-op without a handle. */
export function stopReadingHandle(sock: net.Socket): void {
  const h = handleOf(sock);
  if (h === null || h.reading !== true) return;
  h.reading = false;
  h.readStop?.();
}

/** Give the handle back to the socket object it came from (no CLOSE_ON_FREE). */
export function unwrapSocket(w: Wrapped): void {
  const handle = handleOf(w.sock);
  if (!handle || !w.original) return;
  stopReadingHandle(w.sock);
  if (w.saved !== null) {
    // switched in place: put the user's own read fields back
    const syms = readSymbols!;
    const o = w.original as unknown as Record<symbol, unknown>;
    o[syms.kBuffer] = w.saved.buffer;
    o[syms.kBufferCb] = w.saved.callback;
    o[syms.kBufferGen] = w.saved.gen;
    w.original.allowHalfOpen = w.saved.allowHalfOpen;
  } else {
    const sym = socketSymbol(handle, 'owner_symbol');
    if (sym) (handle as Record<symbol, unknown>)[sym] = w.original;
    (w.sock as unknown as { _handle: unknown })._handle = null; // the wrapper forgets the handle: destroying it later cannot close the user's socket
  }
  restoreReadBuffer(handle, w.original);
}

/** One of Node's internal symbol-keyed fields of `obj` (a socket or its handle), found by its description. */
function socketSymbol(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

/**
 * `onread` made the handle read into a buffer of ours (Node's `useUserBuffer`; the last region handed out stays the
 * read target, and nothing undoes it). Given back as it is, the handle would go on reading into the bufferevent's
 * shared memory after the bufferevent is gone, and the owner's socket would see empty chunks. Point the handle at a
 * buffer of the owner's: its own `onread` buffer if it had one, else a private scratch buffer that the owner's
 * socket copies out of (the same path Node takes for an `onread` socket).
 */
function restoreReadBuffer(handle: UvStream, orig: net.Socket): void {
  if (typeof handle.useUserBuffer !== 'function') return;
  const syms = onreadSymbols(orig);
  if (syms === null) return;
  const o = orig as unknown as Record<symbol, unknown>;
  const own = o[syms.kBuffer];
  if (own instanceof Uint8Array) {
    handle.useUserBuffer(own);
    return;
  }
  const scratch = Buffer.alloc(64 * 1024);
  handle.useUserBuffer(scratch);
  o[syms.kBuffer] = scratch;
  o[syms.kBufferGen] = null;
  o[syms.kBufferCb] = (nread: number, buf: Buffer): boolean => orig.push(Buffer.from(buf.subarray(0, nread)));
}

/** Point the socket's next read at `buf` (Node's handle.useUserBuffer, as `onread` does after every read). */
export function setReadBuffer(sock: net.Socket, buf: Uint8Array): void {
  handleOf(sock)?.useUserBuffer?.(buf);
}

export function socketFd(sock: net.Socket | null): number {
  const h = (sock as unknown as { _handle?: { fd?: number } } | null)?._handle;
  return typeof h?.fd === 'number' && h.fd >= 0 ? h.fd : -1;
}

/**
 * A socket object that Node will transfer to another thread: Node refuses a socket that has read or written anything
 * (its own counters), so the handle is moved into a fresh `net.Socket`, and the old objects let go of it without
 * closing it. Reading must be stopped and no write in flight. The caller owns the result.
 */
export function freshSocketForTransfer(w: Wrapped): net.Socket {
  const handle = handleOf(w.sock);
  if (!handle) return w.sock;
  stopReadingHandle(w.sock);
  const fresh = new net.Socket({ handle, allowHalfOpen: true, manualStart: true } as unknown as net.SocketConstructorOpts);
  // Node's transfer check refuses a handle that has ever read or written (the handle's own byte counters), to keep
  // a socket with data buffered on the sending side from being moved. Here nothing is buffered in the socket: the
  // bufferevent stopped reading, waited for its write in flight, and carries the bytes it buffered itself. So the
  // counters of this fresh object are reported as what they are for it: nothing read or written yet.
  Object.defineProperty(fresh, 'bytesRead', { value: 0, configurable: true });
  Object.defineProperty(fresh, 'bytesWritten', { value: 0, configurable: true });
  (w.sock as unknown as { _handle: unknown })._handle = null; // the old object forgets it (destroying it now cannot close the connection)
  if (w.saved === null) w.sock.removeAllListeners('close'); // a wrapper's relay to the original, which is destroyed below
  w.sock.destroy();
  if (w.original && w.original !== w.sock) {
    (w.original as unknown as { _handle: unknown })._handle = null;
    w.original.destroy();
  }
  return fresh;
}

/**
 * A socket received from another thread (`postMessage` with the socket in the transfer list) arrives as a
 * `net.Socket` whose properties Node's deserialization leaves in V8's dictionary mode: about 1.6 KB of heap per
 * connection more than a socket made here. Its handle is moved into a fresh `net.Socket` (paused, half-open allowed,
 * nothing read yet, so a bufferevent switches it in place), and the received object lets go of it without closing it.
 * For sockets nobody else has seen yet (the runtime's hand-off). @thread the receiving thread
 */
export function adoptTransferredSocket(received: net.Socket): net.Socket {
  const handle = handleOf(received);
  if (handle === null || received.bytesRead !== 0 || received.readableLength !== 0) return received;
  stopReadingHandle(received);
  const fresh = new net.Socket({ handle, allowHalfOpen: true, manualStart: true } as unknown as net.SocketConstructorOpts);
  (received as unknown as { _handle: unknown })._handle = null; // destroying it now cannot close the connection
  return fresh;
}

/**
 * Writes straight into the socket's libuv stream, as Node's own `net.Socket` does under its Writable machinery
 * (`handle.writeBuffer` / `handle.writev` with a `WriteWrap` request). The bufferevent keeps its own output queue and
 * has at most one write in flight, so the Writable layer above the handle (its buffering, its state object, a
 * `process.nextTick` per completed write, a request object per write) is pure cost here.
 *
 * Node's request class and the flag that says whether the last write completed at once come from its `stream_wrap`
 * binding (`process.binding`: DEP0111, a documentation-only deprecation, which `--pending-deprecation` turns into a
 * warning). Where that binding is not reachable (a Node run with `--permission` refuses `process.binding`), writes go
 * through `socket.write` instead, with the same contract.
 */
interface WriteReq {
  handle: object;
  oncomplete: (this: PendingReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: unknown;
}
interface StreamHandle {
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
}
interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

const streamWrap: StreamWrapBinding | null = ((): StreamWrapBinding | null => {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number') return b as StreamWrapBinding;
  } catch {
    // not reachable in this process: socket.write below
  }
  return null;
})();

/** A write that completed at once (the completion callback is not called). */
export const WRITE_DONE = 0;
/** A write that libuv completes later: the target's writeCompleted gets 0 or a negative errno. */
export const WRITE_PENDING = 1;

/** Who is told when a pending write completes. */
export interface WriteTarget {
  writeCompleted(status: number): void;
}

interface PendingReq extends WriteReq {
  target: WriteTarget | null;
}

/**
 * The request object of the thread's next write. A write that completes at once never binds it to a native request,
 * so it serves the next write too, of any socket; a pending write binds it until its completion callback has returned
 * (which may start the next write), so the next write gets a new one. So a connection holds no request of its own.
 */
let spareReq: PendingReq | null = null;

/** libuv's completion of a pending write (called with the request as `this`). */
function onWriteComplete(this: PendingReq, status: number): void {
  const t = this.target;
  this.target = null;
  t?.writeCompleted(status);
}

/**
 * Send every view in one call (one writev for several). Returns WRITE_DONE, WRITE_PENDING (then
 * `target.writeCompleted(status)` follows: 0, or a negative errno), or a negative errno when the write failed at
 * once. At most one write per socket may be pending. @thread the socket's thread
 */
export function writeViews(sock: net.Socket, views: Uint8Array | Uint8Array[], target: WriteTarget): number {
  const handle = (sock as unknown as { _handle: StreamHandle | null })._handle;
  if (streamWrap === null || handle === null || typeof handle.writeBuffer !== 'function') return writeThroughStream(sock, views, target);
  let req = spareReq;
  if (req === null) {
    req = spareReq = new streamWrap.WriteWrap() as PendingReq;
    req.oncomplete = onWriteComplete; // called by libuv's completion with (status, handle, error)
    req.async = false;
    req.bytes = 0;
    req.buffer = null;
    req.target = null;
  }
  req.handle = handle;
  const err = Array.isArray(views) ? handle.writev(req, views, true) : handle.writeBuffer(req, views);
  if (err !== 0) return err < 0 ? err : -err;
  if (streamWrap.streamBaseState[streamWrap.kLastWriteWasAsync] === 0) return WRITE_DONE;
  req.target = target;
  spareReq = null;
  return WRITE_PENDING;
}

/** The same contract through `socket.write`: always pending. An error that names no errno (a destroyed stream) is EPIPE. */
function writeThroughStream(sock: net.Socket, views: Uint8Array | Uint8Array[], target: WriteTarget): number {
  const done = (err: Error | null | undefined): void => target.writeCompleted(err ? -(errnoOf(err) || EPIPE) : 0);
  if (!Array.isArray(views)) {
    sock.write(views, done);
    return WRITE_PENDING;
  }
  // corked writes leave as one writev (Node's _writev): the last callback follows the whole vector
  sock.cork();
  for (let k = 0; k < views.length - 1; k++) sock.write(views[k]!);
  sock.write(views[views.length - 1]!, done);
  sock.uncork();
  return WRITE_PENDING;
}
