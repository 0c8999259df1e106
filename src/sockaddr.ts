import net from 'node:net';
import { typeError } from './errors.ts';

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** A socket address in any of the accepted shapes: `{ family, address, port }` or a C-style sockaddr_in. */
export type Sockaddr =
  | { family: number | 'IPv4' | 'IPv6'; address: string; port: number }
  | { sin_family: number; sin_port: number; sin_addr: { s_addr: number } };

export interface ResolvedSockaddr {
  family: 4 | 6;
  address: string;
  port: number;
}

export function htons(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}
export const ntohs = htons;
export function htonl(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff)) >>> 0;
}
export const ntohl = htonl;

/** Normalize a Sockaddr; throws ERR_INVALID_ARG_TYPE for a shape that is none of the accepted ones. */
export function toSockaddr(sa: unknown, name = 'sa'): ResolvedSockaddr {
  if (sa === null || typeof sa !== 'object') throw typeError(name, 'a Sockaddr object', sa);
  const o = sa as Record<string, unknown>;
  if ('sin_family' in o) {
    const addr = o.sin_addr as { s_addr?: unknown } | undefined;
    if (typeof o.sin_port !== 'number' || !addr || typeof addr.s_addr !== 'number') {
      throw typeError(name, 'a { sin_family, sin_port, sin_addr: { s_addr } } object', sa);
    }
    const a = ntohl(addr.s_addr);
    return {
      family: 4,
      address: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`,
      port: ntohs(o.sin_port),
    };
  }
  const fam = o.family;
  const address = o.address;
  const port = o.port;
  if (typeof address !== 'string' || typeof port !== 'number') {
    throw typeError(name, 'a { family, address, port } object', sa);
  }
  let family: 4 | 6;
  if (fam === AF_INET || fam === 'IPv4' || fam === 4) family = 4;
  else if (fam === AF_INET6 || fam === 'IPv6' || fam === 6) family = 6;
  else throw typeError(`${name}.family`, 'AF_INET, AF_INET6, "IPv4" or "IPv6"', fam);
  return { family, address, port };
}

/** evutil_parse_sockaddr_port("127.0.0.1:8080" | "[::1]:8080" | "1.2.3.4" | "::1"): a Sockaddr or null. */
export function parseSockaddrPort(str: string): { family: number; address: string; port: number } | null {
  if (typeof str !== 'string') throw typeError('str', 'of type string', str);
  let host = str;
  let port = 0;
  let hasPort = false;
  let bracketed = false;
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(str);
  if (m6) {
    host = m6[1]!;
    bracketed = true;
    if (m6[2] !== undefined) {
      hasPort = true;
      port = Number(m6[2]);
    }
  } else {
    const colon = str.indexOf(':');
    if (colon >= 0 && str.indexOf(':', colon + 1) < 0) {
      host = str.slice(0, colon);
      const p = str.slice(colon + 1);
      if (!/^\d+$/.test(p)) return null;
      hasPort = true;
      port = Number(p);
    }
  }
  // libevent: a port that is given must be 1..65535 ("[ffff::1]:0" fails); brackets hold an IPv6 address only
  if (hasPort && (port <= 0 || port > 65535)) return null;
  const v = net.isIP(host);
  if (bracketed && v !== 6) return null;
  if (v === 4) return { family: AF_INET, address: host, port };
  if (v === 6) return { family: AF_INET6, address: host, port };
  return null;
}
