/** IP address text and bytes for the resolver: literals, nameserver specs, answer records. */
import { isIPv4, isIPv6 } from 'node:net';
import type { ResolvedAddress } from './resolver.ts';

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text form of a 16-byte IPv6 address. */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function parseIPv4Bytes(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map((p) => Number(p));
}

/** Text IPv6 (optionally with %zone) -> 16 bytes, or null. */
export function parseIPv6Bytes(input: string): Uint8Array | null {
  let s = input;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let v4: number[] | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    v4 = parseIPv4Bytes(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  let parts: string[];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    const head = split(s.slice(0, dbl));
    const tail = split(s.slice(dbl + 2));
    if (head.length + tail.length > 7) return null;
    parts = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  } else {
    parts = s.split(':');
    if (parts.length !== 8) return null;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const part = parts[i] ?? '';
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    const g = parseInt(part, 16);
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  if (v4 !== null) out.set(v4, 12);
  return out;
}

/** "127.0.0.1", "::1" or "[::1]" -> the address; anything else -> null. */
export function parseLiteral(host: string): ResolvedAddress | null {
  if (isIPv4(host)) return { family: 4, address: host };
  const inner = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!isIPv6(inner)) return null;
  const bytes = parseIPv6Bytes(inner);
  if (bytes === null) return { family: 6, address: inner };
  const pct = inner.indexOf('%');
  return { family: 6, address: formatIPv6(bytes) + (pct >= 0 ? inner.slice(pct) : '') };
}

export function addressKey(address: string, port: number): string | null {
  const v4 = parseIPv4Bytes(address);
  if (v4 !== null) return `4/${v4.join('.')}/${port}`;
  const v6 = parseIPv6Bytes(address);
  if (v6 !== null) return `6/${Buffer.from(v6).toString('hex')}/${port}`;
  return null;
}
