/**
 * "Manipulating callbacks, watermarks, and enabled operations" (libevent book, Bufferevents: concepts and basics):
 * the read-watermark example, ported to the flat API.
 *
 * Every bufferevent has four watermarks. Two matter here:
 * - the read low-water mark: the read callback runs only after a read that leaves at least this many bytes in the
 *   input buffer (default 0: every read);
 * - the read high-water mark: once the input buffer holds this many bytes the bufferevent stops reading from the
 *   socket until enough is drained to take it below the mark again (default 0: unlimited).
 *
 * The book sets the low mark to 128 and leaves the high mark unlimited; this port also sets a high mark, so that
 * no read can take the input past it. The book leaves the connection set-up out ("Here we should set up the
 * bufferevent and make sure it gets connected"); here it connects to a server and drains whatever it sends.
 *
 *   node_modules/.bin/node examples/watermarks.ts [ipv4-address] [port]
 */
import {
  event_base_new,
  event_base_free,
  event_base_dispatch,
  bufferevent_socket_new,
  bufferevent_socket_connect,
  bufferevent_setcb,
  bufferevent_setwatermark,
  bufferevent_enable,
  bufferevent_free,
  bufferevent_get_input,
  evbuffer_get_length,
  evbuffer_drain,
  evutil_parse_sockaddr_port,
  evutil_socket_error_to_string,
  EVUTIL_SOCKET_ERROR,
  EV_READ,
  BEV_OPT_CLOSE_ON_FREE,
  BEV_EVENT_ERROR,
  BEV_EVENT_EOF,
  type Bufferevent,
  type EventBase,
} from '../src/index.ts';

export interface WatermarksOptions {
  host?: string;
  port: number;
  /** The read low-water mark; 128 as in the book. */
  lowmark?: number;
  /** The read high-water mark; 0 is unlimited (the book's value). Default 512. */
  highmark?: number;
  out?: (text: string) => void;
}

/** The book's `struct info`. */
interface Info {
  name: string;
  total_drained: number;
  out: (text: string) => void;
  highmark: number;
}

function read_callback(bev: Bufferevent, ctx: unknown): void {
  const inf = ctx as Info;
  const input = bufferevent_get_input(bev);
  const len = evbuffer_get_length(input);
  if (len) {
    // Because of the low-water mark, len is at least 128 here; because of the high-water mark, at most highmark.
    if (inf.highmark && len >= inf.highmark) {
      inf.out(`${inf.name} reached its high-water mark (${len} bytes): reading stopped until we drain\n`);
    }
    inf.total_drained += len;
    // Draining takes the input below the high-water mark again, so the bufferevent resumes reading by itself.
    evbuffer_drain(input, len);
    inf.out(`Drained ${len} bytes from ${inf.name}\n`);
  }
}

function event_callback(bev: Bufferevent, events: number, ctx: unknown): void {
  const inf = ctx as Info;
  const input = bufferevent_get_input(bev);
  let finished = false;

  if (events & BEV_EVENT_EOF) {
    // Whatever is left is below the low-water mark: the read callback never saw it.
    const len = evbuffer_get_length(input);
    inf.out(`Got a close from ${inf.name}.  We drained ${inf.total_drained} bytes from it, and have ${len} left.\n`);
    finished = true;
  }
  if (events & BEV_EVENT_ERROR) {
    inf.out(`Got an error from ${inf.name}: ${evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())}\n`);
    finished = true;
  }
  if (finished) {
    // (The C code also free()s its info struct here.) Once the bufferevent is gone nothing is pending, and
    // event_base_dispatch() returns.
    bufferevent_free(bev);
  }
}

/**
 * setup_bufferevent() from the book, with the part it leaves out: the bufferevent is made with no socket, and
 * connected once its watermarks and callbacks are in place.
 */
function setup_bufferevent(base: EventBase, opts: WatermarksOptions, out: (text: string) => void): Bufferevent | null {
  const info1: Info = { name: 'buffer 1', total_drained: 0, out, highmark: opts.highmark ?? 512 };

  const b1 = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)!;

  // Trigger the read callback only whenever there is at least 128 bytes of data in the buffer, and never let the
  // input grow past the high-water mark.
  bufferevent_setwatermark(b1, EV_READ, opts.lowmark ?? 128, info1.highmark);

  bufferevent_setcb(b1, read_callback, null, event_callback, info1);

  bufferevent_enable(b1, EV_READ); /* Start reading. */

  // Reading is enabled before there is a connection: the bufferevent starts reading as soon as it is connected.
  const sa = evutil_parse_sockaddr_port(`${opts.host ?? '127.0.0.1'}:${opts.port}`);
  if (sa === null || bufferevent_socket_connect(b1, sa, 0) < 0) {
    bufferevent_free(b1);
    return null;
  }
  return b1;
}

export async function main(opts: WatermarksOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const base = event_base_new();
  const bev = setup_bufferevent(base, opts, out);
  if (bev === null) {
    event_base_free(base);
    return -1;
  }
  await event_base_dispatch(base);
  event_base_free(base);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [host, port] = process.argv.slice(2);
  process.exitCode = (await main({ host, port: Number(port ?? 8080) })) === 0 ? 0 : 1;
}
