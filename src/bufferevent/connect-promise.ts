/**
 * `bev.connect(target, { signal })`: the promise face of bufferevent_socket_connect and _connect_hostname (not in
 * libevent). It drives the flat connect and listens to the events the owner reports (an event tap, before the
 * user's event callback), so the two faces cannot disagree. @thread owner
 */
import net from 'node:net';
import type { SocketBufferevent } from './socket.ts';
import { BEV_EVENT_CONNECTED, BEV_EVENT_ERROR } from './core.ts';
import { abortError, abortSignalOption } from '../event/base.ts';
import { connectChannel } from '../diagnostics.ts';
import { typeError, rangeError, codedError, lookupError, systemError } from '../errors.ts';
import { eaiName } from '../dns/eai.ts';
import { AF_UNSPEC, toSockaddr, type Sockaddr } from '../sockaddr.ts';
import { intArg } from '../validate.ts';

export function connectPromise(bev: SocketBufferevent, target: Sockaddr | { host: string; port: number }, options?: { signal?: AbortSignal }): Promise<void> {
  bev.live();
  bev.ownerOnly('connect');
  const signal = abortSignalOption(options);
  if (target === null || typeof target !== 'object') throw typeError('target', 'a sockaddr or { host, port }', target);
  const t = target as { host?: unknown; port?: unknown };
  let host: string;
  let port: number;
  let byName = false;
  let sa = target as Sockaddr; // checked by connectTo (toSockaddr)
  if (t.host !== undefined) {
    if (typeof t.host !== 'string') throw typeError('target.host', 'of type string', t.host);
    port = intArg(t.port, 'target.port');
    if (port < 1 || port > 65535) throw rangeError('target.port', '>= 1 and <= 65535', port);
    host = t.host;
    const ip = net.isIP(host);
    if (ip === 0) byName = true;
    else sa = { family: ip === 6 ? 'IPv6' : 'IPv4', address: host, port };
  } else {
    const r = toSockaddr(target, 'target');
    host = r.address;
    port = r.port;
  }
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (!connectChannel.hasSubscribers) return connectStart(bev, byName, sa, host, port, signal);
  return connectChannel.tracePromise(() => connectStart(bev, byName, sa, host, port, signal), { bev, target });
}

function connectStart(bev: SocketBufferevent, byName: boolean, sa: Sockaddr, host: string, port: number, signal: AbortSignal | undefined): Promise<void> {
  const r = byName ? bev.connectHostname(null, AF_UNSPEC, host, port) : bev.connectTo(sa);
  if (r !== 0) return Promise.reject(codedError('ERR_BEV_CONNECT_STATE', 'the bufferevent is connected or connecting already'));
  return new Promise<void>((resolve, reject) => {
    const taps = (bev.eventTaps ??= []);
    const finish = (err: Error | null): void => {
      const k = taps.indexOf(tap);
      if (k >= 0) taps.splice(k, 1);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const tap = (what: number, errno: number): void => {
      if (what & BEV_EVENT_CONNECTED) finish(null);
      else if (what & BEV_EVENT_ERROR) {
        const eai = bev.dnsError; // the tap runs under the lock, in the event's report
        finish(eai !== 0 ? lookupError(eai, eaiName(eai), host) : systemError(errno, 'connect', host, port));
      }
    };
    const onAbort = (): void => {
      bev.abortConnect();
      finish(abortError(signal!));
    };
    taps.push(tap);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
