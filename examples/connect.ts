/**
 * "Launching connections on socket-based bufferevents" (libevent book, Bufferevents: concepts and basics), ported to
 * the flat API.
 *
 * The book's example makes a socket bufferevent with no socket yet (fd -1), asks it to connect to 127.0.0.1:8080 and
 * learns the outcome through the event callback. Its callback only says where real work would start; here it does
 * that work: once connected it turns reading on, the read callback prints whatever the server sends, and the end of
 * the stream (or an error) frees the bufferevent and stops the loop.
 *
 *   node_modules/.bin/node examples/connect.ts [ipv4-address] [port]
 */
import {
  event_base_new,
  event_base_free,
  event_base_dispatch,
  event_base_loopexit,
  bufferevent_socket_new,
  bufferevent_socket_connect,
  bufferevent_setcb,
  bufferevent_enable,
  bufferevent_free,
  bufferevent_get_input,
  evbuffer_remove,
  evutil_socket_error_to_string,
  EVUTIL_SOCKET_ERROR,
  htonl,
  htons,
  AF_INET,
  EV_READ,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_EVENT_CONNECTED,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  type Bufferevent,
  type EventBase,
} from '../src/index.ts';

export interface ConnectOptions {
  /** An IPv4 address in dotted form (the book's example fills a `struct sockaddr_in`). Default 127.0.0.1. */
  host?: string;
  /** Default 8080, as in the book. */
  port?: number;
  /** Where the output goes; default stdout. */
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
  // Empty the input buffer a chunk at a time; evbuffer_remove returns how many bytes it copied out (0 when empty).
  const input = bufferevent_get_input(bev);
  const chunk = new Uint8Array(1024);
  let n: number;
  while ((n = evbuffer_remove(input, chunk, chunk.length)) > 0) {
    st.out(decoder.decode(chunk.subarray(0, n), { stream: true }));
  }
}

function eventcb(bev: Bufferevent, events: number, ptr: unknown): void {
  const st = ptr as State;
  if (events & BEV_EVENT_CONNECTED) {
    // We're connected. Ordinarily we'd start reading or writing here; this client only listens, so it turns reading
    // on (a new bufferevent has writing enabled and reading disabled).
    st.out('Connected.\n');
    bufferevent_enable(bev, EV_READ);
  } else if (events & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
    if (events & BEV_EVENT_ERROR) {
      // An error while connecting or later. EVUTIL_SOCKET_ERROR() is the errno libevent saw.
      st.out(`Error: ${evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())}\n`);
      st.failed = true;
    } else {
      st.out('Connection closed by the server.\n');
    }
    // With BEV_OPT_CLOSE_ON_FREE, freeing the bufferevent closes its socket too.
    bufferevent_free(bev);
    event_base_loopexit(st.base, null);
  }
}

/** inet_addr(): "127.0.0.1" -> 0x7f000001 (host byte order), or null. */
function ipv4ToNumber(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The book's main_loop(): returns 0, or -1 when the connection could not be started or failed. */
export async function main(opts: ConnectOptions = {}): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const addr = ipv4ToNumber(opts.host ?? '127.0.0.1');
  if (addr === null) throw new Error(`not an IPv4 address: ${opts.host}`);

  const base = event_base_new();

  // The C code zeroes a struct sockaddr_in and fills it in network byte order; the same shape works here.
  const sin = {
    sin_family: AF_INET,
    sin_addr: { s_addr: htonl(addr) },
    sin_port: htons(opts.port ?? 8080),
  };

  // fd -1: the bufferevent has no socket yet; bufferevent_socket_connect makes one (non-blocking) for it.
  const bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)!;
  const st: State = { base, out, failed: false };

  // Reading stays off until eventcb sees CONNECTED, so readcb cannot run before; no write callback is needed.
  bufferevent_setcb(bev, readcb, null, eventcb, st);

  if (bufferevent_socket_connect(bev, sin, 16) < 0) {
    // Error starting connection
    bufferevent_free(bev);
    event_base_free(base);
    return -1;
  }
  // The connect is under way; CONNECTED or ERROR arrives through eventcb while the loop runs.
  await event_base_dispatch(base);
  event_base_free(base);
  return st.failed ? -1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [host, port] = process.argv.slice(2);
  process.exitCode = (await main({ host, port: port ? Number(port) : undefined })) === 0 ? 0 : 1;
}
