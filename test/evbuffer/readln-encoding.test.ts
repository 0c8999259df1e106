import { describe, it, expect } from 'vitest';
import * as L from '../../src/index.ts';

describe('evbuffer_readln encodings', () => {
  it("'utf8' returns the text that was added; the default stays one char per byte, as libevent's bytes", () => {
    const b = L.evbuffer_new();
    const text = 'héllo wörld ✓';
    L.evbuffer_add(b, `${text}\n${text}\n${text}\n`);
    const n = { n_read: -1 };
    expect(L.evbuffer_readln(b, n, L.EVBUFFER_EOL_LF, 'utf8')).toBe(text);
    expect(n.n_read).toBe(Buffer.byteLength(text)); // bytes, not characters
    expect(L.evbuffer_readln(b, null, L.EVBUFFER_EOL_LF)).toBe(Buffer.from(text).toString('latin1'));
    const bytes = L.evbuffer_readln(b, n, L.EVBUFFER_EOL_LF, 'buffer');
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes!).equals(Buffer.from(text))).toBe(true);
    expect(L.evbuffer_get_length(b)).toBe(0);
    L.evbuffer_free(b);
  });

  it('evbuffer_readline (EOL_ANY) takes the same encoding argument', () => {
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'día\r\nnoche\n');
    expect(L.evbuffer_readline(b, 'utf8')).toBe('día');
    expect(Buffer.from(L.evbuffer_readline(b, 'buffer')!).toString()).toBe('noche');
    L.evbuffer_add(b, 'día\n');
    expect(L.evbuffer_readline(b)).toBe(Buffer.from('día').toString('latin1'));
    L.evbuffer_free(b);
  });

  it('a character split across two adds (two chains) comes back whole', () => {
    const b = L.evbuffer_new();
    const check = Buffer.from('a✓b\r\n'); // ✓ is 3 bytes: split after its first byte
    L.evbuffer_add(b, check.subarray(0, 2));
    expect(L.evbuffer_readln(b, null, L.EVBUFFER_EOL_CRLF, 'utf8')).toBeNull(); // no line yet: nothing is cut
    L.evbuffer_add(b, check.subarray(2));
    expect(L.evbuffer_readln(b, null, L.EVBUFFER_EOL_CRLF, 'utf8')).toBe('a✓b');
    L.evbuffer_free(b);
  });

  it("the class method defaults to 'utf8'; an unknown encoding is a clear error and consumes nothing", () => {
    const b = L.evbuffer_new();
    L.evbuffer_add(b, 'ünïcode\nrest\n');
    expect(() => L.evbuffer_readln(b, null, L.EVBUFFER_EOL_LF, 'ucs2' as 'utf8')).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    expect(() => L.evbuffer_readln(b, null, L.EVBUFFER_EOL_LF, 8 as unknown as 'utf8')).toThrow(expect.objectContaining({ name: 'TypeError' }));
    expect(b.readln(null, L.EVBUFFER_EOL_LF)).toBe('ünïcode');
    expect(L.evbuffer_readln(b, null, L.EVBUFFER_EOL_LF)).toBe('rest');
    L.evbuffer_free(b);
  });
});
