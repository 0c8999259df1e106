import { rangeError, typeError } from './errors.ts';

/** Argument checks shared by every public function. Each throws the coded error the API contract names. */

// A typed array's own properties (or a Proxy, or an object made from Uint8Array.prototype) can claim any length:
// lengths and the kind of array are read through the %TypedArray% intrinsics, which look at the real object only.
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as object;
const taLength = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, 'length')!.get!;
const taKind = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, Symbol.toStringTag)!.get!;

/** True for a real Uint8Array (a Buffer too); false for look-alikes, Proxies and other typed arrays. */
export function isBytes(v: unknown): v is Uint8Array {
  return taKind.call(v) === 'Uint8Array';
}

/** The real element count of a Uint8Array (never an own or inherited `length` property that lies). */
export function bytesLength(v: Uint8Array): number {
  return taLength.call(v) as number;
}

/** An input `data, size?` pair: returns the byte count to use; `data` must be a Uint8Array or string. */
const encoder = new TextEncoder();
/** The bytes of `data`: a Uint8Array as it is, a string as UTF-8 (cut to `n` bytes when `n` is smaller). */
export function bytesOf(data: Uint8Array | string, n: number): Uint8Array {
  if (typeof data !== 'string') return data;
  const b = encoder.encode(data);
  return n < b.length && n >= 0 ? b.subarray(0, n) : b;
}

export function inputSize(data: unknown, size: unknown, name = 'data'): number {
  let avail: number;
  if (isBytes(data)) avail = bytesLength(data);
  else if (typeof data === 'string') avail = -1;
  else throw typeError(name, 'of type Uint8Array or string', data);
  if (size === undefined || size === null) return avail;
  const n = sizeArg(size, 'size');
  if (avail >= 0 && n > avail) throw rangeError('size', `<= ${avail} (the length of data)`, n);
  return n;
}

/** A C `size_t`: a non-negative integer (or Infinity for "all" in drain-like calls). */
export function sizeArg(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'of type number', v);
  if (Number.isNaN(v) || v < 0 || (!Number.isInteger(v) && v !== Infinity)) throw rangeError(name, '>= 0 and an integer', v);
  return v;
}

/** A C `int`: any integer in the 32-bit range. */
export function intArg(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'of type number', v);
  if (!Number.isInteger(v)) throw rangeError(name, 'an integer', v);
  if (v < -(2 ** 31) || v > 2 ** 32 - 1) throw rangeError(name, 'a 32-bit integer', v);
  return v;
}

/** An `ev_ssize_t` where -1 (any negative) means "all". */
export function ssizeArg(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'of type number', v);
  if (Number.isNaN(v) || !Number.isInteger(v)) throw rangeError(name, 'an integer', v);
  return v;
}

/** A bitmask: bits outside the defined ones are ignored, so -1 / ~0 means all. NaN or a fraction is out of range. */
export function maskArg(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'an integer bitmask', v);
  if (!Number.isInteger(v)) throw rangeError(name, 'an integer', v);
  return v;
}

/** A C `int` used as a flag (`at_front`): a boolean or an integer. */
export function flagArg(v: unknown, name: string): boolean {
  if (typeof v === 'boolean') return v;
  return intArg(v, name) !== 0;
}

/** A TCP/UDP port number: an integer 0..65535. */
export function portArg(v: unknown, name: string): number {
  if (typeof v !== 'number') throw typeError(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw rangeError(name, 'an integer >= 0 and <= 65535', v);
  return v;
}

/**
 * The range checks of a `Sockaddr` argument (its shape is checked where it is converted, sockaddr.ts): the port of
 * `{ family, address, port }` and the `sin_port` of the C-shaped form must fit in 16 bits.
 */
export function sockaddrPortCheck(sa: unknown, name = 'sa'): void {
  if (sa === null || typeof sa !== 'object') return;
  const o = sa as Record<string, unknown>;
  if ('sin_family' in o) {
    if (typeof o.sin_port === 'number') portArg(o.sin_port, `${name}.sin_port`);
  } else if (typeof o.port === 'number') {
    portArg(o.port, `${name}.port`);
  }
}

/** An `evbuffer_ptr` argument or NULL: `pos` must be an integer (-1 for "not found" / invalid). */
export function ptrArg(v: unknown, name: string): void {
  if (v === null || v === undefined) return;
  if (typeof v !== 'object') throw typeError(name, 'an EvbufferPtr object or null', v);
  const pos = (v as { pos?: unknown }).pos;
  if (typeof pos !== 'number') throw typeError(`${name}.pos`, 'of type number', pos);
  if (!Number.isInteger(pos)) throw rangeError(`${name}.pos`, 'an integer', pos);
}

export function fnOrNull<T>(v: unknown, name: string): T | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'function') throw typeError(name, 'a function or null', v);
  return v as T;
}

export function outBytes(v: unknown, size: unknown, name = 'data'): number {
  if (!isBytes(v)) throw typeError(name, 'of type Uint8Array', v);
  const len = bytesLength(v);
  if (size === undefined || size === null) return len;
  const n = sizeArg(size, 'size');
  if (n > len) throw rangeError('size', `<= ${len} (the length of data)`, n);
  return n;
}

export function objOrNull<T extends object>(v: unknown, name: string): T | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') throw typeError(name, 'an object or null', v);
  return v as T;
}

export interface Timeval {
  tv_sec: number;
  tv_usec: number;
}

/** A `struct timeval *`: returns milliseconds, or null for NULL. */
export function timevalArg(v: unknown, name: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') throw typeError(name, 'a { tv_sec, tv_usec } object or null', v);
  const t = v as Partial<Timeval>;
  const s = t.tv_sec ?? 0;
  const us = t.tv_usec ?? 0;
  if (typeof s !== 'number' || typeof us !== 'number') throw typeError(name, 'a { tv_sec: number, tv_usec: number } object', v);
  if (!Number.isFinite(s) || !Number.isFinite(us) || s < 0 || us < 0) throw rangeError(name, 'a non-negative time', v);
  return s * 1000 + us / 1000;
}

/**
 * A bufferevent timeout: milliseconds, or -1 for none (null, or a zero timeval: libevent's evutil_timerisset makes a
 * zero timeval "no timeout").
 */
export function timeoutArg(v: unknown, name: string): number {
  const ms = timevalArg(v, name);
  return ms === null || ms === 0 ? -1 : ms;
}
