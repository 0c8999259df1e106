import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { prng, randBytes, randInt } from '../support/prng.ts';
import { connect, killLeftovers, runCli, startServe } from '../support/serve.ts';

afterEach(killLeftovers);

/** The deterministic content of line `seq` of sender `from`: "<from> <seq> <letters>\n". */
function chatLine(from: number, seq: number): string {
  const r = prng(from * 100_003 + seq);
  const n = randInt(r, 0, 1500);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(r() * 26));
  return `${from} ${seq} ${s}\n`;
}

describe('bufferevent serve --mode echo', () => {
  it('echoes every byte on connections spread over two workers', async () => {
    const srv = await startServe(['--threads', '2']);
    const clients = await Promise.all([0, 1, 2, 3].map(() => connect(srv.port)));
    const payloads = clients.map((_, i) => Buffer.from(randBytes(prng(i + 1), 200_000)));
    clients.forEach((c, i) => c.sock.write(payloads[i]!));
    const got = await Promise.all(clients.map((c, i) => c.until(payloads[i]!.length)));
    got.forEach((g, i) => expect(g.equals(payloads[i]!)).toBe(true));
    const t = await srv.tick((x) => x.workers.every((w) => w.served >= 2));
    expect(t.workers.map((w) => w.served)).toEqual([2, 2]);
    for (const c of clients) c.sock.end();
    await Promise.all(clients.map((c) => c.closed));
    const { code, summary } = await srv.stop();
    expect(code).toBe(0);
    expect(summary).toMatchObject({ served: 4, dropped: 0, bytesIn: 800_000, bytesOut: 800_000 });
  });

  it('--max-output: a client that never reads is dropped with a log line, and its queue stayed under the bound', async () => {
    const srv = await startServe(['--threads', '2', '--max-output', '65536']);
    const good = await connect(srv.port);
    const hog = await connect(srv.port);
    hog.sock.pause(); // never reads: the echo queues up in the server
    const chunk = Buffer.alloc(64 * 1024, 7);
    const writeAll = async (): Promise<void> => {
      for (let i = 0; i < 1000 && !hog.sock.destroyed; i++) {
        if (!hog.sock.write(chunk)) await Promise.race([once(hog.sock, 'drain'), hog.closed]);
      }
    };
    void writeAll().catch(() => {}); // the server resets it mid-write
    const line = await srv.stderrLine(/dropped .*--max-output \(65536 bytes\)/);
    expect(line).toMatch(/^worker \d: dropped 127\.0\.0\.1:\d+: queued output passed --max-output/);
    await hog.closed;
    good.sock.write('still served\n');
    expect((await good.until(13)).toString()).toBe('still served\n');
    good.sock.end();
    await good.closed;
    const { code, summary } = await srv.stop();
    expect(code).toBe(0);
    expect(summary!.dropped).toBe(1);
    expect(summary!.peakQueued).toBeLessThanOrEqual(65536);
  });

  it('--max-conns: past it a new connection is closed at once and counted; the open ones keep working', async () => {
    const srv = await startServe(['--threads', '2', '--max-conns', '2']);
    const a = await connect(srv.port);
    const b = await connect(srv.port);
    a.sock.write('a');
    b.sock.write('b');
    await Promise.all([a.until(1), b.until(1)]); // both are being served (counted as open)
    const c = await connect(srv.port);
    await c.closed;
    expect(c.received().length).toBe(0);
    await srv.stderrLine(/^rejected 127\.0\.0\.1:\d+: --max-conns \(2\)/);
    a.sock.write('more');
    expect((await a.until(5)).toString()).toBe('amore');
    a.sock.end();
    b.sock.end();
    await Promise.all([a.closed, b.closed]);
    const { summary } = await srv.stop();
    expect(summary).toMatchObject({ served: 2, rejected: 1 });
  });

  it('--idle-timeout: an idle connection is dropped with a log line; an active one is not', async () => {
    const srv = await startServe(['--threads', '1', '--idle-timeout', '0.4']);
    const idle = await connect(srv.port);
    const busy = await connect(srv.port);
    let n = 0;
    // the busy client keeps a round trip going (each reply triggers the next request) until the idle one is gone
    busy.sock.on('data', () => {
      if (!idle.sock.destroyed) busy.sock.write(String(n++ % 10));
    });
    busy.sock.write('x');
    await idle.closed;
    await srv.stderrLine(/dropped 127\.0\.0\.1:\d+: idle for 0\.4 s \(--idle-timeout\)/);
    expect(busy.sock.destroyed).toBe(false);
    busy.sock.end();
    await busy.closed;
    const { summary } = await srv.stop();
    expect(summary!.dropped).toBe(1);
  });
});

describe('bufferevent serve --mode chat', () => {
  it('delivers every line whole and in order to every other client, across workers', async () => {
    const N = 4;
    const LINES = 150;
    const srv = await startServe(['--threads', '2', '--mode', 'chat']);
    const clients = await Promise.all(Array.from({ length: N }, () => connect(srv.port)));
    // every worker knows every connection before anyone speaks
    await srv.tick((t) => t.workers.every((w) => w.peers === N));
    const expected = new Map<number, string>();
    for (let from = 0; from < N; from++) {
      let all = '';
      for (let s = 0; s < LINES; s++) all += chatLine(from, s);
      expected.set(from, all);
      clients[from]!.sock.write(all);
    }
    const perReceiver = (me: number): number => [...expected].filter(([f]) => f !== me).reduce((s, [, v]) => s + Buffer.byteLength(v), 0);
    const got = await Promise.all(clients.map((c, me) => c.until(perReceiver(me))));
    got.forEach((buf, me) => {
      const bySender = new Map<number, string>();
      for (const line of buf.toString().split('\n').slice(0, -1)) {
        const from = Number(line.split(' ')[0]);
        expect(from).not.toBe(me); // nobody hears their own lines
        bySender.set(from, (bySender.get(from) ?? '') + line + '\n');
      }
      for (const [from, all] of expected) if (from !== me) expect(bySender.get(from)).toBe(all); // whole, in order, no gaps
    });
    for (const c of clients) c.sock.end();
    await Promise.all(clients.map((c) => c.closed));
    const { code } = await srv.stop();
    expect(code).toBe(0);
  });

  it('--max-line: a longer line drops its sender with a log line; the others keep chatting', async () => {
    const srv = await startServe(['--threads', '2', '--mode', 'chat', '--max-line', '100']);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(srv.port)));
    await srv.tick((t) => t.workers.every((w) => w.peers === 3));
    a!.sock.write('x'.repeat(150)); // no newline yet: already over the bound
    await a!.closed;
    await srv.stderrLine(/dropped 127\.0\.0\.1:\d+: line longer than --max-line \(100 bytes\)/);
    b!.sock.write('hello c\n');
    expect((await c!.until(8)).toString()).toBe('hello c\n');
    b!.sock.end();
    c!.sock.end();
    await Promise.all([b!.closed, c!.closed]);
    const { summary } = await srv.stop();
    expect(summary!.dropped).toBe(1);
  });

  it('--max-output: a receiver that never reads is dropped; its queue stayed within the bound plus one read', async () => {
    const srv = await startServe(['--threads', '2', '--mode', 'chat', '--max-output', '65536', '--max-line', '1000', '--read-high', '4096']);
    const [talker, listener, hog] = await Promise.all([0, 1, 2].map(() => connect(srv.port)));
    hog!.sock.pause();
    await srv.tick((t) => t.workers.every((w) => w.peers === 3));
    const line = 'y'.repeat(999) + '\n';
    // a paused socket does not see the server close it: the log line says when the hog was dropped
    let dropped = false;
    const logged = srv.stderrLine(/dropped 127\.0\.0\.1:\d+: queued output passed --max-output \(65536 bytes\)/).then(() => (dropped = true));
    // the talker sends in batches of 32 lines and waits until the listener has them: a reading receiver never has
    // more than one batch (32 KB) queued, the hog's queue only grows
    let sent = 0;
    while (!dropped && sent < 200_000) {
      for (let i = 0; i < 32; i++) talker!.sock.write(line);
      sent += 32;
      await Promise.race([listener!.until(sent * line.length), logged]);
    }
    await logged;
    hog!.sock.destroy();
    await listener!.until(sent * line.length); // and it gets every line the talker sent
    talker!.sock.end();
    listener!.sock.end();
    await Promise.all([talker!.closed, listener!.closed]);
    const { summary } = await srv.stop();
    expect(summary!.dropped).toBe(1);
    expect(summary!.peakQueued).toBeLessThanOrEqual(65536 + 4096); // one read's lines: at most the read high watermark
  });
});

describe('bufferevent serve --mode proxy', () => {
  it('relays both ways, and a slow upstream makes the proxy stop reading instead of buffering', async () => {
    let upstreamSock: net.Socket | null = null;
    let upstreamGot = 0;
    const upstream = net.createServer((s) => {
      upstreamSock = s;
      s.pause(); // slow: reads nothing until told
      s.on('data', (d: Buffer) => {
        upstreamGot += d.length;
        s.write(d); // echo back through the proxy
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const up = (upstream.address() as net.AddressInfo).port;
    const srv = await startServe(['--threads', '2', '--mode', 'proxy', '--upstream', `127.0.0.1:${up}`, '--max-output', '65536']);
    const c = await connect(srv.port);
    const data = Buffer.from(randBytes(prng(42), 8 << 20));
    c.sock.write(data);
    // the proxy fills the upstream's output to the threshold, then stops reading the client
    const t = await srv.tick((x) => x.workers.some((w) => w.buffered >= 32768));
    expect(Math.max(...t.workers.map((w) => w.peakQueued))).toBeLessThanOrEqual(65536 + 65536);
    upstreamSock!.resume();
    const back = await c.until(data.length);
    expect(upstreamGot).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    c.sock.end();
    await c.closed;
    const { code, summary } = await srv.stop();
    expect(code).toBe(0);
    // never more than the threshold plus one read queued on one connection
    expect(summary!.peakQueued).toBeLessThanOrEqual(65536 + 65536);
    upstream.close();
  });

  it('an upstream that refuses: the client is closed and the refusal logged', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const srv = await startServe(['--threads', '1', '--mode', 'proxy', '--upstream', `127.0.0.1:${port}`]);
    const c = await connect(srv.port);
    await c.closed;
    await srv.stderrLine(new RegExp(`upstream 127\\.0\\.0\\.1:${port}: .*closing 127\\.0\\.0\\.1:`));
    expect((await srv.stop()).code).toBe(0);
  });
});

describe('bufferevent serve: stopping and usage', () => {
  it('SIGTERM stops accepting, lets queued output go out, closes the clients and exits 0 with a summary', async () => {
    const srv = await startServe(['--threads', '2']);
    const a = await connect(srv.port);
    a.sock.write('ping');
    await a.until(4);
    const { code, summary } = await srv.stop('SIGTERM');
    await a.closed; // the server closed it
    expect(code).toBe(0);
    expect(summary).toMatchObject({ served: 1, bytesIn: 4, bytesOut: 4 });
  });

  it('bad flags exit 2 with a one-line message', async () => {
    for (const [args, msg] of [
      [['serve', '--port', 'abc'], /--port must be an integer from 0 to 65535/],
      [['serve', '--mode', 'nope'], /--mode must be one of echo, chat, proxy/],
      [['serve', '--mode', 'proxy'], /--mode proxy needs --upstream/],
      [['serve', '--mode', 'proxy', '--upstream', 'nohost'], /--upstream must be HOST:PORT/],
      [['serve', '--threads', '0'], /--threads must be an integer from 1/],
      [['serve', '--frob'], /Unknown option '--frob'/],
      [['serve', 'extra'], /Unexpected argument 'extra'/],
      [['launch'], /unknown command "launch"/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('--help on every command, and --version', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    expect((await runCli(['--version'])).stdout.trim()).toBe(pkg.version);
    for (const args of [['--help'], ['serve', '--help'], ['bench', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: bufferevent/);
    }
  });
});
