import { describe, it, expect, vi } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import * as L from '../../src/index.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runUntil, tcpPair, waitFor } from '../support/net.ts';

/**
 * The write path hands libuv every chain of the output in one vectored write, and reads adapt their size: a message
 * is neither written nor read in pieces that would wait behind Nagle's algorithm for the peer's delayed ACK.
 */
describe('socket writes are gathered', () => {
  it('an output of several chains leaves in one writev, straight into the libuv stream', async () => {
    const received: Buffer[] = [];
    const srv = net.createServer((c) => c.on('data', (d) => received.push(d))).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    let connected = false;
    L.bufferevent_setcb(bev, null, null, (_b, what) => (connected ||= (what & L.BEV_EVENT_CONNECTED) !== 0), null);
    L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
    await runUntil(base, () => connected);
    // three chains in the output: each evbuffer_add_buffer moves the source's chain over as it is
    const out = L.bufferevent_get_output(bev);
    L.bufferevent_disable(bev, L.EV_WRITE);
    for (const ch of ['a', 'b', 'c']) {
      const part = L.evbuffer_new();
      L.evbuffer_add(part, ch.repeat(3000));
      L.evbuffer_add_buffer(out, part);
      L.evbuffer_free(part);
    }
    // the write goes straight into the libuv stream (no net.Socket Writable in between): one writev of every chain
    const sock = (bev as unknown as { sock: net.Socket }).sock;
    type Handle = { writev: (...a: unknown[]) => number; writeBuffer: (...a: unknown[]) => number };
    const handle = (sock as unknown as { _handle: Handle })._handle;
    const writev = vi.spyOn(handle, 'writev');
    const writeBuffer = vi.spyOn(handle, 'writeBuffer');
    const streamWrite = vi.spyOn(sock, 'write');
    L.bufferevent_enable(bev, L.EV_WRITE);
    await runUntil(base, () => L.evbuffer_get_length(out) === 0);
    expect(writeBuffer).not.toHaveBeenCalled();
    expect(streamWrite).not.toHaveBeenCalled();
    expect(writev).toHaveBeenCalledTimes(1);
    const chunks = writev.mock.calls[0]![1] as Uint8Array[];
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(9000);
    await runUntil(base, () => received.reduce((n, d) => n + d.length, 0) === 9000);
    expect(Buffer.concat(received).toString()).toBe('a'.repeat(3000) + 'b'.repeat(3000) + 'c'.repeat(3000));
    L.bufferevent_free(bev);
    L.event_base_free(base);
    srv.close();
  });
});

describe('socket writes without Node internals', () => {
  it('where process.binding is refused (--permission), writes go through the net.Socket and still echo every byte in order', async () => {
    const received: Buffer[] = [];
    let ended!: () => void;
    const peerEnded = new Promise<void>((r) => (ended = r));
    const srv = net.createServer((c) => c.on('data', (d) => received.push(d)).on('end', ended)).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as net.AddressInfo).port;
    const script = `
      import * as L from ${JSON.stringify(fileURLToPath(new URL('../../src/index.ts', import.meta.url)))};
      let bindingRefused = false;
      try { process.binding('stream_wrap'); } catch { bindingRefused = true; }
      const base = L.event_base_new();
      const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE);
      L.bufferevent_setcb(bev, null, (b) => {
        if (L.evbuffer_get_length(L.bufferevent_get_output(b)) === 0) L.event_base_loopexit(base, null);
      }, null, null);
      L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: ${port} });
      for (let i = 0; i < 2000; i++) L.bufferevent_write(bev, 'line ' + i + '\\n');
      L.bufferevent_enable(bev, L.EV_WRITE);
      await L.event_base_dispatch(base);
      L.bufferevent_free(bev);
      console.log(bindingRefused ? 'refused' : 'allowed');
    `;
    const child = spawn(process.execPath, ['--permission', '--allow-fs-read=*', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(out.trim()).toBe('refused');
    expect(code).toBe(0);
    const want = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');
    await peerEnded; // the child freed its bufferevent (CLOSE_ON_FREE): everything it wrote has arrived
    expect(Buffer.concat(received).toString()).toBe(want);
    srv.close();
  });
});

describe('socket reads adapt their size', () => {
  it('a quiet connection holds no read region (it reads into the thread slab); a burst grows reads to 64 KiB regions (max_single_read permitting); small reads shrink them back', async () => {
    let peer: net.Socket | null = null;
    const srv = net.createServer((c) => (peer = c)).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    L.bufferevent_set_max_single_read(bev, 1 << 20); // above the largest region: the adaptation alone decides
    let got = 0;
    L.bufferevent_setcb(bev, (b) => {
      const input = L.bufferevent_get_input(b);
      got += L.evbuffer_get_length(input);
      L.evbuffer_drain(input, L.evbuffer_get_length(input));
    }, null, null, null);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
    await runUntil(base, () => peer !== null);
    const state = bev as unknown as { readSize: number; readPin: number; readInSlab: boolean };
    expect(state.readSize).toBe(1024 - 32); // quiet: the next read lands in the slab
    expect(state.readInSlab).toBe(true);
    expect(state.readPin).toBe(0); // no chain of the input is held for it
    peer!.write(Buffer.alloc(1 << 20, 7)); // a burst: every read fills its region, so each doubles the next
    await runUntil(base, () => got === 1 << 20);
    expect(state.readSize).toBe(65536 - 32);
    expect(state.readInSlab).toBe(false); // busy: reads land in the input itself, without a copy
    expect(state.readPin).not.toBe(0);
    for (let i = 0; i < 12; i++) {
      // one byte at a time, each read before the next write: every read uses a tiny part of its region
      const want = got + 1;
      peer!.write('x');
      await runUntil(base, () => got === want);
    }
    expect(state.readSize).toBe(1024 - 32);
    expect(state.readInSlab).toBe(true);
    expect(state.readPin).toBe(0);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    peer!.destroy();
    srv.close();
  });
});

describe('a read target is installed once per socket', () => {
  it('reading stopped and started by the read high watermark, 200 times, installs no new read listener in the handle', async () => {
    let peer: net.Socket | null = null;
    const srv = net.createServer((c) => (peer = c)).listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE)!;
    let got = '';
    L.bufferevent_setwatermark(bev, L.EV_READ, 0, 5);
    const d = new Uint8Array(5);
    L.bufferevent_setcb(bev, (b) => (got += Buffer.from(d.subarray(0, L.bufferevent_read(b, d, 5))).toString()), null, null, null);
    L.bufferevent_enable(bev, L.EV_READ);
    L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
    await runUntil(base, () => peer !== null && got === '' && L.bufferevent_get_enabled(bev) !== 0);
    const sock = (bev as unknown as { sock: net.Socket }).sock;
    const handle = (sock as unknown as { _handle: { useUserBuffer: (b: Uint8Array) => void } })._handle;
    const install = vi.spyOn(handle, 'useUserBuffer');
    const want = Array.from({ length: 200 }, (_, i) => String(i % 10).repeat(5)).join('');
    peer!.write(want); // each 5-byte read fills the input to its high watermark: reading stops until the callback drains it
    await runUntil(base, () => got.length === want.length);
    expect(got).toBe(want);
    expect(install).not.toHaveBeenCalled();
    L.bufferevent_setwatermark(bev, L.EV_READ, 0, 3); // a lower limit: the region must shrink before the next read
    expect(install).toHaveBeenCalledTimes(1);
    L.bufferevent_free(bev);
    L.event_base_free(base);
    peer!.destroy();
    srv.close();
  });
});

describe('an accepted socket is switched to zero-copy reads in place', () => {
  it("no second net.Socket: the bufferevent reads and writes through the object it was given, keeps its owner's listeners, and gives it back whole", async () => {
    const { client, server: sock } = await tcpPair(); // accepted paused, as listeners and the runtime accept
    let ownerSawEnd = false;
    sock.on('end', () => (ownerSawEnd = true)); // the owner's listener, before and after the bufferevent
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, sock, 0)!;
    expect((bev as unknown as { sock: net.Socket }).sock).toBe(sock);
    L.bufferevent_setcb(bev, (b) => L.evbuffer_add_buffer(L.bufferevent_get_output(b), L.bufferevent_get_input(b)), null, null, null);
    L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
    let back = '';
    client.on('data', (d) => (back += d));
    client.resume();
    client.write('through the bufferevent');
    await runUntil(base, () => back === 'through the bufferevent');
    L.bufferevent_free(bev); // no CLOSE_ON_FREE: the socket is the owner's again, reading as a plain net.Socket
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // the freed bufferevent is finalized in the loop
    let ownerGot = '';
    sock.on('data', (d) => (ownerGot += d));
    sock.resume();
    client.write('to the owner');
    await waitFor(() => ownerGot === 'to the owner');
    sock.write('from the owner');
    await waitFor(() => back === 'through the bufferevent' + 'from the owner');
    client.end();
    await waitFor(() => ownerSawEnd);
    sock.destroy();
    client.destroy();
    L.event_base_free(base);
  });

  it('a socket that has read before is re-wrapped instead, and still echoes', async () => {
    const { client, server: sock } = await tcpPair();
    const first = once(sock, 'data');
    sock.resume();
    client.write('read by the owner');
    expect(String((await first)[0])).toBe('read by the owner');
    sock.pause();
    const base = L.event_base_new();
    const bev = L.bufferevent_socket_new(base, sock, L.BEV_OPT_CLOSE_ON_FREE)!;
    expect((bev as unknown as { sock: net.Socket }).sock).not.toBe(sock);
    L.bufferevent_setcb(bev, (b) => L.evbuffer_add_buffer(L.bufferevent_get_output(b), L.bufferevent_get_input(b)), null, null, null);
    L.bufferevent_enable(bev, L.EV_READ | L.EV_WRITE);
    let back = '';
    client.on('data', (d) => (back += d));
    client.resume();
    client.write('echoed');
    await runUntil(base, () => back === 'echoed');
    L.bufferevent_free(bev);
    client.destroy();
    L.event_base_free(base);
  });
});

describe('one pass of the loop serves the connections that became readable together', () => {
  it('two sockets that become readable in one poll: one EVLOOP_ONCE pass runs both read callbacks (as one libevent pass serves one epoll_wait)', async () => {
    const a = await tcpPair();
    const b = await tcpPair();
    const base = L.event_base_new();
    const ran: string[] = [];
    const bevs = [a.server, b.server].map((sock, i) => {
      const bev = L.bufferevent_socket_new(base, sock, 0)!;
      L.bufferevent_setcb(bev, (x) => {
        ran.push(`${i}:${Buffer.from(L.evbuffer_pullup(L.bufferevent_get_input(x), -1)!).toString()}@${base.stats().iterations}`);
        L.evbuffer_drain(L.bufferevent_get_input(x), L.evbuffer_get_length(L.bufferevent_get_input(x)));
      }, null, null, null);
      L.bufferevent_enable(bev, L.EV_READ);
      return bev;
    });
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK); // reading has started
    const once = L.event_base_loop(base, L.EVLOOP_ONCE); // waits for activity
    // both bytes are in the kernel when the loop's next poll looks: Node delivers both reads in that one poll
    a.client.write('a');
    b.client.write('b');
    await once;
    expect(ran.sort()).toEqual(['0:a@1', '1:b@1']); // both callbacks, in the one pass EVLOOP_ONCE runs
    for (const bev of bevs) L.bufferevent_free(bev);
    await L.event_base_loop(base, L.EVLOOP_NONBLOCK);
    L.event_base_free(base);
    for (const p of [a, b]) {
      p.client.destroy();
      p.server.destroy();
    }
  });
});
