/**
 * Records written by the stress writers, and the checker that reads them back.
 *
 * A record is a 16-byte header and a payload whose every byte is a function of (writer, seq, index), so a byte out
 * of place is seen:
 *
 * | bytes | field   | meaning                                        |
 * |-------|---------|------------------------------------------------|
 * | 0..3  | magic   | 0xB5E7C0DE, little-endian                      |
 * | 4..7  | seq     | the writer's sequence number, from 0           |
 * | 8..9  | writer  | the writer's id                                |
 * | 10..11| check   | (seq * 31 + writer * 7 + len) & 0xffff         |
 * | 12..15| len     | payload length                                 |
 */
export const RECORD_MAGIC = 0xb5e7c0de;
export const RECORD_HEADER = 16;
export const RECORD_MAX_PAYLOAD = 64 * 1024;

export function payloadByte(writer: number, seq: number, i: number): number {
  return (writer * 131 + seq * 17 + i * 7 + (i >>> 8)) & 0xff;
}

function headerCheck(writer: number, seq: number, len: number): number {
  return (seq * 31 + writer * 7 + len) & 0xffff;
}

/** The whole record as bytes. */
export function encodeRecord(writer: number, seq: number, len: number): Uint8Array {
  const b = new Uint8Array(RECORD_HEADER + len);
  const v = new DataView(b.buffer);
  v.setUint32(0, RECORD_MAGIC, true);
  v.setUint32(4, seq, true);
  v.setUint16(8, writer, true);
  v.setUint16(10, headerCheck(writer, seq, len), true);
  v.setUint32(12, len, true);
  for (let i = 0; i < len; i++) b[RECORD_HEADER + i] = payloadByte(writer, seq, i);
  return b;
}

/** Split a record into `parts` pieces (the first holds the header), for multi-part writes. */
export function splitRecord(rec: Uint8Array, parts: number): Uint8Array[] {
  if (parts <= 1 || rec.length < 2) return [rec];
  const out: Uint8Array[] = [];
  const step = Math.max(1, Math.ceil(rec.length / parts));
  for (let k = 0; k < rec.length; k += step) out.push(rec.subarray(k, Math.min(rec.length, k + step)));
  return out;
}

/** Parse a header at `off`: the record's total length, or -1 when the bytes there are not a valid header. */
export function headerAt(b: Uint8Array, off: number, writers: number): { seq: number; writer: number; len: number } | null {
  if (off + RECORD_HEADER > b.length) return null;
  const v = new DataView(b.buffer, b.byteOffset + off, RECORD_HEADER);
  if (v.getUint32(0, true) !== RECORD_MAGIC) return null;
  const seq = v.getUint32(4, true);
  const writer = v.getUint16(8, true);
  const len = v.getUint32(12, true);
  if (writer >= writers || len > RECORD_MAX_PAYLOAD || v.getUint16(10, true) !== headerCheck(writer, seq, len)) return null;
  return { seq, writer, len };
}

export interface StreamReport {
  records: number;
  bytes: number;
  lost: number;
  duplicated: number;
  reordered: number;
  torn: number;
  /** bytes skipped while looking for the next valid record after a torn one */
  garbage: number;
  /** the first problems, for the failure report */
  examples: string[];
}

export function emptyReport(): StreamReport {
  return { records: 0, bytes: 0, lost: 0, duplicated: 0, reordered: 0, torn: 0, garbage: 0, examples: [] };
}

/**
 * Check a consumed stream. `expected[w]` is how many records writer w completed (the checker expects exactly seqs
 * 0..expected-1 of each writer, each once, in order); `inflight[w]` marks a writer that died with record `expected[w]`
 * under way: that one record may be there whole, or be absent. A torn record is a valid header whose payload is cut or
 * mixed with other bytes; the checker then looks for the next valid header and counts the bytes in between.
 */
export function checkStream(
  b: Uint8Array,
  expected: readonly number[],
  inflight: readonly boolean[] | null = null,
  into: StreamReport = emptyReport(),
): StreamReport {
  const writers = expected.length;
  // a dead writer's record in flight (seq == expected) may be there, whole, or not at all
  const limit = expected.map((n, w) => n + (inflight?.[w] ? 1 : 0));
  const seenSets = limit.map((n) => new Uint8Array(n + 1));
  const next = expected.map(() => 0);
  const note = (s: string): void => {
    if (into.examples.length < 8) into.examples.push(s);
  };
  into.bytes += b.length;
  let off = 0;
  while (off < b.length) {
    const h = headerAt(b, off, writers);
    if (h === null) {
      // not a record boundary: skip to the next valid header
      let k = off + 1;
      while (k < b.length && headerAt(b, k, writers) === null) k++;
      into.garbage += k - off;
      if (into.garbage === k - off) note(`${k - off} byte(s) at offset ${off} belong to no record`);
      off = k;
      continue;
    }
    const end = off + RECORD_HEADER + h.len;
    let intact = end <= b.length;
    for (let i = 0; intact && i < h.len; i++) if (b[off + RECORD_HEADER + i] !== payloadByte(h.writer, h.seq, i)) intact = false;
    if (!intact) {
      into.torn++;
      if (h.seq < limit[h.writer]!) seenSets[h.writer]![h.seq] = 1; // counted as torn, not also as lost
      note(`torn: writer ${h.writer} seq ${h.seq} (${h.len} B) at offset ${off}`);
      off += RECORD_HEADER;
      continue;
    }
    into.records++;
    const w = h.writer;
    const set = seenSets[w]!;
    if (h.seq < set.length - 1 && set[h.seq] === 1) {
      into.duplicated++;
      note(`duplicated: writer ${w} seq ${h.seq}`);
    } else if (h.seq >= limit[w]!) {
      into.duplicated++;
      note(`writer ${w} seq ${h.seq}: never written (the writer completed ${expected[w]})`);
    } else {
      if (h.seq !== next[w]) {
        if (h.seq < next[w]!) {
          into.reordered++;
          note(`reordered: writer ${w} seq ${h.seq} after seq ${next[w]! - 1}`);
        } else next[w] = h.seq + 1;
      } else next[w] = h.seq + 1;
      set[h.seq] = 1;
    }
    off = end;
  }
  for (let w = 0; w < writers; w++) {
    const set = seenSets[w]!;
    let missing = 0;
    for (let s = 0; s < expected[w]!; s++) if (set[s] !== 1) missing++;
    if (missing > 0) {
      into.lost += missing;
      note(`lost: ${missing} record(s) of writer ${w}`);
    }
  }
  return into;
}

/** Concatenate chunks. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
