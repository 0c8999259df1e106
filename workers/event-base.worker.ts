/**
 * An event-base thread of the runtime (src/runtime/runtime.ts): imports the user's module, runs one event base with
 * EVLOOP_NO_EXIT_ON_EMPTY, serves the connections handed to it (or accepted by its own reusePort listener), and on
 * shutdown stops accepting, lets open connections finish (up to drainMs), then ends its loop and exits.
 * Open connections are counted in shared memory (workerData.load[index]) for least-loaded distribution.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type net from 'node:net';
import * as L from '../src/index.ts';
import { Arena, localArena } from '../src/shm/arena.ts';
import { Registry } from '../src/runtime/registry.ts';
import { forwardDiagnostics } from '../src/diagnostics.ts';
import { adoptTransferredSocket } from '../src/bufferevent/sockwrap.ts';

interface Data {
  module: string;
  index: number;
  load: Int32Array;
  userData: unknown;
  reusePort: { host: string; port: number } | null;
  registry: SharedArrayBuffer;
  diagnostics: boolean;
}
interface UserModule {
  onConnection?: (base: L.EventBase, socket: net.Socket, info: unknown) => void;
  setup?: (base: L.EventBase, ctx: { index: number; workerData: unknown; registry: Registry }) => void | Promise<void>;
  teardown?: (base: L.EventBase) => void | Promise<void>;
}

const data = workerData as Data;
const port = parentPort!;
const base = L.event_base_new();
const registry = new Registry(data.registry, data.index);
// startRuntime({ diagnostics: true }): this thread's diagnostics_channel messages go to the main thread too
if (data.diagnostics) forwardDiagnostics((m) => port.postMessage(m));
let open = 0;
let listener: L.Evconnlistener | null = null;

function track(sock: net.Socket, counted: boolean): void {
  open++;
  if (!counted) Atomics.add(data.load, data.index, 1);
  sock.on('close', untrack); // one function for every connection: 'close' comes once
}
function untrack(): void {
  open--;
  Atomics.sub(data.load, data.index, 1);
}

async function main(): Promise<void> {
  const mod = (await import(data.module)) as UserModule;
  if (typeof mod.onConnection !== 'function') throw new TypeError(`${data.module} does not export onConnection(base, socket, info)`);
  const onConnection = mod.onConnection;
  await mod.setup?.(base, { index: data.index, workerData: data.userData, registry });
  port.on('message', async (m: { type: string; socket?: net.Socket; info?: unknown; drainMs?: number; list?: SharedArrayBuffer[] }) => {
    if (m.type === 'arenas' && m.list) {
      for (const sab of m.list) Arena.attach(sab); // the other workers' memory: what they publish can be imported here
      registry.rescan();
    } else if (m.type === 'conn' && m.socket) {
      const sock = adoptTransferredSocket(m.socket);
      track(sock, true);
      try {
        onConnection(base, sock, m.info);
      } catch (e) {
        // one bad connection must not take the worker (and every connection on it) down
        sock.destroy();
        port.postMessage({ type: 'connection-error', message: e instanceof Error ? e.message : String(e) });
      }
    } else if (m.type === 'shutdown') {
      if (listener) L.evconnlistener_free(listener);
      listener = null;
      await mod.teardown?.(base);
      registry.close();
      const deadline = Date.now() + (m.drainMs ?? 5000);
      while (open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      L.event_base_loopbreak(base);
    }
  });
  if (data.reusePort) {
    listener = L.evconnlistener_new_bind(
      base,
      (_l, sock) => {
        track(sock, false);
        onConnection(base, sock, { remoteAddress: sock.remoteAddress, remotePort: sock.remotePort, localPort: sock.localPort });
      },
      null,
      L.LEV_OPT_CLOSE_ON_FREE | L.LEV_OPT_REUSEABLE | L.LEV_OPT_REUSEABLE_PORT,
      -1,
      { family: 'IPv4', address: data.reusePort.host, port: data.reusePort.port },
    );
    if (!listener) throw new Error(`worker ${data.index}: cannot listen on port ${data.reusePort.port}`);
  }
  port.postMessage({ type: 'ready', arena: localArena().sab });
  await L.event_base_loop(base, L.EVLOOP_NO_EXIT_ON_EMPTY);
  L.event_base_free(base);
  process.exit(0);
}

main().catch((e: unknown) => {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
