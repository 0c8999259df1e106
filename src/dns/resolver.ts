/**
 * A small asynchronous DNS stub resolver over UDP, the engine behind this
 * port's `evdns_base` (`evdns_base_nameserver_ip_add()` +
 * `bufferevent_socket_connect_hostname()` / `evdns_getaddrinfo()`).
 *
 * It follows libevent's evdns where that matters to callers:
 *  - nameservers are given as "a.b.c.d", "a.b.c.d:port", "[v6]:port", "[v6]"
 *    or "v6" (evutil_parse_sockaddr_port rules), port 53 by default;
 *  - an AF_UNSPEC lookup sends the A and the AAAA question at once and lists
 *    IPv4 results before IPv6 ones; once one of the two has answered, the other
 *    gets `allowSkewMs` more (evdns's "getaddrinfo-allow-skew", 3 s) before the
 *    lookup completes with what it has;
 *  - SERVFAIL / NOTIMP / REFUSED make the question move on to the next
 *    nameserver not yet tried (evdns's "reissue"); with none left -> EAI_FAIL;
 *  - numeric hosts and "localhost" are answered without any query.
 *
 * Deviations, as asked of this port: a timeout after every attempt on every
 * nameserver is EVUTIL_EAI_AGAIN (evdns says EAI_FAIL), NOERROR without an
 * address record is EVUTIL_EAI_NODATA, and `cancel()` is silent (evdns calls
 * back with EVUTIL_EAI_CANCEL; that is what `close(true)` does here).
 *
 * Results are always delivered asynchronously, at the earliest in a later
 * event-loop turn (setImmediate).  Sockets are unref'd while no question is in
 * flight, so an idle resolver never keeps the process alive, and ref'd while
 * one is.  Nothing received from the network can make this module throw:
 * malformed or unmatched datagrams are dropped.
 */
import dgram from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  EVUTIL_EAI_ADDRFAMILY,
  EVUTIL_EAI_AGAIN,
  EVUTIL_EAI_CANCEL,
  EVUTIL_EAI_FAIL,
  EVUTIL_EAI_FAMILY,
  EVUTIL_EAI_MEMORY,
  EVUTIL_EAI_NODATA,
  EVUTIL_EAI_NONAME,
} from './eai.ts';
import { AF_UNSPEC, AF_INET, AF_INET6 } from '../sockaddr.ts';
import { TYPE_A, TYPE_AAAA, CLASS_IN, HEADER_LEN, asciiLower, canonicalName, encodeHostName, buildQuery, readName, readAnswers, followChain } from './wire.ts';
import { parseIPv6Bytes, parseLiteral, addressKey, formatIPv6 } from './ip.ts';

export interface ResolvedAddress {
  family: 4 | 6;
  address: string;
}

export interface UdpResolverOptions {
  /** Time to wait for an answer to one transmission (default 5000 ms). */
  timeoutMs?: number;
  /** Transmissions per nameserver before moving to the next (default 2). */
  attempts?: number;
  /**
   * AF_UNSPEC only: once one of the A/AAAA questions is answered, how long the
   * other may still take before the lookup completes without it (default 3000).
   */
  allowSkewMs?: number;
}

export type LookupCallback = (err: number, addrs: ResolvedAddress[]) => void;

export interface LookupRequest {
  cancel(): void;
}

const DNS_PORT = 53;
const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RCODE_REFUSED = 5;

interface Nameserver {
  family: 4 | 6;
  address: string;
  port: number;
  /** Canonical "family/bytes/port" key, to recognise replies by source. */
  key: string;
}

/** One DNS question (A or AAAA) in flight. */
interface Query {
  id: number;
  /** Canonical owner name (lower-case ASCII labels joined by "."). */
  name: string;
  qtype: number;
  packet: Buffer;
  serverIndex: number;
  /** Transmissions made to the current nameserver. */
  attempt: number;
  /** Keys of every nameserver this question was sent to. */
  sentTo: Set<string>;
  timer: NodeJS.Timeout | null;
  /** Bumped on every transmission, to ignore stale send callbacks. */
  generation: number;
  /** Error to report if the nameservers run out (AGAIN after timeouts). */
  exhaustedError: number;
  lookup: Lookup;
}

interface QueryResult {
  err: number;
  addrs: ResolvedAddress[];
}

/** One lookup() call: zero (numeric/localhost), one or two questions. */
interface Lookup {
  cb: LookupCallback;
  queries: Query[];
  /** Results by question type, once each question is over. */
  results: Map<number, QueryResult>;
  skewTimer: NodeJS.Timeout | null;
  immediate: NodeJS.Immediate | null;
  done: boolean;
}

export class UdpResolver {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly allowSkewMs: number;

  private readonly servers: Nameserver[] = [];
  private readonly queries = new Map<number, Query>();
  private readonly lookups = new Set<Lookup>();
  private sock4: Socket | null = null;
  private sock6: Socket | null = null;
  private closed = false;

  constructor(options: UdpResolverOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 5000;
    const attempts = options.attempts ?? 2;
    const allowSkewMs = options.allowSkewMs ?? 3000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new RangeError(`attempts must be an integer >= 1, got ${attempts}`);
    }
    if (!Number.isFinite(allowSkewMs) || allowSkewMs < 0) {
      throw new RangeError(`allowSkewMs must be a number >= 0, got ${allowSkewMs}`);
    }
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
    this.allowSkewMs = allowSkewMs;
  }

  /**
   * evdns_base_nameserver_ip_add(): returns 0 on success (also when the server
   * is already configured; libevent returns 3 there), -1 if `spec` is not an
   * address with an optional port, or if the resolver is closed.
   */
  addNameserver(spec: string): number {
    if (this.closed || typeof spec !== 'string') return -1;
    const ns = parseNameserverSpec(spec);
    if (ns === null) return -1;
    if (!this.servers.some((s) => s.key === ns.key)) this.servers.push(ns);
    return 0;
  }

  get nameserverCount(): number {
    return this.servers.length;
  }

  /**
   * Resolves `host` for `family` (AF_UNSPEC 0, AF_INET 2, AF_INET6 10).  The
   * callback runs exactly once, asynchronously, with 0 and the addresses or
   * with an EVUTIL_EAI_* code and [] -- unless the request is cancelled, or the
   * resolver is closed with failRequests false.
   */
  lookup(host: string, family: 0 | 2 | 10, cb: LookupCallback): LookupRequest {
    const lk: Lookup = {
      cb,
      queries: [],
      results: new Map(),
      skewTimer: null,
      immediate: null,
      done: false,
    };
    const handle: LookupRequest = { cancel: () => this.cancelLookup(lk) };
    this.lookups.add(lk);

    if (this.closed) {
      this.deliverLater(lk, EVUTIL_EAI_FAIL, []);
      return handle;
    }
    if (family !== AF_UNSPEC && family !== AF_INET && family !== AF_INET6) {
      this.deliverLater(lk, EVUTIL_EAI_FAMILY, []);
      return handle;
    }
    if (typeof host !== 'string') {
      this.deliverLater(lk, EVUTIL_EAI_NONAME, []);
      return handle;
    }

    // Numeric addresses never cause a query.
    const literal = parseLiteral(host);
    if (literal !== null) {
      const wanted = family === AF_UNSPEC || (family === AF_INET ? literal.family === 4 : literal.family === 6);
      if (wanted) this.deliverLater(lk, 0, [literal]);
      else this.deliverLater(lk, EVUTIL_EAI_ADDRFAMILY, []);
      return handle;
    }

    // The hosts-file convention for localhost.
    if (asciiLower(host.endsWith('.') ? host.slice(0, -1) : host) === 'localhost') {
      const addrs: ResolvedAddress[] = [];
      if (family !== AF_INET6) addrs.push({ family: 4, address: '127.0.0.1' });
      if (family !== AF_INET) addrs.push({ family: 6, address: '::1' });
      this.deliverLater(lk, 0, addrs);
      return handle;
    }

    const name = encodeHostName(host);
    if (name === null) {
      this.deliverLater(lk, EVUTIL_EAI_NONAME, []);
      return handle;
    }
    if (this.servers.length === 0) {
      this.deliverLater(lk, EVUTIL_EAI_FAIL, []);
      return handle;
    }

    const qtypes = family === AF_INET ? [TYPE_A] : family === AF_INET6 ? [TYPE_AAAA] : [TYPE_A, TYPE_AAAA];
    if (this.queries.size + qtypes.length > 0x10000) {
      // Every transaction id is taken.
      this.deliverLater(lk, EVUTIL_EAI_MEMORY, []);
      return handle;
    }
    for (const qtype of qtypes) {
      const id = this.allocateId();
      const q: Query = {
        id,
        name: name.canonical,
        qtype,
        packet: buildQuery(id, name.wire, qtype),
        serverIndex: 0,
        attempt: 0,
        sentTo: new Set(),
        timer: null,
        generation: 0,
        exhaustedError: EVUTIL_EAI_AGAIN,
        lookup: lk,
      };
      this.queries.set(id, q);
      lk.queries.push(q);
    }
    this.updateRefs();
    for (const q of lk.queries) this.transmit(q);
    return handle;
  }

  /**
   * evdns_base_free(): closes the sockets and forgets every pending lookup.
   * With `failRequests` their callbacks run now, synchronously, with
   * EVUTIL_EAI_CANCEL; otherwise they never run.  Later lookups fail with
   * EVUTIL_EAI_FAIL.
   */
  close(failRequests: boolean): void {
    this.closed = true;
    const pending = [...this.lookups];
    for (const lk of pending) this.teardown(lk);
    this.lookups.clear();
    this.queries.clear();
    for (const sock of [this.sock4, this.sock6]) {
      if (sock !== null) closeSocket(sock);
    }
    this.sock4 = null;
    this.sock6 = null;
    if (!failRequests) return;
    let firstError: unknown = null;
    let failed = false;
    for (const lk of pending) {
      try {
        lk.cb(EVUTIL_EAI_CANCEL, []);
      } catch (e) {
        if (!failed) {
          failed = true;
          firstError = e;
        }
      }
    }
    if (failed) throw firstError;
  }

  // ---------------------------------------------------------------------
  // lookups

  private cancelLookup(lk: Lookup): void {
    if (lk.done) return;
    this.teardown(lk);
    this.updateRefs();
  }

  /** Marks a lookup finished and releases its questions, timers, immediate. */
  private teardown(lk: Lookup): void {
    lk.done = true;
    this.lookups.delete(lk);
    if (lk.immediate !== null) clearImmediate(lk.immediate);
    lk.immediate = null;
    if (lk.skewTimer !== null) clearTimeout(lk.skewTimer);
    lk.skewTimer = null;
    for (const q of lk.queries) this.dropQuery(q);
  }

  private deliverLater(lk: Lookup, err: number, addrs: ResolvedAddress[]): void {
    lk.immediate = setImmediate(() => {
      lk.immediate = null;
      if (lk.done) return;
      this.teardown(lk);
      lk.cb(err, addrs);
    });
  }

  private queryFinished(q: Query, result: QueryResult): void {
    this.dropQuery(q);
    this.updateRefs();
    const lk = q.lookup;
    if (lk.done) return;
    lk.results.set(q.qtype, result);
    const outstanding = lk.queries.filter((other) => !lk.results.has(other.qtype));
    if (outstanding.length === 0) {
      this.complete(lk);
      return;
    }
    // evdns waits for the other half of an AF_UNSPEC lookup only so long,
    // except after NXDOMAIN (the other answer then decides).
    if (result.err !== EVUTIL_EAI_NONAME && lk.skewTimer === null) {
      lk.skewTimer = setTimeout(() => {
        lk.skewTimer = null;
        if (!lk.done) this.complete(lk);
      }, this.allowSkewMs);
    }
  }

  /** Combines the per-question results and runs the callback. */
  private complete(lk: Lookup): void {
    const addrs: ResolvedAddress[] = [];
    const errors: number[] = [];
    for (const q of lk.queries) {
      const r = lk.results.get(q.qtype);
      if (r === undefined) errors.push(EVUTIL_EAI_AGAIN);
      else if (r.err === 0) addrs.push(...r.addrs);
      else errors.push(r.err);
    }
    this.teardown(lk);
    this.updateRefs();
    if (addrs.length > 0) {
      lk.cb(0, addrs);
      return;
    }
    lk.cb(combineErrors(errors), []);
  }

  // ---------------------------------------------------------------------
  // questions

  /** A random transaction id not in use (the caller checked one is free). */
  private allocateId(): number {
    for (;;) {
      const id = randomBytes(2).readUInt16BE(0);
      if (!this.queries.has(id)) return id;
    }
  }

  /** Removes a question from the table and stops its timer. */
  private dropQuery(q: Query): void {
    if (q.timer !== null) clearTimeout(q.timer);
    q.timer = null;
    q.generation++;
    if (this.queries.get(q.id) === q) this.queries.delete(q.id);
  }

  private isActive(q: Query): boolean {
    return this.queries.get(q.id) === q;
  }

  private transmit(q: Query): void {
    const ns = this.servers[q.serverIndex];
    if (ns === undefined) {
      this.queryFinished(q, { err: q.exhaustedError, addrs: [] });
      return;
    }
    q.attempt++;
    q.sentTo.add(ns.key);
    const generation = ++q.generation;
    q.timer = setTimeout(() => {
      q.timer = null;
      if (this.isActive(q) && q.generation === generation) this.onTimeout(q);
    }, this.timeoutMs);
    const sock = this.socketFor(ns.family);
    try {
      sock.send(q.packet, ns.port, ns.address, (err) => {
        // A datagram that could not even be sent: give up on this server now.
        if (err && this.isActive(q) && q.generation === generation) this.nextServer(q, EVUTIL_EAI_AGAIN);
      });
    } catch {
      // The timer above retries.
    }
  }

  private onTimeout(q: Query): void {
    if (q.attempt < this.attempts) this.transmit(q);
    else this.nextServer(q, EVUTIL_EAI_AGAIN);
  }

  /** Moves to the next nameserver; `why` is reported if there is none. */
  private nextServer(q: Query, why: number): void {
    if (q.timer !== null) clearTimeout(q.timer);
    q.timer = null;
    q.exhaustedError = why;
    q.serverIndex++;
    q.attempt = 0;
    this.transmit(q);
  }

  // ---------------------------------------------------------------------
  // sockets

  private socketFor(family: 4 | 6): Socket {
    const existing = family === 4 ? this.sock4 : this.sock6;
    if (existing !== null) return existing;
    const sock =
      family === 4 ? dgram.createSocket({ type: 'udp4' }) : dgram.createSocket({ type: 'udp6', ipv6Only: true });
    sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo));
    sock.on('error', () => {
      // Bind or receive failure: retire the socket; pending questions time
      // out and retransmit through a fresh one.
      if (family === 4 && this.sock4 === sock) this.sock4 = null;
      if (family === 6 && this.sock6 === sock) this.sock6 = null;
      closeSocket(sock);
    });
    if (family === 4) this.sock4 = sock;
    else this.sock6 = sock;
    if (this.queries.size === 0) sock.unref();
    return sock;
  }

  private updateRefs(): void {
    const busy = this.queries.size > 0;
    for (const sock of [this.sock4, this.sock6]) {
      if (sock === null) continue;
      try {
        if (busy) sock.ref();
        else sock.unref();
      } catch {
        // closed underneath us: nothing to hold
      }
    }
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < HEADER_LEN) return;
    const q = this.queries.get(msg.readUInt16BE(0));
    if (q === undefined) return;
    const source = addressKey(rinfo.address, rinfo.port);
    if (source === null || !q.sentTo.has(source)) return;
    const flags = msg.readUInt16BE(2);
    if ((flags & 0x8000) === 0) return; // not a response
    if (((flags >> 11) & 0xf) !== 0) return; // not a standard query
    const truncated = (flags & 0x0200) !== 0;
    const rcode = flags & 0xf;
    const qdcount = msg.readUInt16BE(4);
    const ancount = msg.readUInt16BE(6);
    if (qdcount < 1) return;

    // The question must be ours (same name, type and class).
    const qname = readName(msg, HEADER_LEN);
    if (qname === null || qname.next + 4 > msg.length) return;
    if (canonicalName(qname.labels) !== q.name) return;
    if (msg.readUInt16BE(qname.next) !== q.qtype || msg.readUInt16BE(qname.next + 2) !== CLASS_IN) return;
    let pos = qname.next + 4;
    for (let i = 1; i < qdcount; i++) {
      const extra = readName(msg, pos);
      if (extra === null || extra.next + 4 > msg.length) {
        if (truncated) break;
        return;
      }
      pos = extra.next + 4;
    }

    switch (rcode) {
      case RCODE_NOERROR:
        break;
      case RCODE_NXDOMAIN:
        this.queryFinished(q, { err: EVUTIL_EAI_NONAME, addrs: [] });
        return;
      case RCODE_SERVFAIL:
      case RCODE_NOTIMP:
      case RCODE_REFUSED:
        // evdns reissues to another nameserver; FAIL once none is left.  A
        // late refusal from a server already given up on changes nothing.
        if (this.servers[q.serverIndex]?.key === source) this.nextServer(q, EVUTIL_EAI_FAIL);
        return;
      default:
        this.queryFinished(q, { err: EVUTIL_EAI_FAIL, addrs: [] });
        return;
    }

    const records = readAnswers(msg, pos, ancount, truncated);
    if (records === null) return; // malformed: wait for another reply or the timer
    const addrs = followChain(records, q.name, q.qtype);
    if (addrs.length > 0) this.queryFinished(q, { err: 0, addrs });
    else this.queryFinished(q, { err: truncated ? EVUTIL_EAI_FAIL : EVUTIL_EAI_NODATA, addrs: [] });
  }
}

// -------------------------------------------------------------------------
// helpers

function closeSocket(sock: Socket): void {
  try {
    sock.close();
  } catch {
    // already closed
  }
}

/** Priority when no address came back: a retry may help, then hard failures. */
function combineErrors(errors: number[]): number {
  for (const code of [EVUTIL_EAI_AGAIN, EVUTIL_EAI_FAIL, EVUTIL_EAI_NODATA, EVUTIL_EAI_NONAME]) {
    if (errors.includes(code)) return code;
  }
  return errors[0] ?? EVUTIL_EAI_FAIL;
}

/** evutil_parse_sockaddr_port() rules; port 53 when none is given. */
function parseNameserverSpec(spec: string): Nameserver | null {
  let host: string;
  let portText: string | null = null;
  let bracketed = false;
  if (spec.startsWith('[')) {
    const close = spec.indexOf(']');
    if (close < 0) return null;
    host = spec.slice(1, close);
    bracketed = true;
    const rest = spec.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
  } else {
    const first = spec.indexOf(':');
    if (first >= 0 && first === spec.lastIndexOf(':')) {
      host = spec.slice(0, first); // "a.b.c.d:port"
      portText = spec.slice(first + 1);
    } else {
      host = spec; // no colon, or a bare IPv6 address
    }
  }
  let port = DNS_PORT;
  if (portText !== null) {
    if (!/^[0-9]{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  let family: 4 | 6;
  if (!bracketed && isIPv4(host)) family = 4;
  else if (isIPv6(host) && !host.includes('%')) family = 6;
  else return null;
  const key = addressKey(host, port);
  if (key === null) return null;
  const address = family === 6 ? formatIPv6(parseIPv6Bytes(host) ?? new Uint8Array(16)) : host;
  return { family, address, port, key };
}
