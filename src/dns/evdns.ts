import { readFileSync } from 'node:fs';
import { UdpResolver } from './resolver.ts';
import { EventBase } from '../event/base.ts';
import { freedError, typeError } from '../errors.ts';
import { intArg } from '../validate.ts';

/**
 * evdns_base: an asynchronous resolver bound to an event base. With `initialize_nameservers` it reads the
 * nameservers from /etc/resolv.conf (as libevent's EVDNS_BASE_INITIALIZE_NAMESERVERS); otherwise it asks only the
 * servers added with `evdns_base_nameserver_ip_add`. @thread base owner only
 */
export class EvdnsBase {
  /** @internal */ readonly resolver = new UdpResolver();
  /** @internal */ readonly base: EventBase;
  /** @internal */ freed = false;

  constructor(base: EventBase, initialize: number) {
    if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase (use evdns_base_new)', base);
    this.base = base;
    if (initialize) {
      let conf = '';
      try {
        conf = readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        conf = '';
      }
      for (const line of conf.split('\n')) {
        const m = /^\s*nameserver\s+(\S+)/.exec(line);
        if (m) this.resolver.addNameserver(m[1]!);
      }
    }
  }

  /** @internal */
  live(): void {
    if (this.freed) throw freedError('evdns_base');
  }

  /** evdns_base_nameserver_ip_add: add a nameserver, "IP" or "IP:port". 0, or an error code. */
  nameserverIpAdd(spec: string): number {
    this.live();
    if (typeof spec !== 'string') throw typeError('ip_as_string', 'of type string', spec);
    return this.resolver.addNameserver(spec);
  }

  /** evdns_base_free: free the DNS base; with `failRequests` nonzero the pending lookups fail with DNS_ERR_SHUTDOWN. */
  free(failRequests: number): void {
    this.live();
    const f = intArg(failRequests ?? 0, 'fail_requests');
    this.resolver.close(f !== 0);
    this.freed = true;
  }
}

export function evdnsBaseNew(base: unknown, initialize: unknown): EvdnsBase {
  if (!(base instanceof EventBase)) throw typeError('base', 'an EventBase', base);
  base.live();
  return new EvdnsBase(base, intArg(initialize, 'initialize_nameservers'));
}
