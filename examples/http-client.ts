/**
 * "Launching connections by hostname" (libevent book, Bufferevents: concepts and basics): the trivial HTTP 0.x
 * client, ported to the flat API.
 *
 * bufferevent_socket_connect_hostname() resolves a name and connects to the first address it gets, in one call. With
 * an evdns_base the lookup is asynchronous; with NULL, libevent would block on the system resolver. This port has no
 * blocking resolver (a Node thread must not block), so NULL means the system resolver, asynchronously: the answer
 * arrives inside the loop like any other event.
 *
 * As the book warns: do not build a real HTTP client like this.
 *
 *   node_modules/.bin/node examples/http-client.ts [hostname] [resource] [port]
 */
import {
  event_base_new,
  event_base_free,
  event_base_dispatch,
  event_base_loopexit,
  evdns_base_new,
  evdns_base_free,
  evdns_base_nameserver_ip_add,
  bufferevent_socket_new,
  bufferevent_socket_connect_hostname,
  bufferevent_socket_get_dns_error,
  bufferevent_setcb,
  bufferevent_enable,
  bufferevent_free,
  bufferevent_get_input,
  bufferevent_get_output,
  evbuffer_remove,
  evbuffer_add_printf,
  evutil_gai_strerror,
  AF_UNSPEC,
  EV_READ,
  EV_WRITE,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_EVENT_CONNECTED,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  type Bufferevent,
  type EventBase,
  type EvdnsBase,
} from '../src/index.ts';

export interface HttpClientOptions {
  hostname?: string;
  /** The resource to ask for; default "/". */
  resource?: string;
  /** Default 80, as in the book. */
  port?: number;
  /**
   * A nameserver ("127.0.0.1:5353") for an evdns_base that asks only it. Without one, the dns_base argument is NULL
   * and the system resolver answers.
   */
  nameserver?: string;
  out?: (text: string) => void;
}

interface State {
  base: EventBase;
  out: (text: string) => void;
  failed: boolean;
}

const decoder = new TextDecoder();

function readcb(bev: Bufferevent, ptr: unknown): void {
  const st = ptr as State;
  const buf = new Uint8Array(1024);
  const input = bufferevent_get_input(bev);
  let n: number;
  // Copy the response out of the input buffer as it comes (the book fwrite()s it to stdout).
  while ((n = evbuffer_remove(input, buf, buf.length)) > 0) {
    st.out(decoder.decode(buf.subarray(0, n), { stream: true }));
  }
}

function eventcb(bev: Bufferevent, events: number, ptr: unknown): void {
  const st = ptr as State;
  if (events & BEV_EVENT_CONNECTED) {
    st.out('Connect okay.\n');
  } else if (events & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
    if (events & BEV_EVENT_ERROR) {
      // An error may come from the lookup rather than the connection: bufferevent_socket_get_dns_error() tells
      // (0 when the name resolved).
      const err = bufferevent_socket_get_dns_error(bev);
      if (err) st.out(`DNS error: ${evutil_gai_strerror(err)}\n`);
      st.failed = true;
    }
    // HTTP 0.x: the server closes the connection at the end of the response.
    st.out('Closing\n');
    bufferevent_free(bev);
    event_base_loopexit(st.base, null);
  }
}

/** Returns 0 when a response was read to its end, -1 on a lookup or connection error. */
export async function main(opts: HttpClientOptions = {}): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const base = event_base_new();

  // The book uses evdns_base_new(base, 1), which reads the nameservers from /etc/resolv.conf.
  let dnsBase: EvdnsBase | null = null;
  if (opts.nameserver !== undefined) {
    dnsBase = evdns_base_new(base, 0);
    if (evdns_base_nameserver_ip_add(dnsBase, opts.nameserver) < 0) throw new Error(`bad nameserver ${opts.nameserver}`);
  }

  const st: State = { base, out, failed: false };
  const bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)!;
  bufferevent_setcb(bev, readcb, null, eventcb, st);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  // The request may go into the output buffer before there is a connection: it is sent once connected. An HTTP 0.9
  // request is the request line alone; the empty line after it ends the request for servers that want headers.
  evbuffer_add_printf(bufferevent_get_output(bev), 'GET %s\r\n\r\n', opts.resource ?? '/');
  // Resolve the name (AF_UNSPEC: IPv4 or IPv6, whichever comes first), then connect. An immediate failure (a bad
  // family or port) returns -1; a lookup failure arrives later as BEV_EVENT_ERROR.
  if (bufferevent_socket_connect_hostname(bev, dnsBase, AF_UNSPEC, opts.hostname ?? 'localhost', opts.port ?? 80) < 0) {
    bufferevent_free(bev);
    st.failed = true;
  } else {
    await event_base_dispatch(base);
  }
  if (dnsBase) evdns_base_free(dnsBase, 0);
  event_base_free(base);
  return st.failed ? -1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [hostname, resource, port] = process.argv.slice(2);
  if (hostname === undefined || resource === undefined) {
    console.log('Trivial HTTP 0.x client\nSyntax: node_modules/.bin/node examples/http-client.ts [hostname] [resource] [port]\nExample: node_modules/.bin/node examples/http-client.ts localhost / 8080');
    process.exitCode = 1;
  } else {
    process.exitCode = (await main({ hostname, resource, port: port ? Number(port) : undefined })) === 0 ? 0 : 1;
  }
}
