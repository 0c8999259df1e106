import type { Evbuffer } from './evbuffer.ts';
import * as S from './storage.ts';
import { findEol, foundEolLength } from './eol.ts';
import { rangeError, typeError } from '../errors.ts';
import { inputSize, sizeArg, ssizeArg, objOrNull, intArg, bytesOf } from '../validate.ts';

/**
 * Positions in an evbuffer and what finds them: evbuffer_ptr_set, evbuffer_search (and _range, _eol) and
 * evbuffer_peek. A position is an offset from the front (`struct evbuffer_ptr`'s pos; -1 for "not found"), valid
 * until the buffer next changes at or before it, as in libevent. Each function holds the buffer's lock while it reads.
 */

export const EVBUFFER_PTR_SET = 0;
export const EVBUFFER_PTR_ADD = 1;

/** A position in a buffer (`struct evbuffer_ptr`): `pos` is the offset from the front, -1 for "not found". */
export interface EvbufferPtr {
  pos: number;
}

export interface IoVec {
  iov_base?: Uint8Array;
  iov_len?: number;
}

/** evbuffer_search_eol: the EOL at or after `start`; `eol_len_out.eol_len` receives its length. */
export function searchEol(b: Evbuffer, start: EvbufferPtr | null, eolLenOut: { eol_len?: number } | null, style: number): EvbufferPtr {
  b.live();
  const p = objOrNull<EvbufferPtr>(start, 'start');
  const out = objOrNull<{ eol_len?: number }>(eolLenOut, 'eol_len_out');
  const st = eolStyle(style);
  b.lockRaw();
  try {
    const from = p === null ? 0 : ptrPos(p);
    const pos = from < 0 ? -1 : findEol(b.a, b.h, from, st);
    if (out) out.eol_len = pos < 0 ? 0 : foundEolLength();
    return { pos };
  } finally {
    b.unlockRaw();
  }
}


/** evbuffer_search_range(buf, what, size, start, end): a match must end at or before `end.pos`. */
export function searchRange(b: Evbuffer, what: Uint8Array | string, size: number | undefined, start: EvbufferPtr | null, end: EvbufferPtr | null): EvbufferPtr {
  b.live();
  const n = inputSize(what, size, 'what');
  const w = bytesOf(what as Uint8Array | string, n);
  if (n > w.length) throw rangeError('size', `<= ${w.length} (the UTF-8 length of what)`, n);
  const len = n < 0 ? w.length : n;
  const p = objOrNull<EvbufferPtr>(start, 'start');
  const e = objOrNull<EvbufferPtr>(end, 'end');
  b.lockRaw();
  try {
    const from = p === null ? 0 : ptrPos(p);
    const total = S.length(b.a, b.h);
    const to = e === null ? total : ptrPos(e);
    if (from < 0 || len === 0 || (e !== null && to < 0)) return { pos: -1 };
    return { pos: S.search(b.a, b.h, len === w.length ? w : w.subarray(0, len), from, Math.min(to, total)) };
  } finally {
    b.unlockRaw();
  }
}

/** evbuffer_ptr_set: position `ptr` at `position` (SET) or advance it (ADD). -1 (and pos -1) past the end. */
export function ptrSet(b: Evbuffer, ptr: EvbufferPtr, position: number, how: number): number {
  b.live();
  if (ptr === null || typeof ptr !== 'object') throw typeError('ptr', 'an EvbufferPtr object', ptr);
  const n = sizeArg(position, 'position');
  const mode = intArg(how, 'how');
  if (mode !== EVBUFFER_PTR_SET && mode !== EVBUFFER_PTR_ADD) throw rangeError('how', 'EVBUFFER_PTR_SET or EVBUFFER_PTR_ADD', how);
  const p = ptr as EvbufferPtr;
  b.lockRaw();
  try {
    const len = S.length(b.a, b.h);
    let target: number;
    if (mode === EVBUFFER_PTR_SET) target = n;
    else {
      const cur = typeof p.pos === 'number' ? p.pos : -1;
      if (cur < 0) {
        p.pos = -1;
        return -1;
      }
      target = cur + n;
    }
    if (target > len) {
      p.pos = -1;
      return -1;
    }
    p.pos = target;
    return 0;
  } finally {
    b.unlockRaw();
  }
}

/** evbuffer_peek: views of up to `nVec` chains covering `len` bytes from `start` (-1 = all); returns chains needed. */
export function peek(b: Evbuffer, len: number, start: EvbufferPtr | null, vec: IoVec[] | null, nVec: number): number {
  b.live();
  let want = ssizeArg(len, 'len');
  const p = objOrNull<EvbufferPtr>(start, 'start');
  const nv = sizeArg(nVec, 'n_vec');
  if (nv > 0 && !Array.isArray(vec)) throw typeError('vec', 'an array of { iov_base, iov_len } objects', vec);
  const arr = vec as IoVec[] | null;
  if (arr && nv > arr.length) throw rangeError('n_vec', `<= ${arr.length} (the length of vec)`, nv);
  b.lockRaw();
  try {
    const a = b.a;
    const total = S.length(a, b.h);
    const from = p === null ? 0 : ptrPos(p);
    if (from < 0 || from > total) return 0;
    S.materialize(a, b.h, want < 0 ? total : Math.min(total, from + want)); // views need the bytes in memory
    let [c, o] = S.seek(a, b.h, from);
    if (c === 0) return 0; // empty, or `start` at the end
    // As libevent: "all" with no vecs counts every chain; "all" with vecs stops once the vecs are full.
    if (nv === 0 && want < 0) want = total - from;
    let i = 0;
    let got = 0;
    const fill = (at: number, clen: number): void => {
      const slot = (arr![i] ??= {});
      slot.iov_base = a.u8.subarray(at, at + clen);
      slot.iov_len = clen;
    };
    if (p !== null) {
      // libevent counts the chain `start` points into before looking at `len`.
      const clen = S.chainLen(a, c) - o;
      if (nv > 0) fill(S.chainStart(a, c) + o, clen);
      i = 1;
      got = clen;
      c = S.chainNext(a, c);
      o = 0;
    }
    for (; c !== 0; c = S.chainNext(a, c), o = 0) {
      const clen = S.chainLen(a, c) - o;
      if (clen === 0) continue;
      if (want >= 0 && got >= want) break;
      if (i < nv) fill(S.chainStart(a, c) + o, clen);
      else if (want < 0) break;
      i++;
      got += clen;
    }
    return i;
  } finally {
    b.unlockRaw();
  }
}


/** An EVBUFFER_EOL_* style, checked. */
export function eolStyle(v: unknown): number {
  const s = intArg(v, 'eol_style');
  if (s < 0 || s > 4) throw rangeError('eol_style', 'one of EVBUFFER_EOL_ANY, _CRLF, _CRLF_STRICT, _LF, _NUL', v);
  return s;
}

/** The offset a position names, checked (an integer; -1 is "not found"). */
export function ptrPos(p: EvbufferPtr): number {
  const v = p.pos;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError('ptr.pos', 'an integer', v);
  return v;
}

