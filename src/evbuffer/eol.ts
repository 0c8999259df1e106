import type { Arena } from '../shm/arena.ts';
import * as S from './storage.ts';

/**
 * Ends of line (evbuffer_search_eol, evbuffer_readln): the five styles and the search for the next one in a buffer's
 * storage. @locks requires the buffer's lock
 */
export const EVBUFFER_EOL_ANY = 0;
export const EVBUFFER_EOL_CRLF = 1;
export const EVBUFFER_EOL_CRLF_STRICT = 2;
export const EVBUFFER_EOL_LF = 3;
export const EVBUFFER_EOL_NUL = 4;

const CRLF = new Uint8Array([13, 10]);

/** The length of the EOL the last successful findEol found (a number, not a tuple per call). */
let found = 0;
export function foundEolLength(): number {
  return found;
}

/** The position of the first EOL of `style` at or after `from` in buffer `h`, or -1; its length: foundEolLength(). */
export function findEol(a: Arena, h: number, from: number, style: number): number {
  const len = S.length(a, h);
  if (from >= len) return -1;
  switch (style) {
    case EVBUFFER_EOL_ANY: {
      const i = S.findAnyOf(a, h, from, 10, 13);
      if (i < 0) return -1;
      let j = i;
      while (j < len) {
        const b = S.byteAt(a, h, j);
        if (b !== 10 && b !== 13) break;
        j++;
      }
      found = j - i;
      return i;
    }
    case EVBUFFER_EOL_CRLF: {
      // "\n", or "\r\n": the first \n ends the line; a \r right before it (at or after `from`) belongs to the EOL.
      // (A lone \r is data, so the first \n is always the first EOL: one scan, for \n only.)
      const k = S.findAnyOf(a, h, from, 10, 10);
      if (k < 0) return -1;
      if (k > from && S.byteAt(a, h, k - 1) === 13) {
        found = 2;
        return k - 1;
      }
      found = 1;
      return k;
    }
    case EVBUFFER_EOL_CRLF_STRICT: {
      const k = S.search(a, h, CRLF, from, len);
      found = 2;
      return k;
    }
    case EVBUFFER_EOL_LF: {
      found = 1;
      return S.findAnyOf(a, h, from, 10, 10);
    }
    default: {
      found = 1;
      return S.findAnyOf(a, h, from, 0, 0);
    }
  }
}
