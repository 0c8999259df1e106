/**
 * A tiny authoritative-looking DNS server over UDP on 127.0.0.1, for tests.
 *
 * It answers from a table keyed by name (case-insensitive, trailing dot
 * optional).  Deliberately written independently of src/dns/resolver.ts so the
 * two do not share parsing bugs.
 *
 *  - unknown name                -> NXDOMAIN
 *  - `drop: true`                -> no answer at all (timeouts)
 *  - `silentTypes: [28]`         -> no answer to queries of those types
 *  - `rcode: n`                  -> header RCODE n, no records
 *  - `CNAME: target`             -> a CNAME record, then whatever the table
 *                                   holds for the target (followed further)
 *  - `A` / `AAAA`                -> address records for matching queries
 *  - `TXT`                       -> an extra TXT record in every answer
 *                                   (resolvers must skip it)
 *  - `tc: true`                  -> TC bit set in the reply
 *  - `decoy`                     -> before the real reply, a bogus one that a
 *                                   resolver must ignore: `'id'` wrong
 *                                   transaction id, `'question'` different
 *                                   question, `'malformed'` a reply cut short,
 *                                   `'port'` sent from another port.  Decoys
 *                                   carry the address 192.0.2.66 / 2001:db8::66.
 *
 * Owner names after the question are written as compression pointers, so the
 * resolver's pointer handling is exercised.
 */
import dgram from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';

export interface DnsRecordSpec {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  rcode?: number;
  drop?: boolean;
  /** Query types (1 = A, 28 = AAAA, ...) that get no reply, like `drop`. */
  silentTypes?: number[];
  TXT?: string;
  tc?: boolean;
  decoy?: 'id' | 'question' | 'malformed' | 'port';
}

export interface DnsTestServer {
  port: number;
  address: string;
  queries: Array<{ name: string; type: number }>;
  close(): Promise<void>;
}

const T_A = 1;
const T_CNAME = 5;
const T_TXT = 16;
const T_AAAA = 28;

function norm(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

function ipv4Bytes(a: string): Buffer {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new Error(`bad IPv4 address in test table: ${a}`);
  }
  return Buffer.from(parts);
}

function ipv6Bytes(text: string): Buffer {
  let a = text;
  let v4: Buffer | null = null;
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted !== null) {
    v4 = ipv4Bytes(dotted[2] ?? '');
    a = `${dotted[1] ?? ''}0:0`;
  }
  const halves = a.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address in test table: ${text}`);
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new Error(`bad IPv6 address in test table: ${text}`);
  }
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (v4 !== null) v4.copy(out, 12);
  return out;
}

interface Question {
  id: number;
  rd: boolean;
  name: string;
  rawName: Buffer;
  type: number;
  cls: number;
}

/** Queries are simple: one uncompressed question. */
function parseQuery(msg: Buffer): Question | null {
  if (msg.length < 12) return null;
  if (msg.readUInt16BE(4) !== 1) return null;
  if ((msg.readUInt16BE(2) & 0x8000) !== 0) return null;
  const labels: string[] = [];
  let pos = 12;
  for (;;) {
    const len = msg[pos];
    if (len === undefined || len > 63) return null;
    if (len === 0) {
      pos++;
      break;
    }
    if (pos + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  if (pos + 4 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    rd: (msg.readUInt16BE(2) & 0x0100) !== 0,
    name: labels.join('.'),
    rawName: msg.subarray(12, pos),
    type: msg.readUInt16BE(pos),
    cls: msg.readUInt16BE(pos + 2),
  };
}

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of norm(name).split('.')) {
    if (label === '') continue;
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

class ReplyWriter {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Offsets of names already written, for compression pointers. */
  private readonly offsets = new Map<string, number>();
  answers = 0;

  constructor(q: Question, rcode: number, tc: boolean, id = q.id, questionName?: Buffer) {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    let flags = 0x8000 | 0x0400 | 0x0080 | (rcode & 0xf); // QR, AA, RA
    if (q.rd) flags |= 0x0100;
    if (tc) flags |= 0x0200;
    header.writeUInt16BE(flags, 2);
    header.writeUInt16BE(1, 4);
    this.push(header);
    const qname = questionName ?? q.rawName;
    this.offsets.set(norm(decodeSimple(qname)), this.length);
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.cls, 2);
    this.push(qname);
    this.push(tail);
  }

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** A name as a pointer if it was written before, else in full. */
  private nameRef(name: string): Buffer {
    const off = this.offsets.get(norm(name));
    if (off !== undefined) return Buffer.from([0xc0 | (off >> 8), off & 0xff]);
    return encodeName(name);
  }

  record(owner: string, type: number, rdata: Buffer | { name: string }): void {
    const ownerBuf = this.nameRef(owner);
    if (!this.offsets.has(norm(owner))) this.offsets.set(norm(owner), this.length);
    this.push(ownerBuf);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(60, 4);
    if (Buffer.isBuffer(rdata)) {
      fixed.writeUInt16BE(rdata.length, 8);
      this.push(fixed);
      this.push(rdata);
    } else {
      const target = encodeName(rdata.name); // written in full, then pointed at
      fixed.writeUInt16BE(target.length, 8);
      this.push(fixed);
      if (!this.offsets.has(norm(rdata.name))) this.offsets.set(norm(rdata.name), this.length);
      this.push(target);
    }
    this.answers++;
  }

  finish(): Buffer {
    const buf = Buffer.concat(this.chunks);
    buf.writeUInt16BE(this.answers, 6);
    return buf;
  }
}

function decodeSimple(raw: Buffer): string {
  const labels: string[] = [];
  let pos = 0;
  while (pos < raw.length && raw[pos] !== 0) {
    const len = raw[pos] ?? 0;
    labels.push(raw.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return labels.join('.');
}

export async function startDnsServer(records: Record<string, DnsRecordSpec>): Promise<DnsTestServer> {
  const table = new Map<string, DnsRecordSpec>();
  for (const [name, spec] of Object.entries(records)) table.set(norm(name), spec);

  const sock = dgram.createSocket('udp4');
  const queries: Array<{ name: string; type: number }> = [];

  function answer(q: Question, spec: DnsRecordSpec, id = q.id, questionName?: Buffer): Buffer {
    const w = new ReplyWriter(q, 0, spec.tc === true, id, questionName);
    let owner = norm(q.name);
    let current: DnsRecordSpec | undefined = spec;
    const seen = new Set<string>();
    while (current !== undefined && !seen.has(owner)) {
      seen.add(owner);
      if (current.TXT !== undefined) {
        const txt = Buffer.from(current.TXT, 'latin1').subarray(0, 255);
        w.record(owner, T_TXT, Buffer.concat([Buffer.from([txt.length]), txt]));
      }
      if (current.CNAME !== undefined && q.type !== T_CNAME) {
        w.record(owner, T_CNAME, { name: current.CNAME });
        owner = norm(current.CNAME);
        current = table.get(owner);
        continue;
      }
      if (q.type === T_A) for (const a of current.A ?? []) w.record(owner, T_A, ipv4Bytes(a));
      if (q.type === T_AAAA) for (const a of current.AAAA ?? []) w.record(owner, T_AAAA, ipv6Bytes(a));
      break;
    }
    return w.finish();
  }

  function decoy(q: Question, kind: NonNullable<DnsRecordSpec['decoy']>): Buffer {
    const bogus: DnsRecordSpec = { A: ['192.0.2.66'], AAAA: ['2001:db8::66'] };
    switch (kind) {
      case 'id':
        return answer(q, bogus, (q.id + 1) & 0xffff);
      case 'question':
        return answer({ ...q, name: `decoy.${q.name}` }, bogus, q.id, encodeName(`decoy.${q.name}`));
      case 'malformed': {
        const full = answer(q, bogus);
        return full.subarray(0, full.length - 3);
      }
      case 'port':
        return answer(q, bogus);
    }
  }

  async function sendFrom(other: boolean, buf: Buffer, rinfo: RemoteInfo): Promise<void> {
    if (!other) {
      sock.send(buf, rinfo.port, rinfo.address);
      return;
    }
    const alt = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => alt.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => alt.send(buf, rinfo.port, rinfo.address, () => resolve()));
    await new Promise<void>((resolve) => alt.close(() => resolve()));
  }

  async function handle(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const q = parseQuery(msg);
    if (q === null) return;
    queries.push({ name: q.name, type: q.type });
    const spec = table.get(norm(q.name));
    if (spec === undefined) {
      sock.send(new ReplyWriter(q, 3, false).finish(), rinfo.port, rinfo.address);
      return;
    }
    if (spec.drop === true || spec.silentTypes?.includes(q.type) === true) return;
    if (spec.rcode !== undefined) {
      sock.send(new ReplyWriter(q, spec.rcode, spec.tc === true).finish(), rinfo.port, rinfo.address);
      return;
    }
    if (spec.decoy !== undefined) await sendFrom(spec.decoy === 'port', decoy(q, spec.decoy), rinfo);
    sock.send(answer(q, spec), rinfo.port, rinfo.address);
  }

  let closed = false;
  sock.on('message', (msg, rinfo) => {
    handle(msg, rinfo).catch(() => {
      // the server is closing underneath a reply; nothing to do
    });
  });
  sock.on('error', () => {
    // tests observe failures through the resolver
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const addr = sock.address();
  return {
    port: addr.port,
    address: addr.address,
    queries,
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}
