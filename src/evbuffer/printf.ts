/**
 * C `printf` formatting for `evbuffer_add_printf`.
 *
 * `formatPrintf(format, args)` renders `format` the way glibc's `snprintf`
 * would for the equivalent C arguments, and returns `null` where libevent's
 * `evbuffer_add_printf` would fail (invalid format, missing argument, or an
 * argument that cannot be converted to what the conversion needs).
 *
 * Supported: `%s %d %i %u %x %X %o %c %f %F %e %E %g %G %p %%`, flags
 * `- + space # 0` (and `'`, a no-op in the C locale), field width and
 * precision (literal or `*`), and the length modifiers `hh h l ll z Z j t L q`.
 *
 * Floating point output is exact: the JS engine's `toFixed`/`toExponential`
 * are correctly rounded on the exact binary value except that they round
 * halfway cases up, whereas glibc rounds them to even; halfway cases (and
 * precisions/magnitudes those methods cannot serve) go through an exact
 * BigInt decimal expansion instead.
 *
 * Widths and precisions count characters (code points) of the JS string, not
 * UTF-8 bytes.
 */

// ---------------------------------------------------------------------------
// Parsed format representation
// ---------------------------------------------------------------------------

const F_LEFT = 1;
const F_PLUS = 2;
const F_SPACE = 4;
const F_ALT = 8;
const F_ZERO = 16;

/** Width/precision markers. */
const NONE = -1;
const STAR = -2;

/** Length modifier classes. */
const L_NONE = 0;
const L_HH = 1;
const L_H = 2;
const L_LONG = 3; // l, ll, z, Z, j, t, q, L: all 64-bit on LP64
const L_WIDE = 4; // a single `l`: 64-bit for integers, wide for %lc / %ls

interface Spec {
  readonly flags: number;
  /** NONE, STAR, or a non-negative literal width. */
  readonly width: number;
  /** NONE, STAR, or a non-negative literal precision. */
  readonly prec: number;
  readonly len: number;
  /** Conversion character code. */
  readonly conv: number;
}

type Item = string | Spec;

interface Parsed {
  readonly items: readonly Item[];
}

const INT_MAX = 0x7fffffff;

const CACHE_LIMIT = 256;
const cache = new Map<string, Parsed | null>();

function parse(format: string): Parsed | null {
  const items: Item[] = [];
  const n = format.length;
  let lit = '';
  let i = 0;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      lit += format.slice(i);
      break;
    }
    lit += format.slice(i, pct);
    i = pct + 1;

    let flags = 0;
    for (;;) {
      const c = format.charCodeAt(i);
      if (c === 0x2d /* - */) flags |= F_LEFT;
      else if (c === 0x2b /* + */) flags |= F_PLUS;
      else if (c === 0x20 /* space */) flags |= F_SPACE;
      else if (c === 0x23 /* # */) flags |= F_ALT;
      else if (c === 0x30 /* 0 */) flags |= F_ZERO;
      else if (c === 0x27 /* ' */) {
        /* thousands grouping: nothing to group in the C locale */
      } else break;
      i++;
    }

    let width = NONE;
    let c = format.charCodeAt(i);
    if (c === 0x2a /* * */) {
      width = STAR;
      i++;
    } else if (c >= 0x30 && c <= 0x39) {
      width = 0;
      while (c >= 0x30 && c <= 0x39) {
        width = width * 10 + (c - 0x30);
        if (width > INT_MAX) return null; // glibc: EOVERFLOW
        c = format.charCodeAt(++i);
      }
    }

    let prec = NONE;
    if (format.charCodeAt(i) === 0x2e /* . */) {
      i++;
      c = format.charCodeAt(i);
      if (c === 0x2a /* * */) {
        prec = STAR;
        i++;
      } else {
        prec = 0;
        while (c >= 0x30 && c <= 0x39) {
          prec = prec * 10 + (c - 0x30);
          if (prec > INT_MAX) return null;
          c = format.charCodeAt(++i);
        }
      }
    }

    let len = L_NONE;
    c = format.charCodeAt(i);
    switch (c) {
      case 0x68 /* h */:
        if (format.charCodeAt(i + 1) === 0x68) {
          len = L_HH;
          i += 2;
        } else {
          len = L_H;
          i++;
        }
        break;
      case 0x6c /* l */:
        if (format.charCodeAt(i + 1) === 0x6c) {
          len = L_LONG;
          i += 2;
        } else {
          len = L_WIDE;
          i++;
        }
        break;
      case 0x7a /* z */:
      case 0x5a /* Z */:
      case 0x6a /* j */:
      case 0x74 /* t */:
      case 0x71 /* q */:
      case 0x4c /* L */:
        len = L_LONG;
        i++;
        break;
      default:
        break;
    }

    const conv = format.charCodeAt(i);
    i++;
    switch (conv) {
      case 0x25 /* % */:
        // glibc prints a bare '%' whatever flags/width were given.
        lit += '%';
        continue;
      case 0x64 /* d */:
      case 0x69 /* i */:
      case 0x75 /* u */:
      case 0x78 /* x */:
      case 0x58 /* X */:
      case 0x6f /* o */:
      case 0x63 /* c */:
      case 0x73 /* s */:
      case 0x70 /* p */:
      case 0x66 /* f */:
      case 0x46 /* F */:
      case 0x65 /* e */:
      case 0x45 /* E */:
      case 0x67 /* g */:
      case 0x47 /* G */:
        break;
      case 0x43 /* C: glibc synonym for %lc */:
      case 0x53 /* S: glibc synonym for %ls */:
        break;
      default:
        // Unknown conversion, or the format ended (NaN char code) after '%'.
        return null;
    }
    if (lit !== '') {
      items.push(lit);
      lit = '';
    }
    items.push({ flags, width, prec, len, conv });
  }
  if (lit !== '') items.push(lit);
  return { items };
}

function getParsed(format: string): Parsed | null {
  let parsed = cache.get(format);
  if (parsed === undefined) {
    parsed = parse(format);
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(format, parsed);
  }
  return parsed;
}

// ---------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------

/**
 * Format `args` according to the C printf `format`.
 * Returns `null` where libevent's evbuffer_add_printf would return -1.
 */
export function formatPrintf(format: string, args: readonly unknown[]): string | null {
  if (format.indexOf('%') < 0) return format;
  const parsed = getParsed(format);
  if (parsed === null) return null;
  try {
    return run(parsed.items, args);
  } catch {
    // String(v) threw, or the output exceeded the maximum string length.
    return null;
  }
}

function run(items: readonly Item[], args: readonly unknown[]): string | null {
  let out = '';
  let ai = 0;
  const nargs = args.length;
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if (typeof item === 'string') {
      out += item;
      continue;
    }

    let flags = item.flags;
    let width = item.width;
    let prec = item.prec;
    if (width === STAR) {
      if (ai >= nargs) return null;
      const w = toInt32(args[ai++]);
      if (w === null) return null;
      if (w < 0) {
        flags |= F_LEFT;
        width = -w; // |INT_MIN| is still a valid (absurd) width
      } else {
        width = w;
      }
    }
    if (prec === STAR) {
      if (ai >= nargs) return null;
      const p = toInt32(args[ai++]);
      if (p === null) return null;
      prec = p < 0 ? NONE : p;
    }
    if (ai >= nargs) return null;
    const arg = args[ai++];

    let piece: string | null;
    switch (item.conv) {
      case 0x73 /* s */:
      case 0x53 /* S */:
        piece = fmtString(arg, flags, width, prec);
        break;
      case 0x64 /* d */:
      case 0x69 /* i */:
        piece = fmtSigned(arg, flags, width, prec, item.len);
        break;
      case 0x75 /* u */:
        piece = fmtUnsigned(arg, flags, width, prec, item.len, 10, false);
        break;
      case 0x78 /* x */:
        piece = fmtUnsigned(arg, flags, width, prec, item.len, 16, false);
        break;
      case 0x58 /* X */:
        piece = fmtUnsigned(arg, flags, width, prec, item.len, 16, true);
        break;
      case 0x6f /* o */:
        piece = fmtUnsigned(arg, flags, width, prec, item.len, 8, false);
        break;
      case 0x63 /* c */:
        piece = fmtChar(arg, flags, width, item.len === L_WIDE);
        break;
      case 0x43 /* C */:
        piece = fmtChar(arg, flags, width, true);
        break;
      case 0x70 /* p */:
        piece = fmtPointer(arg, flags, width, prec);
        break;
      default:
        piece = fmtFloat(arg, flags, width, prec, item.conv);
        break;
    }
    if (piece === null) return null;
    out += piece;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Padding helpers
// ---------------------------------------------------------------------------

function padSpaces(body: string, bodyLen: number, flags: number, width: number): string {
  if (width <= bodyLen) return body;
  const fill = ' '.repeat(width - bodyLen);
  return (flags & F_LEFT) !== 0 ? body + fill : fill + body;
}

/** Lay out `prefix` (sign / 0x) and `digits` in a field, with zero padding if allowed. */
function padNumeric(prefix: string, digits: string, flags: number, width: number, zeroOk: boolean): string {
  const len = prefix.length + digits.length;
  if (width <= len) return prefix + digits;
  const fillLen = width - len;
  if ((flags & F_LEFT) !== 0) return prefix + digits + ' '.repeat(fillLen);
  if (zeroOk && (flags & F_ZERO) !== 0) return prefix + '0'.repeat(fillLen) + digits;
  return ' '.repeat(fillLen) + prefix + digits;
}

// ---------------------------------------------------------------------------
// Strings and characters
// ---------------------------------------------------------------------------

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Number of code points in s. */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    if (isHighSurrogate(s.charCodeAt(i)) && isLowSurrogate(s.charCodeAt(i + 1))) {
      n--;
      i++;
    }
  }
  return n;
}

/** The first `count` code points of s (s.length > count assumed worth checking). */
function truncateCodePoints(s: string, count: number): string {
  let i = 0;
  const n = s.length;
  for (let seen = 0; i < n && seen < count; seen++) {
    if (isHighSurrogate(s.charCodeAt(i)) && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) i += 2;
    else i += 1;
  }
  return s.slice(0, i);
}

function fmtString(arg: unknown, flags: number, width: number, prec: number): string {
  let s: string;
  if (typeof arg === 'string') s = arg;
  else if (arg === null) s = prec === NONE || prec >= 6 ? '(null)' : '';
  else s = String(arg);
  if (prec !== NONE && s.length > prec) s = truncateCodePoints(s, prec);
  if (width === NONE || width === 0) return s;
  // A string of 2 * width UTF-16 units has at least `width` code points.
  if (s.length >= 2 * width) return s;
  return padSpaces(s, codePointLength(s), flags, width);
}

function fmtChar(arg: unknown, flags: number, width: number, wide: boolean): string | null {
  let ch: string;
  if (typeof arg === 'string') {
    if (arg.length === 0 || arg.length > 2) return null;
    if (arg.length === 2 && codePointLength(arg) !== 1) return null;
    ch = arg;
  } else {
    const v = toIntArg(arg);
    if (v === null) return null;
    if (wide) {
      const cp = typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : v >>> 0;
      if (cp > 0x10ffff) return null; // not a character: glibc fails with EILSEQ
      ch = String.fromCodePoint(cp);
    } else {
      ch = String.fromCharCode(typeof v === 'bigint' ? Number(BigInt.asUintN(8, v)) : v & 0xff);
    }
  }
  if (width === NONE) return ch;
  return padSpaces(ch, 1, flags, width);
}

// ---------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------

/** Integer value of an argument: a truncated finite number, a bigint, or null. */
function toIntArg(v: unknown): number | bigint | null {
  if (typeof v === 'number') {
    if (v - v !== 0) return null; // NaN or ±Infinity
    return Math.trunc(v);
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** A `*` width/precision argument as a C int. */
function toInt32(v: unknown): number | null {
  const n = toIntArg(v);
  if (n === null) return null;
  return typeof n === 'bigint' ? Number(BigInt.asIntN(32, n)) : n | 0;
}

function fmtSigned(arg: unknown, flags: number, width: number, prec: number, len: number): string | null {
  const raw = toIntArg(arg);
  if (raw === null) return null;

  let neg: boolean;
  let digits: string;
  if (typeof raw === 'number') {
    let v: number;
    if (len === L_NONE) v = raw | 0;
    else if (len === L_HH) v = (raw << 24) >> 24;
    else if (len === L_H) v = (raw << 16) >> 16;
    else if (Number.isSafeInteger(raw)) v = raw;
    else {
      const b = BigInt.asIntN(64, BigInt(raw));
      neg = b < 0n;
      digits = (neg ? -b : b).toString();
      return layoutSigned(neg, digits, flags, width, prec);
    }
    neg = v < 0;
    digits = (neg ? -v : v).toString();
  } else {
    const bits = len === L_HH ? 8 : len === L_H ? 16 : len === L_NONE ? 32 : 64;
    const b = BigInt.asIntN(bits, raw);
    neg = b < 0n;
    digits = (neg ? -b : b).toString();
  }
  if (width === NONE && prec === NONE && (flags & (F_PLUS | F_SPACE)) === 0) {
    return neg ? '-' + digits : digits; // the common plain %d
  }
  return layoutSigned(neg, digits, flags, width, prec);
}

function fmtUnsigned(
  arg: unknown,
  flags: number,
  width: number,
  prec: number,
  len: number,
  radix: number,
  upper: boolean,
): string | null {
  const raw = toIntArg(arg);
  if (raw === null) return null;

  let digits: string;
  if (typeof raw === 'number') {
    let v: number;
    if (len === L_HH) v = raw & 0xff;
    else if (len === L_H) v = raw & 0xffff;
    else if (len === L_NONE) v = raw >>> 0;
    else if (raw >= 0 && raw <= Number.MAX_SAFE_INTEGER) v = raw;
    else {
      digits = BigInt.asUintN(64, BigInt(raw)).toString(radix);
      return layoutUnsigned(digits, flags, width, prec, radix, upper);
    }
    digits = v.toString(radix);
  } else {
    const bits = len === L_HH ? 8 : len === L_H ? 16 : len === L_NONE ? 32 : 64;
    digits = BigInt.asUintN(bits, raw).toString(radix);
  }
  if (width === NONE && prec === NONE && (flags & F_ALT) === 0) {
    return upper ? digits.toUpperCase() : digits;
  }
  return layoutUnsigned(digits, flags, width, prec, radix, upper);
}

function layoutUnsigned(
  digits: string,
  flags: number,
  width: number,
  prec: number,
  radix: number,
  upper: boolean,
): string {
  const isZero = digits === '0';
  if (upper) digits = digits.toUpperCase();
  digits = applyIntPrecision(digits, isZero, prec);
  let prefix = '';
  if ((flags & F_ALT) !== 0) {
    if (radix === 8) {
      // '#' for octal: make the first digit a zero (also when prec 0 ate "0").
      if (digits.charCodeAt(0) !== 0x30) digits = '0' + digits;
    } else if (radix === 16 && !isZero) {
      prefix = upper ? '0X' : '0x';
    }
  }
  if (width === NONE) return prefix + digits;
  return padNumeric(prefix, digits, flags, width, prec === NONE);
}

function layoutSigned(neg: boolean, digits: string, flags: number, width: number, prec: number): string {
  digits = applyIntPrecision(digits, digits === '0', prec);
  const prefix = neg ? '-' : (flags & F_PLUS) !== 0 ? '+' : (flags & F_SPACE) !== 0 ? ' ' : '';
  if (width === NONE) return prefix + digits;
  return padNumeric(prefix, digits, flags, width, prec === NONE);
}

/** Precision for integers: a minimum digit count; precision 0 prints zero as nothing. */
function applyIntPrecision(digits: string, isZero: boolean, prec: number): string {
  if (prec === NONE) return digits;
  if (prec === 0 && isZero) return '';
  return prec > digits.length ? '0'.repeat(prec - digits.length) + digits : digits;
}

function fmtPointer(arg: unknown, flags: number, width: number, prec: number): string | null {
  let value: bigint | number;
  if (arg === null) value = 0;
  else {
    const raw = toIntArg(arg);
    if (raw === null) return null;
    value = raw;
  }
  let digits: string;
  if (typeof value === 'number') {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) digits = value.toString(16);
    else digits = BigInt.asUintN(64, BigInt(value)).toString(16);
  } else {
    digits = BigInt.asUintN(64, value).toString(16);
  }
  if (digits === '0') return padSpaces('(nil)', 5, flags, width === NONE ? 0 : width);
  if (prec !== NONE && prec > digits.length) digits = '0'.repeat(prec - digits.length) + digits;
  let prefix = '0x';
  if ((flags & F_PLUS) !== 0) prefix = '+0x';
  else if ((flags & F_SPACE) !== 0) prefix = ' 0x';
  if (width === NONE) return prefix + digits;
  return padNumeric(prefix, digits, flags, width, prec === NONE);
}

// ---------------------------------------------------------------------------
// Floating point
// ---------------------------------------------------------------------------

function fmtFloat(arg: unknown, flags: number, width: number, prec: number, conv: number): string | null {
  let x: number;
  if (typeof arg === 'number') x = arg;
  else if (typeof arg === 'bigint') x = Number(arg);
  else if (typeof arg === 'boolean') x = arg ? 1 : 0;
  else return null;

  // conv | 0x20 lower-cases the conversion letter.
  const lower = conv | 0x20;
  const upper = conv !== lower;
  const neg = x < 0 || (x === 0 && 1 / x < 0);
  const sign = neg ? '-' : (flags & F_PLUS) !== 0 ? '+' : (flags & F_SPACE) !== 0 ? ' ' : '';

  if (x - x !== 0) {
    // inf or nan: never zero-padded.
    let body = x !== x ? 'nan' : 'inf';
    if (upper) body = body.toUpperCase();
    if (width === NONE) return sign + body;
    return padSpaces(sign + body, sign.length + body.length, flags, width);
  }

  const ax = neg ? -x : x;
  const alt = (flags & F_ALT) !== 0;
  let body: string;
  if (lower === 0x66 /* f */) {
    body = fixedBody(ax, prec === NONE ? 6 : prec, alt);
  } else if (lower === 0x65 /* e */) {
    body = expBody(ax, prec === NONE ? 6 : prec, alt, upper);
  } else {
    body = generalBody(ax, prec === NONE ? 6 : prec === 0 ? 1 : prec, alt, upper);
  }
  if (width === NONE) return sign + body;
  return padNumeric(sign, body, flags, width, true);
}

/** %f digits of a non-negative finite ax. */
function fixedBody(ax: number, prec: number, alt: boolean): string {
  let s: string;
  if (ax < 1e21 && prec <= 100 && !isHalfway(ax, prec)) {
    s = ax.toFixed(prec);
  } else {
    const ex = exactDecimal(ax);
    const r = roundAt(ex.digits, ex.digits.length - ex.scale + prec);
    s = insertPoint(r, prec);
  }
  return alt && prec === 0 ? s + '.' : s;
}

/** Place a decimal point `prec` digits from the right of integer string r. */
function insertPoint(r: string, prec: number): string {
  if (prec === 0) return r;
  if (r.length <= prec) r = '0'.repeat(prec + 1 - r.length) + r;
  const cut = r.length - prec;
  return r.slice(0, cut) + '.' + r.slice(cut);
}

/** %e body of a non-negative finite ax. */
function expBody(ax: number, prec: number, alt: boolean, upper: boolean): string {
  const sig = significantDigits(ax, prec + 1);
  const d = sig.digits;
  let s = d.charAt(0);
  if (prec > 0 || alt) s += '.';
  s += d.slice(1);
  return s + (upper ? 'E' : 'e') + expSuffix(sig.exp);
}

function expSuffix(exp: number): string {
  if (exp < 0) return exp > -10 ? '-0' + -exp : '-' + -exp;
  return exp < 10 ? '+0' + exp : '+' + exp;
}

/** %g body of a non-negative finite ax; `p` is the effective precision (>= 1). */
function generalBody(ax: number, p: number, alt: boolean, upper: boolean): string {
  const sig = significantDigits(ax, p);
  const d = sig.digits;
  const x = sig.exp;
  let intPart: string;
  let frac: string;
  let suffix = '';
  if (x < p && x >= -4) {
    if (x >= 0) {
      intPart = d.slice(0, x + 1);
      frac = d.slice(x + 1);
    } else {
      intPart = '0';
      frac = '0'.repeat(-x - 1) + d;
    }
  } else {
    intPart = d.charAt(0);
    frac = d.slice(1);
    suffix = (upper ? 'E' : 'e') + expSuffix(x);
  }
  if (alt) return intPart + '.' + frac + suffix;
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 0x30) end--;
  if (end === 0) return intPart + suffix;
  return intPart + '.' + frac.slice(0, end) + suffix;
}

interface SigDigits {
  /** Exactly n digits, first one non-zero unless the value is zero. */
  readonly digits: string;
  /** Decimal exponent of the first digit. */
  readonly exp: number;
}

/** ax rounded (half-even on the exact value) to n significant digits. */
function significantDigits(ax: number, n: number): SigDigits {
  if (ax === 0) return { digits: '0'.repeat(n), exp: 0 };
  if (n <= 101) {
    const s = ax.toExponential(n - 1);
    const e = s.indexOf('e');
    const exp = Number(s.slice(e + 1));
    // The JS result is right unless ax lies exactly halfway between two
    // candidates. The exponent of the unrounded value is exp or exp - 1
    // (when rounding carried into a new digit).
    if (!isHalfway(ax, n - 1 - exp) && !isHalfway(ax, n - exp)) {
      const digits = n === 1 ? s.slice(0, e) : s.charAt(0) + s.slice(2, e);
      return { digits, exp };
    }
  }
  const ex = exactDecimal(ax);
  let exp = ex.digits.length - ex.scale - 1;
  let r = roundAt(ex.digits, n);
  if (r.length > n) {
    // 99.9 -> 100: carried into a new leading digit.
    r = r.slice(0, n);
    exp++;
  }
  return { digits: r, exp };
}

// ---------------------------------------------------------------------------
// Exact decimal machinery
// ---------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

function ctz32(v: number): number {
  return 31 - Math.clz32(v & -v);
}

/**
 * Number of binary fractional digits in the exact value of ax (finite,
 * non-negative): ax = odd * 2^-q. Zero or negative for integers; 0 for 0.
 */
function fractionBits(ax: number): number {
  f64[0] = ax;
  const lo = u32[LO]!;
  const hi = u32[HI]!;
  const expBits = (hi >>> 20) & 0x7ff;
  let mhi = hi & 0xfffff;
  let e: number;
  if (expBits === 0) {
    e = -1074;
  } else {
    mhi |= 0x100000;
    e = expBits - 1075;
  }
  if (lo === 0 && mhi === 0) return 0;
  const tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(mhi);
  return -(e + tz);
}

/**
 * Whether ax * 10^s is exactly k + 1/2 for an integer k, i.e. rounding ax to
 * s digits after the decimal point (s may be negative) is a tie. May answer
 * true conservatively for huge integers.
 */
function isHalfway(ax: number, s: number): boolean {
  const q = fractionBits(ax);
  if (s >= 0) return q === s + 1;
  if (q > 0) return false; // a non-integer divided by 10^t is never k + 1/2
  const t = -s;
  if (t > 22) return true; // let the exact path decide
  // 10^t and 5 * 10^(t-1) are exact doubles for t <= 22, and % is exact.
  return ax % 10 ** t === 5 * 10 ** (t - 1);
}

interface ExactDecimal {
  /** Decimal digits of the integer D, no leading zeros ("0" for zero). */
  readonly digits: string;
  /** ax = D * 10^-scale. */
  readonly scale: number;
}

function exactDecimal(ax: number): ExactDecimal {
  f64[0] = ax;
  const lo = u32[LO]!;
  const hi = u32[HI]!;
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (hi & 0xfffff) * 0x100000000 + lo;
  let e: number;
  if (expBits === 0) {
    e = -1074;
  } else {
    mant += 0x10000000000000;
    e = expBits - 1075;
  }
  if (mant === 0) return { digits: '0', scale: 0 };
  while (e < 0 && mant % 2 === 0) {
    mant /= 2;
    e++;
  }
  if (e >= 0) return { digits: (BigInt(mant) << BigInt(e)).toString(), scale: 0 };
  // mant / 2^k = mant * 5^k / 10^k
  return { digits: (BigInt(mant) * 5n ** BigInt(-e)).toString(), scale: -e };
}

/**
 * Round the integer `d` (a digit string without leading zeros) so that only
 * its first `keep` digits remain, half to even, and return the resulting
 * integer of `keep` digits (or keep + 1 after a carry), or `d` extended by
 * zeros when keep exceeds its length. keep <= 0 yields "0" or "1".
 */
function roundAt(d: string, keep: number): string {
  const len = d.length;
  if (keep >= len) return keep === len ? d : d + '0'.repeat(keep - len);
  if (keep < 0) return '0';
  const head = d.slice(0, keep);
  const c = d.charCodeAt(keep);
  let up: boolean;
  if (c > 0x35) up = true;
  else if (c < 0x35) up = false;
  else {
    up = false;
    for (let i = keep + 1; i < len; i++) {
      if (d.charCodeAt(i) !== 0x30) {
        up = true;
        break;
      }
    }
    if (!up && keep > 0) up = (d.charCodeAt(keep - 1) & 1) === 1;
  }
  if (!up) return head === '' ? '0' : head;
  return increment(head);
}

/** Add one to a decimal digit string ("" counts as 0). */
function increment(s: string): string {
  let i = s.length - 1;
  while (i >= 0 && s.charCodeAt(i) === 0x39) i--;
  if (i < 0) return '1' + '0'.repeat(s.length);
  return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) + 1) + '0'.repeat(s.length - 1 - i);
}
