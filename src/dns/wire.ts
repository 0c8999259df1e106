/**
 * The DNS message format (RFC 1035) as the stub resolver (resolver.ts) needs it: encoding a question, and decoding
 * the answer section with name compression, CNAME chains and A/AAAA records. Nothing received from the network can
 * make these functions throw: a malformed message decodes to null.
 */
import { domainToASCII } from 'node:url';
import type { ResolvedAddress } from './resolver.ts';
import { formatIPv4, formatIPv6 } from './ip.ts';

export const TYPE_A = 1;

export const TYPE_CNAME = 5;

export const TYPE_AAAA = 28;

export const CLASS_IN = 1;

export const HEADER_LEN = 12;

/** Compression pointers followed while reading one name. */
export const MAX_POINTER_JUMPS = 64;

/** Longest encoded name (RFC 1035 2.3.4). */
export const MAX_NAME_WIRE_LEN = 255;

/** CNAME links followed within one response. */
export const MAX_CNAME_HOPS = 16;

export interface ParsedRecord {
  owner: string;
  type: number;
  cls: number;
  /** CNAME target (canonical) */
  target?: string;
  /** A / AAAA address */
  address?: ResolvedAddress;
}

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function canonicalName(labels: string[]): string {
  return labels.map((l) => asciiLower(l).replace(/[\\.]/g, '\\$&')).join('.');
}

/** Host name -> wire-format QNAME, or null if it cannot be a DNS name. */
export function encodeHostName(host: string): { wire: Buffer; canonical: string } | null {
  let h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (h === '') return null;
  if (/[^\x00-\x7f]/.test(h)) {
    h = domainToASCII(h);
    if (h === '') return null;
  }
  const labels = h.split('.');
  const parts: Buffer[] = [];
  let total = 1;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) return null;
    total += label.length + 1;
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  }
  if (total > MAX_NAME_WIRE_LEN) return null;
  parts.push(Buffer.from([0]));
  return { wire: Buffer.concat(parts), canonical: canonicalName(labels) };
}

export function buildQuery(id: number, qname: Buffer, qtype: number): Buffer {
  const buf = Buffer.alloc(HEADER_LEN + qname.length + 4);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2); // QR=0, OPCODE=QUERY, RD=1
  buf.writeUInt16BE(1, 4); // QDCOUNT
  qname.copy(buf, HEADER_LEN);
  buf.writeUInt16BE(qtype, HEADER_LEN + qname.length);
  buf.writeUInt16BE(CLASS_IN, HEADER_LEN + qname.length + 2);
  return buf;
}

/**
 * Reads a possibly compressed name at `offset`.  `next` is the offset just
 * past the name where it starts (not where pointers lead).  Returns null on
 * anything malformed: truncation, reserved label types, pointer loops (at most
 * MAX_POINTER_JUMPS jumps), names longer than 255 octets.
 */
export function readName(msg: Buffer, offset: number): { labels: string[]; next: number } | null {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 1;
  for (;;) {
    const len = msg[pos];
    if (len === undefined) return null;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { labels, next };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const low = msg[pos + 1];
      if (low === undefined) return null;
      if (next < 0) next = pos + 2;
      if (++jumps > MAX_POINTER_JUMPS) return null;
      pos = ((len & 0x3f) << 8) | low;
      continue;
    }
    if (kind !== 0) return null;
    if (pos + 1 + len > msg.length) return null;
    length += len + 1;
    if (length > MAX_NAME_WIRE_LEN) return null;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
}

/**
 * Parses `count` answer records starting at `pos`.  A malformed record makes
 * the whole message unusable (null), unless the message is truncated, in which
 * case the records read so far are kept.
 */
export function readAnswers(msg: Buffer, start: number, count: number, truncated: boolean): ParsedRecord[] | null {
  const records: ParsedRecord[] = [];
  let pos = start;
  for (let i = 0; i < count; i++) {
    const rec = readRecord(msg, pos);
    if (rec === null) return truncated ? records : null;
    pos = rec.next;
    if (rec.record !== null) records.push(rec.record);
  }
  return records;
}

export function readRecord(msg: Buffer, pos: number): { record: ParsedRecord | null; next: number } | null {
  const owner = readName(msg, pos);
  if (owner === null || owner.next + 10 > msg.length) return null;
  let p = owner.next;
  const type = msg.readUInt16BE(p);
  const cls = msg.readUInt16BE(p + 2);
  const rdlength = msg.readUInt16BE(p + 8);
  p += 10;
  const rdEnd = p + rdlength;
  if (rdEnd > msg.length) return null;
  const ownerName = canonicalName(owner.labels);
  if (cls !== CLASS_IN) return { record: null, next: rdEnd };
  switch (type) {
    case TYPE_A:
      if (rdlength !== 4) return null;
      return {
        record: { owner: ownerName, type, cls, address: { family: 4, address: formatIPv4(msg.subarray(p, rdEnd)) } },
        next: rdEnd,
      };
    case TYPE_AAAA:
      if (rdlength !== 16) return null;
      return {
        record: { owner: ownerName, type, cls, address: { family: 6, address: formatIPv6(msg.subarray(p, rdEnd)) } },
        next: rdEnd,
      };
    case TYPE_CNAME: {
      const target = readName(msg, p);
      if (target === null || target.next > rdEnd) return null;
      return { record: { owner: ownerName, type, cls, target: canonicalName(target.labels) }, next: rdEnd };
    }
    default:
      return { record: null, next: rdEnd };
  }
}

/** Addresses of `qtype` for `name`, following CNAMEs inside the response. */
export function followChain(records: ParsedRecord[], name: string, qtype: number): ResolvedAddress[] {
  let current = name;
  const seen = new Set<string>([current]);
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const addrs: ResolvedAddress[] = [];
    for (const r of records) {
      if (r.owner === current && r.type === qtype && r.address !== undefined) addrs.push(r.address);
    }
    if (addrs.length > 0) return addrs;
    const alias = records.find((r) => r.owner === current && r.type === TYPE_CNAME);
    if (alias?.target === undefined || seen.has(alias.target)) return [];
    current = alias.target;
    seen.add(current);
  }
  return [];
}
