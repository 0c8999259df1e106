import dns from 'node:dns';
import type { EvdnsBase } from './evdns.ts';
import type { ResolvedSockaddr } from '../sockaddr.ts';
import { AF_INET, AF_INET6 } from '../sockaddr.ts';
import { EVUTIL_EAI_CANCEL, EVUTIL_EAI_NONAME, EVUTIL_EAI_AGAIN, EVUTIL_EAI_FAIL, EVUTIL_EAI_FAMILY, EVUTIL_EAI_NODATA } from './eai.ts';

/** The EVUTIL_EAI_* code of a failed `dns.lookup`, as getaddrinfo would have returned it. */
function mapLookupError(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case 'ENOTFOUND':
      return EVUTIL_EAI_NONAME;
    case 'EAI_AGAIN':
      return EVUTIL_EAI_AGAIN;
    case 'EAI_FAMILY':
      return EVUTIL_EAI_FAMILY;
    case 'ENODATA':
      return EVUTIL_EAI_NODATA;
    default:
      return EVUTIL_EAI_FAIL;
  }
}

/**
 * Resolve `hostname` for a connect to `port` (bufferevent_socket_connect_hostname): through an evdns_base's resolver,
 * or the system's (`dns.lookup`, getaddrinfo) when `dnsBase` is null. `done` gets 0 and the first address, or an
 * EVUTIL_EAI_* code and null, once. Returns the cancel function: it makes `done` run at once with EVUTIL_EAI_CANCEL,
 * and the lookup's own answer is dropped. @thread the caller's (answers arrive on its loop)
 */
export function startLookup(dnsBase: EvdnsBase | null, hostname: string, family: number, port: number, done: (err: number, addr: ResolvedSockaddr | null) => void): () => void {
  if (dnsBase !== null) {
    const req = dnsBase.resolver.lookup(hostname, family as 0 | 2 | 10, (err, addrs) => {
      const first = addrs[0];
      done(err, first ? { family: first.family, address: first.address, port } : null);
    });
    return () => {
      req.cancel();
      done(EVUTIL_EAI_CANCEL, null);
    };
  }
  let cancelled = false;
  dns.lookup(hostname, { family: family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0 }, (err, address, f) => {
    if (cancelled) return;
    if (err) done(mapLookupError(err), null);
    else done(0, { family: f === 6 ? 6 : 4, address, port });
  });
  return () => {
    cancelled = true;
    done(EVUTIL_EAI_CANCEL, null);
  };
}
