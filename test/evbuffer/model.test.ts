import { describe, it, expect } from 'vitest';
import { Evbuffer, EVBUFFER_EOL_LF, EVBUFFER_EOL_CRLF } from '../../src/evbuffer/evbuffer.ts';
import { localArena } from '../../src/shm/arena.ts';
import { prng, randInt, randBytes } from '../support/prng.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as L from '../../src/index.ts';

/** A file whose ranges op 12 adds with evbuffer_add_file (file chains, read only when their bytes are needed). */
const fileBytes = randBytes(prng(99), 200_000);
const filePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bev-model-')), 'data.bin');
fs.writeFileSync(filePath, fileBytes);

/** A plain byte array as the reference model. */
class Model {
  buf: Buffer = Buffer.alloc(0);
  get length() { return this.buf.length; }
  add(b: Uint8Array) { this.buf = Buffer.concat([this.buf, b]); }
  prepend(b: Uint8Array) { this.buf = Buffer.concat([b, this.buf]); }
  take(n: number): Buffer { const out = this.buf.subarray(0, n); this.buf = this.buf.subarray(n); return Buffer.from(out); }
}

function contents(buf: Evbuffer): Buffer {
  const out = Buffer.alloc(buf.getLength());
  buf.copyout(out);
  return out;
}

function run(seed: number, steps: number, locked: boolean) {
  const r = prng(seed);
  const a = Evbuffer.create();
  const b = Evbuffer.create();
  if (locked) { a.enableLocking(); b.enableLocking(); }
  const ma = new Model();
  const mb = new Model();
  for (let step = 0; step < steps; step++) {
    const op = randInt(r, 0, 12);
    const size = r() < 0.05 ? randInt(r, 2000, 70000) : randInt(r, 0, 300);
    switch (op) {
      case 0: case 1: { const d = randBytes(r, size); expect(a.add(d)).toBe(0); ma.add(d); break; }
      case 2: { const d = randBytes(r, size); expect(a.prepend(d)).toBe(0); ma.prepend(d); break; }
      case 3: { const out = new Uint8Array(size); const n = a.remove(out); expect(n).toBe(Math.min(size, ma.length)); expect(Buffer.compare(out.subarray(0, n), ma.take(n))).toBe(0); break; }
      case 4: { a.drain(size); ma.take(size); break; }
      case 5: { const n = Math.min(size, ma.length); const v = a.pullup(n); if (n === 0) expect(v).toBeNull(); else expect(Buffer.compare(v!, ma.buf.subarray(0, n))).toBe(0); break; }
      case 6: { expect(b.addBuffer(a)).toBe(0); mb.add(ma.take(ma.length)); break; }
      case 7: { const n = b.removeBuffer(a, size); expect(n).toBe(Math.min(size, mb.length)); ma.add(mb.take(n)); break; }
      case 8: { expect(a.prependBuffer(b)).toBe(0); ma.prepend(mb.take(mb.length)); break; }
      case 9: { const s = 'line ' + step + (r() < 0.5 ? '\r\n' : '\n'); a.add(s); ma.add(new TextEncoder().encode(s)); break; }
      case 10: {
        const style = r() < 0.5 ? EVBUFFER_EOL_LF : EVBUFFER_EOL_CRLF;
        const nl = ma.buf.indexOf(10);
        const out: { n_read?: number } = {};
        const line = a.readln(out, style, 'latin1') as string | null;
        if (nl < 0) { expect(line).toBeNull(); break; }
        let end = nl;
        if (style === EVBUFFER_EOL_CRLF && nl > 0 && ma.buf[nl - 1] === 13) end = nl - 1;
        // CRLF style: a lone \r followed by \n is part of the EOL only when adjacent; model matches libevent's rule
        const expected = ma.buf.toString('latin1', 0, end);
        expect(line).toBe(expected);
        expect(out.n_read).toBe(end);
        ma.take(nl + 1);
        break;
      }
      case 12: {
        const off = randInt(r, 0, fileBytes.length - 1);
        const len = Math.min(size, fileBytes.length - off);
        const fd = fs.openSync(filePath, 'r');
        expect(L.evbuffer_add_file(a, fd, off, len)).toBe(0); // the buffer closes the fd when done with it
        ma.add(fileBytes.subarray(off, off + len));
        break;
      }
      case 11: {
        if (ma.length < 4) break;
        const at = randInt(r, 0, ma.length - 4);
        const needle = new Uint8Array(ma.buf.subarray(at, at + randInt(r, 1, 4)));
        const p = a.search(needle, needle.length, null);
        const s = ma.buf.indexOf(Buffer.from(needle));
        expect(p.pos).toBe(s);
        break;
      }
    }
    a.validate();
    b.validate();
    expect(a.getLength()).toBe(ma.length);
    expect(b.getLength()).toBe(mb.length);
    if (step % 20 === 0) { expect(contents(a).equals(ma.buf)).toBe(true); expect(contents(b).equals(mb.buf)).toBe(true); }
  }
  expect(contents(a).equals(ma.buf)).toBe(true);
  a.free();
  b.free();
}

describe('evbuffer against a byte-array model', () => {
  it('matches the model over 3000 random operations (seed 1)', () => run(1, 3000, false));
  it('matches the model over 3000 random operations with locking (seed 2)', () => run(2, 3000, true));
  it('matches the model for seeds 3..6', () => { for (let s = 3; s <= 6; s++) run(s, 1500, s % 2 === 0); });
  it('gives every block back to the arena after free', () => {
    const before = localArena().liveBlocks();
    run(7, 800, true);
    expect(localArena().liveBlocks()).toBe(before);
  });
});
