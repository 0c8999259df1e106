import net from 'node:net';
import * as L from '../../index.ts';
import { type ActorCtx, loopUntil, randInt, recordSize, setSlot, slot, timedLock, timedUnlock, S_BYTES, S_DONE, S_PROGRESS, S_REC } from '../actor.ts';
import { checkStream, concat, encodeRecord, splitRecord } from '../records.ts';
import { streamOutcomes, type CheckInput, type Scenario } from '../scenario.ts';

/**
 * Records written into one THREADSAFE bufferevent from every other thread: `bufferevent_write` of a whole record, or
 * several writes of its parts under `bufferevent_lock`. The owner's event loop carries the bytes on, and the owner
 * checks what arrives at the far end:
 * - `pair`: the far end is the pair's partner; its read callback takes the bytes.
 * - `socket`: the bufferevent is a socket over loopback; a node:net socket on the owner's thread takes the bytes.
 */
interface Sink {
  chunks: Uint8Array[];
  bytes: number;
  close(): void;
}

function makeBevRecords(name: 'pair' | 'socket'): Scenario {
  return {
    name,
    summary:
      name === 'pair'
        ? 'records into a THREADSAFE pair from foreign threads; the partner reads them on the owner'
        : 'records into a THREADSAFE socket bufferevent over loopback from foreign threads',
    minActors: 2,
    kill: false,
    async setup({ base }) {
      const sink: Sink = { chunks: [], bytes: 0, close() {} };
      const take = (d: Uint8Array): void => {
        sink.chunks.push(d);
        sink.bytes += d.length;
      };
      if (name === 'pair') {
        const pair: L.Bufferevent[] = [];
        L.bufferevent_pair_new(base, L.BEV_OPT_THREADSAFE, pair);
        const [a, b] = pair as [L.Bufferevent, L.Bufferevent];
        L.bufferevent_setcb(b, (bev) => take(drainInput(bev)), null, null, null);
        L.bufferevent_enable(a, L.EV_WRITE);
        L.bufferevent_enable(b, L.EV_READ);
        sink.close = () => {
          L.bufferevent_free(a);
          L.bufferevent_free(b);
        };
        return { bev: a, sink };
      }
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_THREADSAFE | L.BEV_OPT_CLOSE_ON_FREE)!;
      L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port });
      L.bufferevent_enable(bev, L.EV_WRITE);
      const peer = await accepted;
      peer.on('data', (d: Buffer) => take(new Uint8Array(d.buffer, d.byteOffset, d.length)));
      sink.close = () => {
        L.bufferevent_free(bev);
        peer.destroy();
        server.close();
      };
      return { bev, sink };
    },
    actor(ctx) {
      if (ctx.index === 0) {
        setSlot(ctx, S_DONE, 1);
        return { ops: 0, told: 0 }; // the owner's loop is the consumer
      }
      return write(ctx, ctx.shared.bev as L.Bufferevent);
    },
    async collect(c) {
      const sink = c.state.sink as Sink;
      let want = 0;
      for (let a = 1; a < c.params.actors; a++) want += slot(c, a, S_BYTES);
      const arrived = await loopUntil(
        () => sink.bytes >= want,
        () => sink.bytes,
      );
      sink.close();
      return { stream: concat(sink.chunks), want, arrived };
    },
    check(input: CheckInput) {
      const expected = input.params.actors > 0 ? Array.from({ length: input.params.actors }, (_, a) => (a === 0 ? 0 : slot(input, a, S_REC) >>> 2)) : [];
      const col = input.collected as { stream: Uint8Array; want: number; arrived: boolean };
      const out = streamOutcomes(checkStream(col.stream, expected), '');
      if (!col.arrived) out.details.push(`only ${col.stream.length} of ${col.want} bytes arrived`);
      return out;
    },
  };
}

function drainInput(bev: L.Bufferevent): Uint8Array {
  const input = L.bufferevent_get_input(bev);
  const out = new Uint8Array(L.evbuffer_get_length(input));
  L.evbuffer_remove(input, out, out.length);
  return out;
}

function write(ctx: ActorCtx, bev: L.Bufferevent) {
  const r = ctx.rng;
  const skip = ctx.params.inject === 'skip-lock';
  let bytes = 0;
  for (let seq = 0; seq < ctx.params.ops; seq++) {
    const rec = encodeRecord(ctx.index, seq, recordSize(r));
    if (r() < 0.5) {
      L.bufferevent_write(bev, rec);
      if (ctx.trace) ctx.trace.push(`bufferevent_write(record ${ctx.index}:${seq}, ${rec.length} B)`);
    } else {
      const parts = splitRecord(rec, randInt(r, 2, 5));
      if (ctx.trace) ctx.trace.push(`${skip ? 'no lock' : 'bufferevent_lock'}; ${parts.length} x bufferevent_write(record ${ctx.index}:${seq}, ${rec.length} B)`);
      const t = skip ? 0 : timedLock(ctx, () => L.bufferevent_lock(bev), () => {});
      for (const p of parts) L.bufferevent_write(bev, p);
      if (!skip) timedUnlock(ctx, t, () => L.bufferevent_unlock(bev));
    }
    bytes += rec.length;
    setSlot(ctx, S_REC, (seq + 1) * 4);
    setSlot(ctx, S_BYTES, bytes & 0x7fffffff);
    setSlot(ctx, S_PROGRESS, seq + 1);
  }
  setSlot(ctx, S_DONE, 1);
  return { ops: ctx.params.ops, told: ctx.told };
}

export const pairScenario = makeBevRecords('pair');
export const socketScenario = makeBevRecords('socket');
