import { describe, expect, it } from 'vitest';
import { linearize, type HistoryEntry } from '../../src/stress/model.ts';
import { checkStream, concat, encodeRecord } from '../../src/stress/records.ts';

const e = (thread: number, op: HistoryEntry['op'], result: HistoryEntry['result'], start: number, end: number): HistoryEntry => ({ thread, op, result, start, end });

describe('linearizability check', () => {
  it('accepts overlapping operations that some order explains', () => {
    const h = [
      [e(0, { kind: 'add', data: 'A0' }, null, 0, 3)],
      [e(1, { kind: 'remove', n: 2 }, 'A0', 1, 4)],
    ];
    expect(linearize(h, '', '').ok).toBe(true);
  });
  it('rejects a result no order explains', () => {
    const h = [[e(0, { kind: 'add', data: 'A0' }, null, 0, 1)], [e(1, { kind: 'copyout', n: 2 }, 'B0', 2, 3)]];
    expect(linearize(h, '', 'A0').ok).toBe(false);
  });
  it('respects real time: an operation that began after another ended cannot be ordered before it', () => {
    // the length read began after the add returned, so it must see the bytes
    const h = [[e(0, { kind: 'add', data: 'A0' }, null, 0, 1)], [e(1, { kind: 'length' }, 0, 2, 3)]];
    expect(linearize(h, '', 'A0').ok).toBe(false);
    // overlapping, the same read is fine
    const o = [[e(0, { kind: 'add', data: 'A0' }, null, 0, 3)], [e(1, { kind: 'length' }, 0, 1, 2)]];
    expect(linearize(o, '', 'A0').ok).toBe(true);
  });
  it('checks the final contents', () => {
    const h = [[e(0, { kind: 'add', data: 'A0' }, null, 0, 1)], [e(1, { kind: 'prepend', data: 'b0' }, null, 2, 3)]];
    expect(linearize(h, '', 'b0A0').ok).toBe(true);
    expect(linearize(h, '', 'A0b0').ok).toBe(false);
  });
});

describe('record stream check', () => {
  const r = (w: number, s: number, n = 10) => encodeRecord(w, s, n);
  it('passes a whole, ordered stream', () => {
    const rep = checkStream(concat([r(1, 0), r(2, 0), r(1, 1), r(2, 1, 300)]), [0, 2, 2]);
    expect(rep).toMatchObject({ records: 4, lost: 0, duplicated: 0, reordered: 0, torn: 0, garbage: 0 });
  });
  it('finds lost, duplicated and reordered records', () => {
    expect(checkStream(concat([r(1, 0), r(1, 2)]), [0, 3]).lost).toBe(1);
    expect(checkStream(concat([r(1, 0), r(1, 0), r(1, 1)]), [0, 2]).duplicated).toBe(1);
    expect(checkStream(concat([r(1, 1), r(1, 0)]), [0, 2]).reordered).toBe(1);
  });
  it('finds a record torn by another writer\'s bytes, and resynchronises after it', () => {
    const a = r(1, 0, 40);
    const b = r(2, 0, 40);
    const mixed = concat([a.subarray(0, 30), b, a.subarray(30), r(1, 1)]);
    const rep = checkStream(mixed, [0, 2, 1]);
    expect(rep.torn).toBeGreaterThanOrEqual(1);
    expect(rep.records).toBeGreaterThanOrEqual(2); // writer 2's record and writer 1's next one are still found
  });
  it('accepts a dead writer\'s unfinished record as present or absent, nothing else', () => {
    expect(checkStream(concat([r(1, 0)]), [0, 0], [false, true]).duplicated).toBe(0);
    expect(checkStream(concat([]), [0, 0], [false, true]).lost).toBe(0);
    expect(checkStream(concat([r(1, 0), r(1, 1)]), [0, 0], [false, true]).duplicated).toBe(1);
  });
});
