import { Duplex } from 'node:stream';
import { Bufferevent, checkBev, socketError, BEV_EVENT_CONNECTED, BEV_EVENT_EOF, BEV_EVENT_ERROR, BEV_EVENT_READING, BEV_EVENT_TIMEOUT, BEV_EVENT_WRITING, BEV_FINISHED } from './bufferevent/core.ts';
import { EV_READ, EV_WRITE } from './event/base.ts';
import { codedError, systemError } from './errors.ts';

/**
 * A Node `Duplex` over a bufferevent: the idiomatic face of the same object. Reading pushes what arrives in the input
 * (and disables EV_READ while the stream's consumer is full, as libevent's read watermarks would); writing appends to
 * the output and applies backpressure: a write is acknowledged at once while the output holds less than
 * the bufferevent's write high watermark (`writableHighWaterMark` when none is set), otherwise when the output has
 * drained to its write low watermark (the bufferevent's write callback). `end()` resolves once the output is empty.
 * EOF ends the readable side; ERROR destroys the stream with a Node-style system error (`code: 'ECONNRESET'`,
 * `errno`, `syscall`, `address`, `port`, and `bevEvents`), `instanceof BuffereventError`; TIMEOUT emits 'timeout'.
 * `destroy()` frees the bufferevent.
 *
 * The stream takes over the bufferevent's callbacks, and they run only while its event base loops
 * (`event_base_dispatch`). @thread the bufferevent's owner thread
 */
export class BuffereventDuplex extends Duplex {
  readonly bev: Bufferevent;
  private paused = false;
  private pendingWrite: ((err?: Error | null) => void) | null = null;
  private pendingFinal: ((err?: Error | null) => void) | null = null;

  constructor(bev: Bufferevent, opts: { highWaterMark?: number } = {}) {
    checkBev(bev).live();
    super({ allowHalfOpen: true, highWaterMark: opts.highWaterMark ?? 64 * 1024 });
    this.bev = bev;
    this.notePeer();
    bev.setcb(
      () => this.onReadable(),
      () => this.onDrained(),
      (_b: Bufferevent, what: number) => this.onEvent(what),
      null,
    );
    bev.enable(EV_READ);
    queueMicrotask(() => this.onReadable()); // bytes already in the input (e.g. after bufferevent_socket_attach)
  }

  /** The remote address, for errors (a socket that was reset no longer knows it). */
  private peer = { address: '', port: 0 };
  private notePeer(): void {
    const s = this.bev.sock;
    if (s?.remoteAddress) this.peer = { address: s.remoteAddress, port: s.remotePort ?? 0 };
  }

  private onReadable(): void {
    if (this.bev.dead || this.destroyed) return;
    const input = this.bev.getInput();
    for (;;) {
      const n = input.getLength();
      if (n === 0) return;
      const chunk = Buffer.allocUnsafe(n);
      input.remove(chunk);
      if (!this.push(chunk)) {
        this.paused = true;
        this.bev.disable(EV_READ);
        return;
      }
    }
  }

  private onDrained(): void {
    const w = this.pendingWrite;
    this.pendingWrite = null;
    w?.();
    if (this.pendingFinal && this.bev.getOutput().getLength() === 0) {
      const f = this.pendingFinal;
      this.pendingFinal = null;
      f();
    }
  }

  private onEvent(what: number): void {
    if (what & BEV_EVENT_CONNECTED) this.notePeer();
    if (what & BEV_EVENT_ERROR) {
      const errno = socketError();
      let err: Error;
      if (errno !== 0) {
        // a connection error as Node reports one (ECONNRESET on read, EPIPE on write, ...), the library's class
        const s = this.bev.sock;
        const syscall = what & BEV_EVENT_READING ? 'read' : what & BEV_EVENT_WRITING ? 'write' : 'connect';
        err = systemError(errno, syscall, s?.remoteAddress ?? this.peer.address, s?.remotePort ?? this.peer.port);
      } else {
        err = codedError('ERR_BEV_EVENT_ERROR', `bufferevent error (events 0x${what.toString(16)})`);
        Object.assign(err, { errno: 0 });
      }
      Object.assign(err, { bevEvents: what });
      this.destroy(err);
    } else if (what & BEV_EVENT_EOF) {
      this.onReadable();
      this.push(null);
    } else if (what & BEV_EVENT_TIMEOUT) {
      this.emit('timeout', what);
    }
  }

  override _read(): void {
    if (this.bev.dead) return;
    if (this.paused) {
      this.paused = false;
      this.bev.enable(EV_READ);
    }
    this.onReadable();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.bev.write(chunk) !== 0) return cb(codedError('ERR_BEV_EVENT_ERROR', 'bufferevent_write failed (the output is frozen)'));
    // the bufferevent's write high watermark, when set, is the threshold; its write callback (at the low watermark)
    // then acknowledges the write, so 'drain' follows the watermarks
    const high = this.bev.wmWriteHigh > 0 ? this.bev.wmWriteHigh : this.writableHighWaterMark;
    if (this.bev.getOutput().getLength() < high) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    const done = (): void => {
      this.halfClose();
      cb();
    };
    if (this.bev.getOutput().getLength() === 0) done();
    else this.pendingFinal = done;
  }

  /** end(): once the output has drained, tell the peer: a socket sends FIN, a pair or filter flushes with FINISHED. */
  private halfClose(): void {
    if (this.bev.dead) return;
    const sock = this.bev.sock;
    if (sock) sock.end();
    else this.bev.flush(EV_WRITE, BEV_FINISHED);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.bev.dead) this.bev.free();
    cb(err);
  }
}

/** A Duplex stream over a bufferevent (see BuffereventDuplex). */
export function bufferevent_stream(bev: Bufferevent, opts?: { highWaterMark?: number }): BuffereventDuplex {
  return new BuffereventDuplex(bev, opts);
}
