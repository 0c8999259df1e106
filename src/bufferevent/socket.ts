import type { Arena } from '../shm/arena.ts';
import net from 'node:net';
import { EvCallback, EventBase, EV_READ, EV_WRITE } from '../event/base.ts';
import * as S from '../evbuffer/storage.ts';
import { EVBUFFER_CB_ENABLED, EVBUFFER_CB_NODEFER, type EvbufferCbInfo } from '../evbuffer/evbuffer.ts';
import {
  Bufferevent,
  type BevOps,
  BEV_EVENT_CONNECTED,
  BEV_EVENT_EOF,
  BEV_EVENT_ERROR,
  BEV_EVENT_READING,
  BEV_EVENT_TIMEOUT,
  BEV_EVENT_WRITING,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_SUSPEND_LOOKUP,
} from './core.ts';
import { wrapSocket, socketFromFd, newSocket, unwrapSocket, socketFd, setReadBuffer, startReadingHandle, stopReadingHandle, writeViews, WRITE_DONE, WRITE_PENDING, EPIPE, type Wrapped, type OnRead } from './sockwrap.ts';
import { toSockaddr, AF_INET, AF_INET6, AF_UNSPEC, type ResolvedSockaddr, type Sockaddr } from '../sockaddr.ts';
import { intArg } from '../validate.ts';
import { readMax, writeMax, consumed } from './ratelim.ts';
import { reportDeliveryError } from '../shm/owner.ts';
import { connectPromise } from './connect-promise.ts';
import { startLookup } from '../dns/lookup.ts';
import { BevTimer } from './bev-timer.ts';
import { typeError, rangeError, errnoOf } from '../errors.ts';
import { EvdnsBase } from '../dns/evdns.ts';
import { EVUTIL_EAI_CANCEL, EVUTIL_EAI_NODATA } from '../dns/eai.ts';

const noop = (): void => {};
/** The orphan-pin list of a socket that has none (the common case): no array per connection. */
const NO_PINS: number[] = Object.freeze([]) as unknown as number[];

/** The bufferevent a socket belongs to, set while it is attached (listen, unlisten). */
const kBev = Symbol('bufferevent');
type BevSocket = net.Socket & { [kBev]?: SocketBufferevent | null };
// Shared by every socket (Node calls them with the socket as `this`): no closures per connection.
function onSocketRead(this: BevSocket, nread: number): boolean {
  const bev = this[kBev];
  return bev ? bev.onRead(nread) : false;
}
function onSocketEnd(this: BevSocket): void {
  this[kBev]?.sockEnded();
}
function onSocketError(this: BevSocket, err: NodeJS.ErrnoException): void {
  this[kBev]?.sockFailed(err);
}
function onSocketConnect(this: BevSocket): void {
  this[kBev]?.sockConnected(this);
}
const ECANCELED = 125;
/**
 * The positive errno of a socket error, as libevent would report it: libuv cancels the writes still queued when a
 * connection is reset (ECANCELED), where a C program's next write fails with EPIPE.
 */
function socketErrno(err: NodeJS.ErrnoException): number {
  return libeventErrno(errnoOf(err));
}
function libeventErrno(e: number): number {
  return e === ECANCELED ? EPIPE : e;
}

/**
 * Read and write sizes.
 * Every read is capped at max_single_read and every write at max_single_write (libevent's 16384 by default;
 * bufferevent_set_max_single_read/_write), and by the rate limits (src/bufferevent/ratelim.ts).
 * Reads adapt, as Netty's receive allocator does. A quiet connection (a new one, or one whose reads are small) holds
 * no read memory: its next read lands in the thread's read slab and is copied into the input. A read bigger than
 * READ_MIN makes the connection busy: from then on reads land, without a copy, in the free space at the end of the
 * input's last chain, sized to the read just seen, doubled after each read that filled its region (up to READ_MAX),
 * halved after two reads in a row that used a quarter of it or less, back to the slab at READ_MIN. Sizes are arena
 * blocks (powers of two) less the 32-byte block and chain headers, so each fills one block; a 16 KiB message arrives
 * in one read.
 * Writes are gathered, as libevent's evbuffer_write_atmost does with writev: one write hands libuv every chain of the
 * output up to max_single_write bytes (at most MAX_WRITE_CHAINS chains) as one vectored write, so a message that spans
 * two chains leaves in one segment and never waits for the peer's delayed ACK behind Nagle's algorithm. The write
 * callback still fires after each completed write.
 */
const READ_MIN = 1024 - 32;
const READ_MAX = 65536 - 32;
const MAX_WRITE_CHAINS = 64;

/** A view of the first `chains[k + 1]` live bytes of chain `chains[k]` (zero-copy: socket writes send these). */
function liveBytes(a: Arena, chains: number[], k: number): Uint8Array {
  const at = S.chainStart(a, chains[k]!);
  return a.u8.subarray(at, at + chains[k + 1]!); // a plain view: libuv takes any Uint8Array, and it is cheaper to make than a Buffer
}

let slab: Uint8Array | null = null;
let slabView: Uint8Array | null = null;
/**
 * The thread's read slab: where quiet connections (and reads that find the input's lock busy) land. One per thread is
 * enough: libuv completes one stream's read (buffer, read, callback) before it starts another's, and the callback
 * copies the bytes out before it returns. Plain memory: the bytes are copied into the input's shared memory.
 */
function readSlab(): Uint8Array {
  return (slab ??= new Uint8Array(READ_MAX));
}
/** The slab's first `n` bytes as a read target; the view is kept, since quiet connections ask for the same size. */
function slabRegion(n: number): Uint8Array {
  const v = slabView;
  if (v !== null && v.length === n) return v;
  return (slabView = readSlab().subarray(0, n));
}

// Result bits of the internal write event.
const W_WRITABLE = 0x04;
const W_CONNECTED = 0x100;
const W_CONNECT_FAILED = 0x200;
const W_DONE = 0x400;
const W_ERROR = 0x800;
// Result bits of the internal read event.
const R_DATA = 0x02;
const R_EOF = 0x100;
const R_ERROR = 0x200;

/**
 * A socket bufferevent (bufferevent_sock.c) over a `net.Socket`.
 *
 * Reads land directly in the input evbuffer's shared memory (`onread`); writes hand libuv a view of the output's
 * shared memory and keep that chain pinned until the write completes, so the bytes in flight still count in the
 * output's length (and against watermarks) until the kernel has them. @thread base owner for I/O; see core.ts
 */
export class SocketBufferevent extends Bufferevent {
  readonly ops: BevOps = socketOps;
  /** @internal */ w: Wrapped | null = null;
  /** @internal */ connecting = false;
  /** @internal */ evReadAdded = false;
  /** @internal */ evWriteAdded = false;
  /** @internal */ reading = false;
  /** @internal */ readPausedIdle = false;
  /** @internal Size of the next read region (adaptive, see READ_MIN); `readSmall`: the last read used <= 1/4 of it. */
  readSize = READ_MIN;
  private readSmall = false;
  /** @internal Length of the region handed out for the read in progress. */
  private readWant = 0;
  /** @internal The write in flight: the chains it pinned (offset, length pairs) and its byte count. */ inflight: { chains: number[]; n: number } | null = null;
  /** @internal */ readPin = 0;
  /** @internal read regions abandoned while the input's lock was busy, unpinned at the next locked commit */
  orphanPins: number[] = NO_PINS;
  /** @internal reads completed but not yet committed (waiting for the input's lock) */ commitsPending = 0;
  /**
   * @internal The current read target is the thread's read slab (readSlab), not a region of the input: the connection
   * is quiet (its reads are small), or the input's lock was busy when libuv asked. The bytes are copied out of it
   * before the read callback returns.
   */ readInSlab = false;
  /** @internal arena offset of the read region handed to libuv */ readAt = 0;
  /** @internal */ readEv: EvCallback;
  /** @internal */ writeEv: EvCallback;
  /** The read and write timeouts' timers, made when a timeout is first armed: most connections never set one. */
  private readTimerObj: BevTimer | null = null;
  private writeTimerObj: BevTimer | null = null;
  /** @internal */ get readTimer(): BevTimer {
    return (this.readTimerObj ??= this.newTimer(false));
  }
  /** @internal */ get writeTimer(): BevTimer {
    return (this.writeTimerObj ??= this.newTimer(true));
  }
  private newTimer(write: boolean): BevTimer {
    const t = new BevTimer(this.base, write ? () => this.writeTimeout() : () => this.readTimeout(), this.lockOfFn);
    t.priority = (write ? this.writeEv : this.readEv).priority; // a timeout fires at its event's priority (prioritySet)
    return t;
  }
  /** Let the timers go (they are made again, on the current base, when next armed). */
  private disposeTimers(): void {
    this.readTimerObj?.dispose();
    this.writeTimerObj?.dispose();
    this.readTimerObj = this.writeTimerObj = null;
  }
  /** @internal */ lastWriteN = 0;
  /** @internal */ errnoRead = 0;
  /** @internal */ errnoWrite = 0;
  /** @internal */ dnsCancel: (() => void) | null = null;
  /** @internal */ eofSeen = false;
  /** @internal */ dnsResult: { err: number; addr: ResolvedSockaddr | null } | null = null;
  /** @internal */ dnsPending = false;
  /** @internal resolved when the write in flight completes (bufferevent_socket_detach waits for it) */
  inflightWaiters: Array<() => void> | null = null;

  /**
   * @internal Resolves once no write is in flight and no read waits for the input's lock (bufferevent_socket_detach
   * waits for this after it stopped reading and writing: the bytes written are then gone from the output).
   */
  async whenQuiet(): Promise<void> {
    while (this.inflight !== null || this.commitsPending > 0) await new Promise<void>((r) => (this.inflightWaiters ??= []).push(r));
  }

  /**
   * @internal Forget the socket without closing it: no read region is held for it any more, and no listener of this
   * bufferevent is left on it. Returns what it was attached as, or null. @locks held
   */
  releaseSocket(): Wrapped | null {
    const w = this.w;
    if (w === null) return null;
    if (this.readPin !== 0) {
      S.unpinChain(this.input.a, this.readPin);
      this.readPin = 0;
    }
    this.w = null;
    this.sharedFd = -1;
    this.reading = false;
    this.unlisten(w.sock);
    return w;
  }

  /** @internal Bytes that arrived before this bufferevent had its socket (an attach): into the input, then a read event. */
  deliverBufferedInput(data: Uint8Array): void {
    this.input.lockRaw();
    try {
      S.addBytes(this.input.a, this.input.h, data, data.length); // the input's end is frozen to users, not to us
      this.input.invokeCallbacks();
    } finally {
      this.input.unlockRaw();
    }
  }

  /** @internal Data is waiting in the input: a read event from the loop delivers it, as a read would. */
  announceInput(): void {
    this.base.activate(this.readEv, R_DATA);
  }

  /** The event a finished lookup activates (made by the first connect_hostname). */
  private dnsEvent: EvCallback | null = null;
  private get dnsEv(): EvCallback {
    return (this.dnsEvent ??= new EvCallback(this.base, () => {
      const r = this.dnsResult;
      this.dnsResult = null;
      if (r) this.lookupDone(r.err, r.addr);
    }, this.sharedPriority, this.lockOfFn));
  }
  private readonly onread: OnRead;

  constructor(base: EventBase, options: number) {
    super(base, options, 0);
    const pri = Math.floor(base.npriorities / 2);
    this.readEv = new EvCallback(base, (res) => this.handleRead(res), pri, this.lockOfFn);
    this.writeEv = new EvCallback(base, (res) => this.handleWrite(res), pri, this.lockOfFn);
    // libevent: input frozen at its end, output at its front; the socket alone appends to one and drains the other.
    this.input.freeze(0);
    this.output.freeze(1);
    this.output.addCbInternal((_b, info) => this.outbufCb(info), null, EVBUFFER_CB_ENABLED | EVBUFFER_CB_NODEFER);
    this.onread = { buffer: () => this.readRegion(), callback: onSocketRead };
  }

  /** @internal Attach a socket (a net.Socket to re-wrap, an fd, or nothing). */
  attach(fd: net.Socket | number): void {
    if (fd instanceof net.Socket && fd.connecting) {
      this.attachWhenConnected(fd);
      return;
    }
    if (fd instanceof net.Socket) this.w = wrapSocket(fd, this.onread);
    else if (fd >= 0) this.w = { sock: socketFromFd(fd, this.onread), original: null, saved: null };
    else this.w = null;
    if (this.w) this.listen(this.w.sock);
    this.sharedFd = socketFd(this.sock);
  }

  /** @internal A user's net.Socket whose connect is still in progress (see attachWhenConnected). */
  pendingSock: net.Socket | null = null;
  private pendingOff: (() => void) | null = null;

  /**
   * A net.Socket still connecting cannot be re-wrapped: Node's connect request owns its handle, and writing through
   * a second socket object before the connect completes aborts the process (libuv asserts). Take it over once it
   * is connected; until then the bufferevent behaves as on an fd that is not yet readable or writable. A failed
   * connect is reported like libevent's next poll of that fd would: a connect failure if `connect(bev, NULL)` was
   * called, else an error on the armed direction.
   */
  private attachWhenConnected(sock: net.Socket): void {
    this.w = null;
    this.pendingSock = sock;
    sock.pause();
    const onConnect = (): void => done(null);
    const onError = (err: NodeJS.ErrnoException): void => done(err);
    const off = (): void => {
      sock.off('connect', onConnect);
      sock.off('error', onError);
    };
    const done = (err: NodeJS.ErrnoException | null): void => {
      off();
      if (this.pendingSock !== sock) return;
      this.pendingSock = null;
      this.pendingOff = null;
      if (err) {
        const errno = socketErrno(err);
        if (this.connecting) {
          this.errnoWrite = errno;
          this.base.activate(this.writeEv, W_CONNECT_FAILED);
        } else if (this.evWriteAdded) {
          this.errnoWrite = errno;
          this.base.activate(this.writeEv, W_ERROR);
        } else if (this.evReadAdded) {
          this.errnoRead = errno;
          this.base.activate(this.readEv, R_ERROR);
        }
        return;
      }
      this.increfAndLock();
      try {
        this.attach(sock);
        if (this.evReadAdded) this.startReading();
        if (this.connecting) this.base.activate(this.writeEv, W_CONNECTED);
        else if (this.evWriteAdded) this.kickWrite();
      } finally {
        this.decrefAndUnlock();
      }
    };
    sock.once('connect', onConnect);
    sock.once('error', onError);
    this.pendingOff = off;
  }

  private listen(sock: net.Socket): void {
    // Like an fd in a libevent program, the socket does not keep the process alive by itself: the base does, while
    // its loop runs (base.ts keepAlive). A program that never runs its loop exits instead of hanging.
    sock.unref();
    // The listeners and the read callback are shared by every socket; they find this bufferevent through the socket.
    (sock as BevSocket)[kBev] = this;
    sock.on('end', onSocketEnd);
    sock.on('error', onSocketError);
    sock.on('connect', onSocketConnect);
  }

  /** Remove what listen() added, and only that: the socket may be the user's own object. */
  private unlisten(sock: net.Socket): void {
    sock.off('end', onSocketEnd);
    sock.off('error', onSocketError);
    sock.off('connect', onSocketConnect);
    (sock as BevSocket)[kBev] = null;
  }

  /** @internal The socket reported EOF. */
  sockEnded(): void {
    this.eofSeen = true;
    this.base.activate(this.readEv, R_EOF);
  }

  /** @internal The socket reported an error. */
  sockFailed(err: NodeJS.ErrnoException): void {
    const errno = socketErrno(err);
    if (err.syscall === 'connect' || this.connecting) {
      this.errnoWrite = errno;
      this.base.activate(this.writeEv, W_CONNECT_FAILED);
    } else if (err.syscall === 'read') {
      this.errnoRead = errno;
      this.base.activate(this.readEv, R_ERROR);
    } else {
      this.errnoWrite = errno;
      this.base.activate(this.writeEv, W_ERROR);
    }
  }

  /** @internal The socket connected. */
  sockConnected(sock: net.Socket): void {
    this.sharedFd = socketFd(sock);
    if (this.reading) startReadingHandle(sock); // reading was asked for while connecting (startReading)
    this.base.activate(this.writeEv, W_CONNECTED);
  }

  /** @internal */ override get sock(): net.Socket | null {
    return this.w?.sock ?? null;
  }

  // ---- reading -----------------------------------------------------------------------------------------------------
  private readRegion(): Uint8Array {
    const a = this.input.a;
    const h = this.input.h;
    const quiet = this.readSize === READ_MIN;
    if (quiet || !this.input.tryLock()) {
      // a quiet connection holds no memory of its own for its next read; a busy lock (another thread holds it) cannot
      // hand out a region of the input. Either way the read lands in the thread's slab and is copied in.
      if (this.readPin !== 0) {
        if (quiet && this.input.tryLock()) {
          S.unpinChain(a, this.readPin);
          this.input.unlockRaw();
        } else {
          if (this.orphanPins === NO_PINS) this.orphanPins = [];
          this.orphanPins.push(this.readPin); // unpinned by the next commit (it needs the lock)
        }
      }
      this.readPin = 0;
      this.readInSlab = true;
      const want = (this.readWant = this.readCap(READ_MAX));
      return slabRegion(want);
    }
    this.readInSlab = false;
    try {
      // Node asks again for a buffer without a read in between (e.g. when a connect completes): drop the old region
      if (this.readPin !== 0) S.unpinChain(a, this.readPin);
      this.readPin = 0;
      this.unpinOrphans();
      const want = (this.readWant = this.readCap(this.readSize));
      const c = S.reserveTail(a, h, want);
      S.pinChain(a, c); // the chain's end must stay put until the read lands
      this.readPin = c;
      const at = S.chainStart(a, c) + S.chainLen(a, c);
      this.readAt = at;
      return a.u8.subarray(at, at + want);
    } finally {
      this.input.unlockRaw();
    }
  }

  /** @internal A read landed (Node's onread callback, through onSocketRead). */
  onRead(nread: number): boolean {
    const a = this.input.a;
    if (this.input.freed) {
      if (this.readPin !== 0) S.unpinChain(a, this.readPin);
      this.readPin = 0;
      return false;
    }
    // a read that filled its region may be followed at once by another of this socket (libuv reads on while reads
    // come back full): its callbacks run first, as libevent runs them after each read
    const full = nread >= this.readWant;
    if (nread > 0) this.adaptReadSize(nread);
    const pinned = this.readPin;
    const fromSlab = this.readInSlab && nread > 0;
    this.commitsPending++;
    let sync = true;
    if (this.input.tryLock()) {
      // the common case, without a closure: the bytes in the slab are taken now
      try {
        this.commitRead(nread, pinned, fromSlab ? readSlab() : null);
      } finally {
        this.input.unlockRaw();
      }
      this.afterCommit(nread, full);
    } else {
      // another thread holds the input's lock: the bytes in the slab are copied out before the slab is handed to the
      // next read, and committed once the lock is ours
      const held = fromSlab ? readSlab().slice(0, nread) : null;
      sync = this.withBufferLock(this.input, () => this.commitRead(nread, pinned, held), () => this.afterCommit(nread, full));
    }
    if (!sync) {
      // the bytes wait for the lock (in the pinned region or a copy): read no more until they are in
      this.reading = false;
      this.pauseReadUntilLoop();
      return false;
    }
    if (!this.base.running) {
      // callbacks run only inside the loop: read no more until it runs again
      this.pauseReadUntilLoop();
      this.stopReading();
      return false;
    }
    return this.reading;
  }

  /** What follows a read's commit, without the input's lock. */
  private afterCommit(nread: number, full: boolean): void {
    if (--this.commitsPending === 0 && this.inflight === null) this.releaseInflightWaiters();
    if (nread > 0) {
      if (full) this.base.activate(this.readEv, R_DATA);
      else this.base.activateFromIo(this.readEv, R_DATA);
    }
    if (this.readPausedIdle && this.base.running) this.resumeIfIdle(); // after a contended commit
  }

  /**
   * `max`, or less so that the read cannot take the input past its read high watermark (at least 1). Called holding
   * the input's lock, or on the slab path without it, where a length a moment old is enough: the commit runs the
   * watermark callback, which suspends reading.
   */
  private readCap(max: number): number {
    const m = Math.min(max, readMax(this)); // max_single_read and the rate limits (src/bufferevent/ratelim.ts)
    return Math.max(1, Math.min(m, this.readRoom(S.length(this.input.a, this.input.h))));
  }

  /** Grow the read size after a read that filled its region, shrink it after two that used a quarter or less. */
  private adaptReadSize(nread: number): void {
    if (this.readInSlab) {
      // a read into the slab that a small region would not have held: the connection is busy, give it regions
      if (nread > READ_MIN) this.readSize = Math.min(READ_MAX, Math.max(2 * READ_MIN + 32, 2 ** Math.ceil(Math.log2(nread + 32)) - 32));
      this.readSmall = false;
      return;
    }
    const size = this.readSize;
    if (nread >= this.readWant && this.readWant === size) {
      this.readSize = Math.min(READ_MAX, (size + 32) * 2 - 32);
      this.readSmall = false;
    } else if (nread > size >>> 2) {
      this.readSmall = false;
    } else if (!this.readSmall) {
      this.readSmall = true;
    } else {
      this.readSize = Math.max(READ_MIN, (size + 32) / 2 - 32);
      this.readSmall = false;
    }
  }

  /** Count (or copy) a completed read into the input and run the input's callbacks. @locks input lock */
  private commitRead(nread: number, pinned: number, fromSlab: Uint8Array | null): void {
    const a = this.input.a;
    const h = this.input.h;
    if (nread > 0 && !this.dead) {
      const last = a.i32[(h + S.H_LAST) >>> 2]! >>> 0;
      if (fromSlab !== null) {
        S.addRead(a, h, fromSlab, nread);
      } else if (last === pinned && S.chainStart(a, last) + S.chainLen(a, last) === this.readAt) {
        S.commitTail(a, h, nread); // the bytes landed exactly at the end: just count them
      } else {
        // something was appended after the region was handed out (an attach adding buffered input): move them
        S.addBytes(a, h, a.u8.slice(this.readAt, this.readAt + nread), nread);
      }
      this.countRead(nread);
      consumed(this, nread, false); // a rate limit's bucket may run dry and suspend reading here
      this.input.invokeCallbacks(); // the read-high-watermark callback may suspend reading right here
    }
    if (pinned !== 0) {
      S.unpinChain(this.input.a, pinned); // after the bytes are counted or copied: the chain may be freed now
      if (this.readPin === pinned) this.readPin = 0;
    }
    this.unpinOrphans();
  }

  /**
   * Hand libuv a fresh region for the next read, sized by the current high watermark (Node asks for the next buffer
   * right after each read, so a watermark set since then would not cap the next read otherwise). @locks input lock
   *
   * Node installs a region with a new native read listener each time (`useUserBuffer`), kept until the socket closes,
   * so this runs only when the region must change before the next read: the first time a socket reads, and when the
   * read limits change. A socket that stops and starts reading again (watermarks, rate limits) keeps the region the
   * last read's completion handed out: the input only shrinks meanwhile, so that region still fits.
   */
  private refreshReadRegion(): void {
    const s = this.sock;
    if (!s) return;
    if (this.readPin !== 0) {
      S.unpinChain(this.input.a, this.readPin);
      this.readPin = 0;
    }
    setReadBuffer(s, this.readRegion()); // a slab region too: its length is capped by the watermark as well
    this.regionSock = s;
  }
  /** The socket whose handle reads into a region of ours (refreshReadRegion). */
  private regionSock: net.Socket | null = null;

  override readLimitChanged(): void {
    if (this.reading) this.refreshReadRegion();
  }

  private startReading(): void {
    const s = this.sock;
    if (!s || this.reading || this.eofSeen) return;
    this.reading = true;
    if (this.regionSock !== s) this.refreshReadRegion();
    // the handle itself starts, whatever the socket's Readable half thinks (it is not used: reads land in regions of
    // ours). While the socket is connecting, the 'connect' listener starts it (listen()).
    if (!s.pending) startReadingHandle(s);
  }

  private stopReading(): void {
    const s = this.sock;
    if (!this.reading) return;
    this.reading = false;
    if (s) stopReadingHandle(s);
  }

  /** Reading stops until the base's loop runs (again): the loop's start calls loopStarted. */
  private pauseReadUntilLoop(): void {
    this.readPausedIdle = true;
    this.base.onLoopStart.add(this);
  }

  /** @internal The base's loop starts. */
  loopStarted(): void {
    this.resumeIfIdle();
  }

  private resumeIfIdle(): void {
    if (this.readPausedIdle && this.evReadAdded && !this.dead) {
      this.readPausedIdle = false;
      this.base.onLoopStart.delete(this);
      this.startReading();
    }
  }

  /** @internal be_socket_add(ev_read) */
  addRead(): void {
    if (!this.evReadAdded) {
      this.evReadAdded = true;
      this.base.nAdded++;
    }
    const t = this.timeoutRead;
    if (t !== null) this.readTimer.arm(t);
    if (this.w) this.startReading();
    // libevent polls the fd again and read() returns 0 again: reading re-enabled after EOF reports EOF again (A.7)
    if (this.w && this.eofSeen) this.base.activate(this.readEv, R_EOF);
  }
  /** @internal */
  delRead(): void {
    if (this.evReadAdded) {
      this.evReadAdded = false;
      this.base.unpend();
    }
    this.readTimer.clear();
    this.stopReading();
  }

  private handleRead(res: number): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      if (res & R_DATA) {
        if (this.evReadAdded && this.timeoutRead !== null) this.readTimer.arm(this.timeoutRead); // persistent timeout restarts
        this.triggerNolock(EV_READ, 0);
      }
      // An EOF noticed while reading was off (disabled or suspended) is reported when reading is re-armed (addRead),
      // as libevent's read() returning 0 on the next poll.
      if (res & (R_EOF | R_ERROR) && !this.dead && (res & R_ERROR || this.evReadAdded)) {
        const what = BEV_EVENT_READING | (res & R_ERROR ? BEV_EVENT_ERROR : BEV_EVENT_EOF);
        this.enabled = this.enabled & ~EV_READ;
        this.delRead();
        this.runEventcb(what, 0, res & R_ERROR ? this.errnoRead : 0);
      }
    } finally {
      this.decrefAndUnlock();
    }
  }

  private readTimeout(): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      this.enabled = this.enabled & ~EV_READ;
      this.delRead();
      this.runEventcb(BEV_EVENT_TIMEOUT | BEV_EVENT_READING, 0, 0);
    } finally {
      this.decrefAndUnlock();
    }
  }

  // ---- writing -----------------------------------------------------------------------------------------------------
  /** bufferevent_socket_outbuf_cb: bytes added to the output start writing. @locks held */
  private outbufCb(info: EvbufferCbInfo): void {
    if (info.n_added > 0 && this.enabled & EV_WRITE && this.writeSuspended === 0 && !this.dead) {
      if (!this.evWriteAdded) this.addWrite();
      else this.kickWrite();
    }
  }

  /** @internal be_socket_add(ev_write) */
  addWrite(): void {
    if (!this.evWriteAdded) {
      this.evWriteAdded = true;
      this.base.nAdded++;
    }
    const t = this.timeoutWrite;
    if (t !== null) this.writeTimer.arm(t);
    this.kickWrite();
  }

  /** A connected socket with nothing in flight is writable now. */
  private kickWrite(): void {
    const s = this.sock;
    if (s && !this.connecting && this.inflight === null && !s.connecting && !s.destroyed) {
      this.base.activate(this.writeEv, W_WRITABLE);
    }
  }

  /** @internal */
  delWrite(): void {
    if (this.evWriteAdded) {
      this.evWriteAdded = false;
      this.base.unpend();
    }
    this.writeTimerObj?.clear();
    if (!this.writeEv.queued) return;
    this.base.deactivate(this.writeEv);
  }

  private handleWrite(res: number): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      let connected = false;
      if (res & W_CONNECT_FAILED && this.connecting) {
        this.connecting = false;
        this.delRead();
        this.delWrite();
        this.runEventcb(BEV_EVENT_ERROR, 0, this.errnoWrite);
        return;
      }
      if (res & W_CONNECTED && this.connecting) {
        this.connecting = false;
        connected = true;
        this.runEventcb(BEV_EVENT_CONNECTED, 0, 0);
        if (!(this.enabled & EV_WRITE) || this.writeSuspended) {
          this.delWrite();
          return;
        }
      }
      if (res & W_ERROR) {
        this.enabled = this.enabled & ~EV_WRITE;
        this.delWrite();
        this.runEventcb(BEV_EVENT_ERROR | BEV_EVENT_WRITING, 0, this.errnoWrite);
        return;
      }
      if (!this.evWriteAdded && !(res & W_DONE)) return;
      let written = 0;
      if (res & W_DONE) {
        written = this.lastWriteN;
        this.lastWriteN = 0;
        if (this.evWriteAdded && this.timeoutWrite !== null) this.writeTimer.arm(this.timeoutWrite);
      }
      if (this.writeSuspended) return;
      if (!this.evWriteAdded) {
        // written while writing was disabled: the bytes are gone, no callback (ev_write is not pending)
        return;
      }
      if (this.output.lengthLocked() > 0) {
        if (this.inflight === null) this.startWrite();
      } else if (this.inflight === null) {
        this.delWrite();
      }
      if (written > 0 || (!connected && !(res & W_DONE) && this.inflight === null)) {
        this.triggerNolock(EV_WRITE, 0);
      }
    } finally {
      this.decrefAndUnlock();
      this.issueWrite();
    }
  }

  /**
   * Take the output's chains for the next write (pinned: the kernel reads this memory later, it must not move or be
   * reused until the write is done) and make their views. Runs under the lock; the write itself is issued by
   * issueWrite after the lock is released, so a syscall never runs while other threads wait to append. @locks held
   */
  private startWrite(): void {
    const s = this.sock;
    if (!s || s.destroyed) return;
    const a = this.output.a;
    a.sync(); // chains may have been added by another thread in a grown arena
    const h = this.output.h;
    const chains: number[] = [];
    let n = 0;
    const atmost = writeMax(this); // max_single_write and the rate limits (src/bufferevent/ratelim.ts)
    S.materialize(a, h, atmost); // a file's bytes are read as they are written, a write's worth at a time
    for (let c = a.i32[(h + S.H_FIRST) >>> 2]! >>> 0; c !== 0 && n < atmost && chains.length < 2 * MAX_WRITE_CHAINS; c = S.chainNext(a, c)) {
      const len = Math.min(S.chainLen(a, c), atmost - n);
      if (len === 0) continue;
      S.pinChain(a, c);
      chains.push(c, len);
      n += len;
    }
    if (n === 0) return;
    this.inflight = { chains, n };
    this.issueSock = s;
    if (chains.length === 2) {
      this.issueViews = liveBytes(a, chains, 0); // one chain, the common case: no array
      return;
    }
    const views: Uint8Array[] = [];
    for (let k = 0; k < chains.length; k += 2) views.push(liveBytes(a, chains, k));
    this.issueViews = views;
  }

  /** The socket and the view(s) prepared by startWrite, to be written once the lock is released. */
  private issueSock: net.Socket | null = null;
  private issueViews: Uint8Array | Uint8Array[] | null = null;
  /** True while issueWrite runs: a write prepared by a completion it runs is sent by its own loop, not by recursion. */
  private issuing = false;

  /**
   * Send what startWrite prepared. A write that completes at once is completed here (writeDone), which may prepare
   * the next one: that one is sent by this loop, so a fast socket does not recurse. @locks not held
   */
  private issueWrite(): void {
    if (this.issuing) return;
    this.issuing = true;
    try {
      while (this.issueSock !== null) {
        const s = this.issueSock;
        const views = this.issueViews!;
        this.issueSock = null;
        this.issueViews = null;
        const r = writeViews(s, views, this);
        if (r === WRITE_PENDING) break;
        this.writeDone(r === WRITE_DONE ? null : -r);
      }
    } finally {
      this.issuing = false;
    }
  }

  /** @internal A pending write completed (sockwrap's writeViews): 0, or a negative errno. */
  writeCompleted(status: number): void {
    this.writeDone(status === 0 ? null : -status);
    this.issueWrite(); // the next write, if the completion prepared one
  }

  /**
   * A write completed: `errno` null, or the positive errno it failed with (0 when none is known). Never blocks the
   * loop on the output's lock: see withBufferLock.
   */
  private writeDone(errno: number | null): void {
    const f = this.inflight;
    if (f === null) return;
    const a = this.output.a;
    if (this.output.freed) {
      this.inflight = null;
      for (let k = 0; k < f.chains.length; k += 2) S.unpinChain(a, f.chains[k]!); // finalized meanwhile: this frees them
      this.releaseInflightWaiters();
      return;
    }
    if (this.output.tryLock()) {
      // the common case, without a closure
      try {
        this.commitWrite(f, errno);
      } finally {
        this.output.unlockRaw();
      }
      this.afterWrite(errno);
    } else {
      this.withBufferLock(this.output, () => this.commitWrite(f, errno), () => this.afterWrite(errno));
    }
  }

  /** Drain what a write sent (nothing when it failed) and unpin its chains. @locks output lock */
  private commitWrite(f: { chains: number[]; n: number }, errno: number | null): void {
    const a = this.output.a;
    if (errno === null && !this.dead) {
      S.drain(a, this.output.h, f.n);
      this.lastWriteN += f.n;
      this.countWritten(f.n);
      consumed(this, f.n, true); // a rate limit's bucket may run dry and suspend writing here
    }
    for (let k = 0; k < f.chains.length; k += 2) S.unpinChain(a, f.chains[k]!);
    if (errno === null && !this.dead) this.output.invokeCallbacks();
    this.inflight = null; // only now: the written bytes are gone from the output (detach relies on it)
  }

  /** What follows a write's commit, without the output's lock. */
  private afterWrite(errno: number | null): void {
    this.releaseInflightWaiters();
    if (errno !== null) {
      this.errnoWrite = libeventErrno(errno);
      this.base.activate(this.writeEv, W_ERROR);
    } else if (this.writecb === null && this.base.running && !this.dead) {
      // No write callback to run: what the write event does (start the next write, or stop writing, re-arm the
      // write timeout) is invisible to the order of callbacks, so it runs now instead of one loop turn later.
      this.handleWrite(W_DONE);
    } else {
      this.base.activateFromIo(this.writeEv, W_DONE);
    }
  }

  /** Unpin the read regions whose unpinning had to wait for the input's lock. @locks input lock */
  private unpinOrphans(): void {
    const pins = this.orphanPins;
    if (pins === NO_PINS) return;
    this.orphanPins = NO_PINS;
    for (const c of pins) S.unpinChain(this.input.a, c);
  }

  private releaseInflightWaiters(): void {
    const waiters = this.inflightWaiters;
    if (waiters === null) return; // the common case: no detach waiting
    this.inflightWaiters = null;
    for (const w of waiters) queueMicrotask(w);
  }

  /**
   * Run `locked` holding the buffer's lock, then `after` without it. If another thread holds the lock (a
   * bufferevent_lock elsewhere), do not block this thread's loop: acquire it through Atomics.waitAsync and run both
   * then. Returns true when it ran synchronously.
   */
  private withBufferLock(buf: typeof this.input, locked: () => void, after: () => void): boolean {
    // a user callback that throws on the asynchronous path is outside the loop's call stack: the running loop ends with it
    return buf.whenLocked(locked, after, reportDeliveryError);
  }

  private writeTimeout(): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      this.enabled = this.enabled & ~EV_WRITE;
      this.delWrite();
      this.runEventcb(BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING, 0, 0);
    } finally {
      this.decrefAndUnlock();
    }
  }

  // ---- connect -----------------------------------------------------------------------------------------------------
  /**
   * Connect, as a promise (not in libevent): `target` is a sockaddr or `{ host, port }` (a name goes through
   * connect_hostname with the system resolver). Resolves when BEV_EVENT_CONNECTED is reported; rejects with a
   * Node-style system error when BEV_EVENT_ERROR is (ECONNREFUSED, ENOTFOUND, ...), or with an AbortError when
   * `signal` aborts, which also cancels the lookup or closes the socket still connecting (no event is reported then).
   * The event callback still sees every event. The base's loop must run for it to settle. @thread owner
   */
  connect(target: Sockaddr | { host: string; port: number }, options?: { signal?: AbortSignal }): Promise<void> {
    return connectPromise(this, target, options);
  }

  /** @internal An aborted connect: the lookup is cancelled, a socket still connecting is closed; no event. */
  abortConnect(): void {
    if (this.dead) return;
    this.increfAndLock();
    try {
      if (this.dnsPending || this.dnsResult !== null) {
        this.cancelPendingWork();
        return;
      }
      if (!this.connecting) return;
      this.connecting = false;
      this.delRead();
      this.delWrite();
      const w = this.w;
      this.w = null;
      w?.sock.destroy();
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** bufferevent_socket_connect (the flat function's method). */
  connectTo(sa: Sockaddr | null): number {
    this.live();
    const addr = sa === null || sa === undefined ? null : toSockaddr(sa);
    this.increfAndLock();
    try {
      if (this.w === null && this.pendingSock !== null) {
        // the user's socket is still connecting: CONNECTED (or the failure) comes when it is done
        if (addr !== null) return -1; // connect() on a connecting socket: EALREADY
        this.connecting = true;
        this.addWrite();
        return 0;
      }
      if (this.w === null) {
        if (addr === null) return -1;
        this.w = { sock: newSocket(this.onread), original: null, saved: null };
        this.listen(this.w.sock);
      } else if (addr !== null && (this.connecting || this.w.sock.connecting || !this.w.sock.pending)) {
        return -1; // connect() on a connected or connecting socket: EISCONN / EALREADY, no event (A.10)
      }
      this.connecting = true;
      const s = this.w.sock;
      if (addr !== null) {
        if (this.enabled & EV_READ && !this.readSuspended) this.addRead();
        s.connect({ port: addr.port, host: addr.address, family: addr.family });
      } else if (!s.connecting && !s.pending) {
        this.base.activate(this.writeEv, W_CONNECTED); // connected by the user already: report it
      }
      this.addWrite();
      return 0;
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** bufferevent_socket_connect_hostname: resolve `hostname` (through `dnsBase`, or the system resolver when null) and connect. 0, or -1. */
  connectHostname(dnsBase: EvdnsBase | null, family: number, hostname: string, port: number): number {
    this.live();
    if (dnsBase !== null && dnsBase !== undefined && !(dnsBase instanceof EvdnsBase)) {
      throw typeError('dns_base', 'an EvdnsBase or null', dnsBase);
    }
    const fam = intArg(family, 'family');
    if (typeof hostname !== 'string') throw typeError('hostname', 'of type string', hostname);
    const p = intArg(port, 'port');
    if (fam !== AF_INET && fam !== AF_INET6 && fam !== AF_UNSPEC) return -1;
    if (p < 1 || p > 65535) return -1;
    this.increfAndLock();
    try {
      this.cancelPendingWork(); // a lookup already running is replaced by this one (libevent: one dns_request)
      this.dnsError = 0;
      this.base.nAdded++; // a pending lookup is a pending event: the loop waits for it
      this.dnsPending = true;
      this.suspendWrite(BEV_SUSPEND_LOOKUP);
      this.suspendRead(BEV_SUSPEND_LOOKUP);
      this.addRef(); // the lookup's reference
      // The answer is delivered inside the loop (decision 11): it activates dnsEv, whose run connects or reports.
      const done = (err: number, addr: ResolvedSockaddr | null): void => {
        if (err === EVUTIL_EAI_CANCEL) return this.lookupDone(err, null);
        this.dnsCancel = null;
        this.dnsResult = { err, addr };
        this.base.activate(this.dnsEv, 1);
      };
      this.dnsCancel = startLookup(dnsBase instanceof EvdnsBase ? dnsBase : null, hostname, fam, p, done);
      return 0;
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** bufferevent_connect_getaddrinfo_cb */
  private lookupDone(err: number, addr: ResolvedSockaddr | null): void {
    this.dnsCancel = null;
    if (this.dnsPending) {
      this.dnsPending = false;
      this.base.unpend();
    }
    this.lockRaw();
    try {
      this.unsuspendWrite(BEV_SUSPEND_LOOKUP);
      this.unsuspendRead(BEV_SUSPEND_LOOKUP);
      if (err === EVUTIL_EAI_CANCEL) {
        this.dnsError = err;
        return;
      }
      if (err !== 0 || addr === null) {
        this.dnsError = err !== 0 ? err : EVUTIL_EAI_NODATA;
        this.runEventcb(BEV_EVENT_ERROR, 0, 0);
        return;
      }
      if (this.dead) return;
      const r = this.connectTo(addr);
      if (r < 0) this.runEventcb(BEV_EVENT_ERROR, 0);
    } finally {
      this.dropRefAndUnlock(); // the lookup's reference
    }
  }

  override cancelPendingWork(): void {
    const c = this.dnsCancel;
    if (c) c();
    else if (this.dnsResult !== null) {
      // answered but not yet delivered: free cancels it all the same (decision 6)
      if (this.dnsEvent !== null) this.base.deactivate(this.dnsEvent);
      this.dnsResult = null;
      this.lookupDone(EVUTIL_EAI_CANCEL, null);
    }
  }

  getDnsError(): number {
    this.live();
    this.lockRaw();
    const e = this.dnsError;
    this.unlockRaw();
    return e;
  }

  // ---- fd ----------------------------------------------------------------------------------------------------------
  override getfd(): number {
    this.live();
    this.lockRaw();
    const fd = socketFd(this.sock ?? this.pendingSock);
    this.unlockRaw();
    return fd;
  }

  override setfd(fd: net.Socket | number): number {
    this.live();
    const f = checkFd(fd);
    this.increfAndLock();
    try {
      this.delRead();
      this.delWrite();
      this.detachSocket(false);
      this.attach(f);
      if (this.dnsCancel) this.dnsCancel();
      // bufferevent_enable(bev, enabled): directions that are suspended stay off
      const en = this.inEffect(this.enabled);
      if (this.w || this.pendingSock) socketOps.enable(this, en);
      return 0;
    } finally {
      this.decrefAndUnlock();
    }
  }

  override replacefd(fd: net.Socket | number): number {
    this.live();
    const f = checkFd(fd);
    this.increfAndLock();
    try {
      if (this.w || this.pendingSock) this.detachSocket(true);
      return this.setfd(f);
    } finally {
      this.decrefAndUnlock();
    }
  }

  /** @internal Forget the current socket; close it when asked (CLOSE_ON_FREE, replacefd). */
  detachSocket(close: boolean): void {
    const p = this.pendingSock;
    if (p) {
      this.pendingSock = null;
      this.pendingOff?.();
      this.pendingOff = null;
      if (close) {
        p.on('error', () => {});
        p.destroy();
      }
    }
    const w = this.releaseSocket();
    if (!w) return;
    // a late error on a socket this bufferevent closes or made must not crash the process (the user's own socket,
    // given back below, is the user's to watch)
    if (close || w.saved === null) w.sock.on('error', noop);
    if (close) {
      // the wrapper owns the handle; when it has closed, sockwrap destroys the original too (which then emits 'close')
      w.sock.destroy();
    } else if (w.original) {
      unwrapSocket(w);
    } else {
      w.sock.pause();
    }
  }

  override prioritySet(pri: number): number {
    this.live();
    const p = intArg(pri, 'pri');
    this.lockRaw();
    try {
      if (p < 0 || p >= this.base.npriorities) return -1;
      // libevent sets ev_read, then ev_write (failing on an active event, keeping what it changed), then the deferred
      // callback (which cannot fail: a queued one moves to the new priority's queue)
      if (this.readEv.queued) return -1;
      this.readEv.priority = p;
      if (this.readTimerObj !== null) this.readTimerObj.priority = p; // the read timeout fires through ev_read
      if (this.dnsEvent !== null) this.dnsEvent.priority = p;
      this.sharedPriority = p;
      if (this.writeEv.queued) return -1;
      this.writeEv.priority = p;
      if (this.writeTimerObj !== null) this.writeTimerObj.priority = p;
      if (this.deferred.queued) {
        this.base.deactivate(this.deferred);
        this.deferred.priority = p;
        this.base.activate(this.deferred, 0);
      } else {
        this.deferred.priority = p;
      }
      return 0;
    } finally {
      this.unlockRaw();
    }
  }

  override getPriority(): number {
    this.live();
    return this.sharedPriority;
  }

  /** bufferevent_base_set (obsolete): move to another base before anything is pending. */
  baseSet(base: EventBase): number {
    this.live();
    if (this.evReadAdded || this.evWriteAdded) {
      this.base = base; // libevent changes ev_base before failing (QUIRK, C16)
      return -1;
    }
    const waiting = this.base.onLoopStart.delete(this);
    this.base = base;
    const pri = Math.floor(base.npriorities / 2);
    for (const cb of [this.readEv, this.writeEv, this.deferred]) {
      cb.base = base;
      cb.priority = pri;
    }
    this.disposeTimers();
    this.dnsEvent = null; // made again, on this base, by the next lookup
    if (waiting) base.onLoopStart.add(this);
    return 0;
  }

  /** @internal */ override cancelAll(): void {
    super.cancelAll();
    this.delRead();
    this.delWrite();
    this.disposeTimers();
    this.base.deactivate(this.readEv);
  }

  /** @internal */ destructSocket(): void {
    this.base.onLoopStart.delete(this);
    this.cancelPendingWork();
    // A write in flight keeps its chain pinned: freeing the output retires the chain, and the write's completion
    // (which sees the bufferevent dead) unpins it, which frees it.
    this.detachSocket((this.options & BEV_OPT_CLOSE_ON_FREE) !== 0);
    // nothing reads into the input any more: release the region handed out for the next read
    if (this.readPin !== 0) S.unpinChain(this.input.a, this.readPin);
    this.readPin = 0;
    this.unpinOrphans();
  }
}

function checkFd(fd: unknown): net.Socket | number {
  if (fd instanceof net.Socket) return fd;
  if (typeof fd !== 'number') throw typeError('fd', 'a net.Socket, a file descriptor or -1', fd);
  if (!Number.isInteger(fd) || fd < -1) throw rangeError('fd', '-1 or a file descriptor >= 0', fd);
  return fd;
}

export const socketOps: BevOps = {
  type: 'socket',
  enable(bev, ev) {
    const b = bev as SocketBufferevent;
    if (ev & EV_READ) b.addRead();
    if (ev & EV_WRITE) b.addWrite();
    return 0;
  },
  disable(bev, ev) {
    const b = bev as SocketBufferevent;
    if (ev & EV_READ) b.delRead();
    if (ev & EV_WRITE && !b.connecting) b.delWrite();
    return 0;
  },
  unlink() {},
  destruct(bev) {
    (bev as SocketBufferevent).destructSocket();
  },
  adjTimeouts(bev) {
    const b = bev as SocketBufferevent;
    if (b.evReadAdded) {
      const t = b.timeoutRead;
      if (t !== null) b.readTimer.arm(t);
      else b.readTimer.clear();
    }
    if (b.evWriteAdded) {
      const t = b.timeoutWrite;
      if (t !== null) b.writeTimer.arm(t);
      else b.writeTimer.clear();
    }
    return 0;
  },
  flush() {
    return 0;
  },
};

export function socketNew(base: EventBase, fd: net.Socket | number, options: number): SocketBufferevent {
  const bev = new SocketBufferevent(base, options);
  bev.setShared('socket', null);
  bev.attach(fd);
  return bev;
}

