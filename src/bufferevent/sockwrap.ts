import net from 'node:net';

/**
 * The one place that touches Node internals for zero-copy reads.
 *
 * `net.Socket`'s `onread` option makes libuv read straight into a buffer we choose (here: the free space at the end
 * of the input evbuffer, in shared memory). It only exists at construction, and accepted or user-made sockets were
 * built without it, so we re-wrap the socket's libuv handle in a new `net.Socket` with `onread`. The handle's
 * owner pointer (Node's internal `owner_symbol`) then names our wrapper; `unwrap` gives it back to the original
 * object, so a socket given without CLOSE_ON_FREE is usable by its owner again after the bufferevent is freed.
 */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

export interface Wrapped {
  sock: net.Socket;
  original: net.Socket | null;
}

function ownerSymbol(handle: object): symbol | undefined {
  return Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol');
}

export function wrapSocket(orig: net.Socket, onread: OnRead): Wrapped {
  const handle = (orig as unknown as { _handle: object | null })._handle;
  if (!handle) {
    // not connected yet (or closed): it cannot be re-wrapped; use it as it is
    return { sock: orig, original: null };
  }
  orig.pause();
  const sock = new net.Socket({ handle, allowHalfOpen: true, manualStart: true, onread } as net.SocketConstructorOpts);
  return { sock, original: orig };
}

export function socketFromFd(fd: number, onread: OnRead): net.Socket {
  return new net.Socket({ fd, allowHalfOpen: true, manualStart: true, readable: true, writable: true, onread } as net.SocketConstructorOpts);
}

export function newSocket(onread: OnRead): net.Socket {
  return new net.Socket({ allowHalfOpen: true, manualStart: true, onread } as net.SocketConstructorOpts);
}

/** Give the handle back to the socket object it came from (no CLOSE_ON_FREE). */
export function unwrapSocket(w: Wrapped): void {
  const s = w.sock as unknown as { _handle: (object & { readStop?: () => void; reading?: boolean }) | null };
  const handle = s._handle;
  if (!handle || !w.original) return;
  if (handle.reading) {
    handle.reading = false;
    handle.readStop?.();
  }
  const sym = ownerSymbol(handle);
  if (sym) (handle as Record<symbol, unknown>)[sym] = w.original;
  s._handle = null; // the wrapper forgets the handle: destroying it later cannot close the user's socket
}

export function socketFd(sock: net.Socket | null): number {
  const h = (sock as unknown as { _handle?: { fd?: number } } | null)?._handle;
  return typeof h?.fd === 'number' && h.fd >= 0 ? h.fd : -1;
}
