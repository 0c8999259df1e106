import { describe, it, expect } from 'vitest';
import { createHook } from 'node:async_hooks';
import type { AsyncHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UdpResolver } from '../../src/dns/resolver.ts';
import type { ResolvedAddress, UdpResolverOptions } from '../../src/dns/resolver.ts';
import {
  EVUTIL_EAI_ADDRFAMILY,
  EVUTIL_EAI_AGAIN,
  EVUTIL_EAI_BADFLAGS,
  EVUTIL_EAI_CANCEL,
  EVUTIL_EAI_FAIL,
  EVUTIL_EAI_FAMILY,
  EVUTIL_EAI_MEMORY,
  EVUTIL_EAI_NODATA,
  EVUTIL_EAI_NONAME,
  EVUTIL_EAI_SERVICE,
  EVUTIL_EAI_SOCKTYPE,
  EVUTIL_EAI_SYSTEM,
  evutil_gai_strerror,
} from '../../src/dns/eai.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { waitFor } from '../support/net.ts';
import type { DnsRecordSpec, DnsTestServer } from '../support/dns-server.ts';

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const T_A = 1;
const T_AAAA = 28;

interface Result {
  err: number;
  addrs: ResolvedAddress[];
}

function lookup(r: UdpResolver, host: string, family: 0 | 2 | 10): Promise<Result> {
  return new Promise((resolve) => {
    r.lookup(host, family, (err, addrs) => resolve({ err, addrs }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resource kinds a resolver or a test server may hold. */
const TRACKED = ['UDPWrap', 'Timeout', 'Immediate'];
/** The same kinds as async_hooks names them. */
const HOOKED = new Set(['UDPWRAP', 'Timeout', 'Immediate']);

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of TRACKED) counts[kind] = 0;
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * Snapshot of open handles.  process.getActiveResourcesInfo() only lists
 * ref'd handles, so an idle (unref'd) resolver socket left open would slip
 * through it; an async_hooks hook also records every UDP socket, timer and
 * immediate created from now on until it is destroyed.
 */
interface HandleTracker {
  before: Record<string, number>;
  live: Map<number, string>;
  hook: AsyncHook;
}

function trackHandles(): HandleTracker {
  const live = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (HOOKED.has(type)) live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { before: resourceCounts(), live, hook };
}

/** Waits (a little) for closed handles to go away, then checks none is left. */
async function expectNoHandleGrowth(t: HandleTracker): Promise<void> {
  // Only what the test created counts, not the waits below.
  const suspects = [...t.live.keys()];
  const leftovers = (): string[] => suspects.filter((id) => t.live.has(id)).map((id) => t.live.get(id) ?? '');
  const settled = (): boolean =>
    leftovers().length === 0 && TRACKED.every((k) => (resourceCounts()[k] ?? 0) <= (t.before[k] ?? 0));
  for (let i = 0; i < 50 && !settled(); i++) {
    await turn();
    await sleep(2);
  }
  t.hook.disable();
  expect(leftovers()).toEqual([]);
  const after = resourceCounts();
  for (const kind of TRACKED) expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(t.before[kind] ?? 0);
}

interface Env {
  resolver: UdpResolver;
  servers: DnsTestServer[];
  server: DnsTestServer;
}

/**
 * Runs `body` with resolver(s) pointed at fresh test servers (one per table),
 * then closes everything and checks that no UDP socket, timer or immediate
 * outlives the test.
 */
async function withDns(
  tables: Array<Record<string, DnsRecordSpec>>,
  options: UdpResolverOptions,
  body: (env: Env) => Promise<void>,
): Promise<void> {
  const tracker = trackHandles();
  const servers: DnsTestServer[] = [];
  let resolver: UdpResolver | null = null;
  try {
    for (const table of tables) servers.push(await startDnsServer(table));
    resolver = new UdpResolver(options);
    for (const s of servers) expect(resolver.addNameserver(`${s.address}:${s.port}`)).toBe(0);
    await body({ resolver, servers, server: servers[0]! });
  } finally {
    resolver?.close(false);
    for (const s of servers) await s.close();
  }
  await expectNoHandleGrowth(tracker);
}

const TABLE: Record<string, DnsRecordSpec> = {
  'v4.test': { A: ['10.1.2.3', '10.1.2.4'] },
  'v6.test': { AAAA: ['2001:db8::1', 'fe80::1:0:0:2'] },
  'both.test': { A: ['10.0.0.1'], AAAA: ['2001:db8::a'] },
  'alias.test': { CNAME: 'hop.test', TXT: 'ignore me' },
  'hop.test': { CNAME: 'Target.Test' },
  'target.test': { A: ['10.9.9.9'], AAAA: ['::ffff:10.9.9.9'], TXT: 'also ignored' },
  'loop.test': { CNAME: 'loop2.test' },
  'loop2.test': { CNAME: 'loop.test' },
  'dangling.test': { CNAME: 'nowhere.test' },
  'servfail.test': { rcode: 2 },
  'refused.test': { rcode: 5 },
  'formerr.test': { rcode: 1 },
  'nxd.test': { rcode: 3 },
  'slow.test': { drop: true },
  'tc.test': { A: ['10.7.7.7'], tc: true },
  'tc-empty.test': { tc: true },
  'badid.test': { A: ['10.5.5.5'], AAAA: ['2001:db8::5'], decoy: 'id' },
  'badq.test': { A: ['10.5.5.6'], decoy: 'question' },
  'badpkt.test': { A: ['10.5.5.7'], decoy: 'malformed' },
  'badport.test': { A: ['10.5.5.8'], decoy: 'port' },
};

describe('evutil EAI codes', () => {
  it('uses the glibc values, as libevent does on Linux', () => {
    expect(EVUTIL_EAI_BADFLAGS).toBe(-1);
    expect(EVUTIL_EAI_NONAME).toBe(-2);
    expect(EVUTIL_EAI_AGAIN).toBe(-3);
    expect(EVUTIL_EAI_FAIL).toBe(-4);
    expect(EVUTIL_EAI_NODATA).toBe(-5);
    expect(EVUTIL_EAI_FAMILY).toBe(-6);
    expect(EVUTIL_EAI_SOCKTYPE).toBe(-7);
    expect(EVUTIL_EAI_SERVICE).toBe(-8);
    expect(EVUTIL_EAI_ADDRFAMILY).toBe(-9);
    expect(EVUTIL_EAI_MEMORY).toBe(-10);
    expect(EVUTIL_EAI_SYSTEM).toBe(-11);
    expect(EVUTIL_EAI_CANCEL).toBe(-90001);
  });

  it('evutil_gai_strerror gives the glibc texts', () => {
    expect(evutil_gai_strerror(EVUTIL_EAI_NONAME)).toBe('Name or service not known');
    expect(evutil_gai_strerror(EVUTIL_EAI_AGAIN)).toBe('Temporary failure in name resolution');
    expect(evutil_gai_strerror(EVUTIL_EAI_FAIL)).toBe('Non-recoverable failure in name resolution');
    expect(evutil_gai_strerror(EVUTIL_EAI_NODATA)).toBe('No address associated with hostname');
    expect(evutil_gai_strerror(EVUTIL_EAI_CANCEL)).toBe('Request canceled');
    expect(evutil_gai_strerror(0)).toBe('Unknown error');
    expect(evutil_gai_strerror(-9908)).toBe('Unknown error');
  });
});

describe('UdpResolver', () => {
  it('A lookup returns the IPv4 addresses in answer order', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'v4.test', AF_INET)).toEqual({
        err: 0,
        addrs: [
          { family: 4, address: '10.1.2.3' },
          { family: 4, address: '10.1.2.4' },
        ],
      });
      expect(server.queries).toEqual([{ name: 'v4.test', type: T_A }]);
    });
  });

  it('AAAA lookup returns normalised IPv6 addresses', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'V6.Test.', AF_INET6)).toEqual({
        err: 0,
        addrs: [
          { family: 6, address: '2001:db8::1' },
          { family: 6, address: 'fe80::1:0:0:2' },
        ],
      });
      expect(server.queries).toEqual([{ name: 'V6.Test', type: T_AAAA }]);
    });
  });

  it('UNSPEC asks A then AAAA and lists IPv4 results first', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'both.test', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [
          { family: 4, address: '10.0.0.1' },
          { family: 6, address: '2001:db8::a' },
        ],
      });
      expect(server.queries).toEqual([
        { name: 'both.test', type: T_A },
        { name: 'both.test', type: T_AAAA },
      ]);
      // One half without data still gives the other half.
      expect(await lookup(resolver, 'v4.test', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [
          { family: 4, address: '10.1.2.3' },
          { family: 4, address: '10.1.2.4' },
        ],
      });
      expect((await lookup(resolver, 'v6.test', AF_UNSPEC)).addrs.map((a) => a.family)).toEqual([6, 6]);
      expect(await lookup(resolver, 'nxd.test', AF_UNSPEC)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
    });
  });

  it('UNSPEC stops waiting for a silent half after allowSkewMs', async () => {
    const table = { 'half.test': { A: ['10.3.3.3'], silentTypes: [T_AAAA] } };
    await withDns([table], { timeoutMs: 5000, attempts: 1, allowSkewMs: 50 }, async ({ resolver, server }) => {
      const started = Date.now();
      expect(await lookup(resolver, 'half.test', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.3.3.3' }],
      });
      expect(Date.now() - started).toBeLessThan(2000); // not the 5 s AAAA timeout
      expect(server.queries.map((q) => q.type)).toEqual([T_A, T_AAAA]);
    });
  });

  it('follows a CNAME chain within the response, ignoring other record types', async () => {
    await withDns([TABLE], {}, async ({ resolver }) => {
      expect(await lookup(resolver, 'alias.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.9.9.9' }],
      });
      expect(await lookup(resolver, 'alias.test', AF_INET6)).toEqual({
        err: 0,
        addrs: [{ family: 6, address: '::ffff:10.9.9.9' }],
      });
      // A CNAME loop or a chain ending nowhere is "no data", never a hang.
      expect(await lookup(resolver, 'loop.test', AF_INET)).toEqual({ err: EVUTIL_EAI_NODATA, addrs: [] });
      expect(await lookup(resolver, 'dangling.test', AF_INET)).toEqual({ err: EVUTIL_EAI_NODATA, addrs: [] });
    });
  });

  it('NXDOMAIN -> EVUTIL_EAI_NONAME, and unknown names are NXDOMAIN', async () => {
    await withDns([TABLE], {}, async ({ resolver }) => {
      expect(await lookup(resolver, 'nxd.test', AF_INET)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
      expect(await lookup(resolver, 'no-such-name.test', AF_INET6)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
    });
  });

  it('NOERROR without address records -> EVUTIL_EAI_NODATA', async () => {
    await withDns([TABLE], {}, async ({ resolver }) => {
      expect(await lookup(resolver, 'v6.test', AF_INET)).toEqual({ err: EVUTIL_EAI_NODATA, addrs: [] });
      expect(await lookup(resolver, 'v4.test', AF_INET6)).toEqual({ err: EVUTIL_EAI_NODATA, addrs: [] });
    });
  });

  it('SERVFAIL / REFUSED / FORMERR -> EVUTIL_EAI_FAIL', async () => {
    await withDns([TABLE], {}, async ({ resolver }) => {
      expect(await lookup(resolver, 'servfail.test', AF_INET)).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
      expect(await lookup(resolver, 'refused.test', AF_INET)).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
      expect(await lookup(resolver, 'formerr.test', AF_INET)).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
    });
  });

  it('SERVFAIL from one nameserver moves the question to the next', async () => {
    const first = { 'x.test': { rcode: 2 } };
    const second = { 'x.test': { A: ['10.2.2.2'] } };
    await withDns([first, second], {}, async ({ resolver, servers }) => {
      expect(await lookup(resolver, 'x.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.2.2.2' }],
      });
      expect(servers[0]!.queries).toHaveLength(1);
      expect(servers[1]!.queries).toHaveLength(1);
    });
  });

  it('timeout after all attempts -> EVUTIL_EAI_AGAIN', async () => {
    await withDns([TABLE], { timeoutMs: 100, attempts: 1 }, async ({ resolver, server }) => {
      const started = Date.now();
      expect(await lookup(resolver, 'slow.test', AF_INET)).toEqual({ err: EVUTIL_EAI_AGAIN, addrs: [] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(server.queries).toEqual([{ name: 'slow.test', type: T_A }]);
    });
  });

  it('retransmits `attempts` times per nameserver, then tries the next one', async () => {
    const first = { 'y.test': { drop: true } };
    const second = { 'y.test': { A: ['10.4.4.4'] } };
    await withDns([first, second], { timeoutMs: 60, attempts: 2 }, async ({ resolver, servers }) => {
      expect(await lookup(resolver, 'y.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.4.4.4' }],
      });
      expect(servers[0]!.queries).toHaveLength(2);
      expect(servers[1]!.queries).toHaveLength(1);
    });
  });

  it('cancel() gives no callback, before or after the answer would arrive', async () => {
    await withDns([TABLE], { timeoutMs: 50, attempts: 1 }, async ({ resolver, server }) => {
      const calls: number[] = [];
      resolver.lookup('v4.test', AF_INET, (err) => calls.push(err)).cancel();
      const slow = resolver.lookup('slow.test', AF_UNSPEC, (err) => calls.push(err));
      await waitFor(() => server.queries.some((q) => q.name === 'slow.test')); // cancelled after its query went out
      slow.cancel();
      slow.cancel(); // idempotent
      resolver.lookup('127.0.0.1', AF_INET, (err) => calls.push(err)).cancel();
      // a later lookup of the same unanswered name times out after the cancelled one would have: by then it has not
      // called back either
      expect((await lookup(resolver, 'slow.test', AF_INET)).err).toBe(EVUTIL_EAI_AGAIN);
      expect(calls).toEqual([]);
      expect(server.queries.length).toBeGreaterThanOrEqual(1);
      // The resolver still works afterwards.
      expect((await lookup(resolver, 'v4.test', AF_INET)).err).toBe(0);
    });
  });

  it('close(true) fails pending lookups with EVUTIL_EAI_CANCEL; close(false) drops them', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      const got: Result[] = [];
      resolver.lookup('slow.test', AF_INET, (err, addrs) => got.push({ err, addrs }));
      await waitFor(() => server.queries.length === 1);
      // A numeric answer not yet delivered is pending too.
      resolver.lookup('::1', AF_INET6, (err, addrs) => got.push({ err, addrs }));
      resolver.close(true);
      expect(got).toEqual([
        { err: EVUTIL_EAI_CANCEL, addrs: [] },
        { err: EVUTIL_EAI_CANCEL, addrs: [] },
      ]);
      // Closed: later lookups fail, asynchronously; nameservers are refused. Once that failure arrived, nothing more
      // came for the cancelled two.
      expect(await lookup(resolver, 'v4.test', AF_INET)).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
      expect(got).toHaveLength(2);
      expect(resolver.addNameserver('127.0.0.1')).toBe(-1);
    });

    await withDns([TABLE], {}, async ({ resolver }) => {
      const got: number[] = [];
      resolver.lookup('slow.test', AF_INET, (err) => got.push(err));
      resolver.lookup('127.0.0.1', AF_INET, (err) => got.push(err));
      resolver.close(false);
      expect((await lookup(resolver, 'v4.test', AF_INET)).err).toBe(EVUTIL_EAI_FAIL); // delivered after the dropped ones would be
      expect(got).toEqual([]);
    });
  });

  it('numeric hosts and localhost resolve without a query, asynchronously', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      let sync = true;
      let early = false;
      const p = new Promise<Result>((resolve) =>
        resolver.lookup('127.0.0.1', AF_UNSPEC, (err, addrs) => {
          if (sync) early = true;
          resolve({ err, addrs });
        }),
      );
      sync = false;
      await Promise.resolve();
      await new Promise<void>((resolve) => process.nextTick(resolve));
      let delivered = false;
      void p.then(() => (delivered = true));
      await Promise.resolve();
      expect(delivered).toBe(false); // not in the same event-loop turn
      expect(await p).toEqual({ err: 0, addrs: [{ family: 4, address: '127.0.0.1' }] });
      expect(early).toBe(false);

      expect(await lookup(resolver, '::1', AF_INET6)).toEqual({ err: 0, addrs: [{ family: 6, address: '::1' }] });
      expect(await lookup(resolver, '[::1]', AF_UNSPEC)).toEqual({ err: 0, addrs: [{ family: 6, address: '::1' }] });
      expect(await lookup(resolver, '0:0:0:0:0:0:0:1', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [{ family: 6, address: '::1' }],
      });
      expect(await lookup(resolver, '127.0.0.1', AF_INET6)).toEqual({ err: EVUTIL_EAI_ADDRFAMILY, addrs: [] });
      expect(await lookup(resolver, '::1', AF_INET)).toEqual({ err: EVUTIL_EAI_ADDRFAMILY, addrs: [] });

      expect(await lookup(resolver, 'localhost', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [
          { family: 4, address: '127.0.0.1' },
          { family: 6, address: '::1' },
        ],
      });
      expect(await lookup(resolver, 'LocalHost.', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '127.0.0.1' }],
      });
      expect(await lookup(resolver, 'localhost', AF_INET6)).toEqual({
        err: 0,
        addrs: [{ family: 6, address: '::1' }],
      });
      expect(server.queries).toEqual([]);
    });
  });

  it('rejects bad families and names, and reports no nameserver as FAIL, asynchronously', async () => {
    await withDns([TABLE], {}, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'v4.test', 7 as 0)).toEqual({ err: EVUTIL_EAI_FAMILY, addrs: [] });
      expect(await lookup(resolver, 'a..b', AF_INET)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
      expect(await lookup(resolver, '', AF_INET)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
      expect(await lookup(resolver, `${'x'.repeat(64)}.test`, AF_INET)).toEqual({ err: EVUTIL_EAI_NONAME, addrs: [] });
      expect(server.queries).toEqual([]);
    });

    const tracker = trackHandles();
    const bare = new UdpResolver();
    expect(bare.nameserverCount).toBe(0);
    let sync = true;
    let early = false;
    const res = await new Promise<Result>((resolve) => {
      bare.lookup('example.test', AF_INET, (err, addrs) => {
        early = sync;
        resolve({ err, addrs });
      });
      sync = false;
    });
    expect(early).toBe(false);
    expect(res).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
    bare.close(true);
    await expectNoHandleGrowth(tracker);
  });

  it('addNameserver accepts address[:port] forms and returns -1 for a malformed spec', () => {
    const r = new UdpResolver();
    try {
      for (const good of ['127.0.0.1', '127.0.0.1:5353', '[::1]:53', '::1', '[::1]', '[::1]:5353', '127.0.0.2:65535']) {
        expect(r.addNameserver(good), good).toBe(0);
      }
      // "[::1]:53" and "::1" are the same server; a duplicate is not added twice.
      expect(r.nameserverCount).toBe(5);
      for (const bad of [
        '',
        'localhost',
        'ns.example.test:53',
        '127.0.0.1:',
        '127.0.0.1:0',
        '127.0.0.1:65536',
        '127.0.0.1:53x',
        '127.0.0.1:-1',
        '256.0.0.1',
        '1.2.3',
        '[::1',
        '[::1]53',
        '[::1]:',
        '[127.0.0.1]:53',
        '::1]:53',
        ' 127.0.0.1',
        '[::1]:99999',
      ]) {
        expect(r.addNameserver(bad), JSON.stringify(bad)).toBe(-1);
      }
      expect(r.nameserverCount).toBe(5);
    } finally {
      r.close(false);
    }
    expect(() => new UdpResolver({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new UdpResolver({ attempts: 0 })).toThrow(RangeError);
  });

  it('ignores a response with a mismatched id and takes the real one', async () => {
    await withDns([TABLE], { timeoutMs: 2000, attempts: 1 }, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'badid.test', AF_UNSPEC)).toEqual({
        err: 0,
        addrs: [
          { family: 4, address: '10.5.5.5' },
          { family: 6, address: '2001:db8::5' },
        ],
      });
      expect(server.queries).toHaveLength(2); // answered, not retried
    });
  });

  it('ignores responses with another question, cut short, or from another port', async () => {
    await withDns([TABLE], { timeoutMs: 2000, attempts: 1 }, async ({ resolver, server }) => {
      expect(await lookup(resolver, 'badq.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.5.5.6' }],
      });
      expect(await lookup(resolver, 'badpkt.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.5.5.7' }],
      });
      expect(await lookup(resolver, 'badport.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.5.5.8' }],
      });
      expect(server.queries).toHaveLength(3);
    });
  });

  it('never throws on garbage datagrams (fuzzed replies, pointer loops)', async () => {
    // A fake server that answers every query with garbage built around the
    // query's own id and question, so the resolver really parses it.
    const dgram = await import('node:dgram');
    const tracker = trackHandles();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const { port } = sock.address();
    let n = 0;
    sock.on('message', (msg, rinfo) => {
      const variants: Buffer[] = [];
      const reply = Buffer.from(msg);
      reply.writeUInt16BE(0x8180, 2);
      // 1: claims an answer whose owner is a pointer to itself
      variants.push(Buffer.concat([reply, Buffer.from([0xc0, reply.length])]));
      // 2: pointer ping-pong
      variants.push(Buffer.concat([reply, Buffer.from([0xc0, reply.length + 2, 0xc0, reply.length])]));
      // 3: reserved label type, random tails
      variants.push(Buffer.concat([reply, Buffer.from([0x80, 1, 2, 3])]));
      for (let i = 0; i < 20; i++) {
        const tail = Buffer.alloc((i * 7) % 40);
        for (let j = 0; j < tail.length; j++) tail[j] = (i * 31 + j * 17 + n) & 0xff;
        variants.push(Buffer.concat([reply, tail]));
      }
      n++;
      for (const v of variants) {
        v.writeUInt16BE(1, 6); // ANCOUNT = 1
        sock.send(v, rinfo.port, rinfo.address);
      }
      sock.send(Buffer.from([1, 2, 3]), rinfo.port, rinfo.address);
    });
    const r = new UdpResolver({ timeoutMs: 150, attempts: 1 });
    try {
      expect(r.addNameserver(`127.0.0.1:${port}`)).toBe(0);
      const res = await lookup(r, 'fuzz.test', AF_UNSPEC);
      // Whatever the garbage looked like, the outcome is a clean error code.
      expect([EVUTIL_EAI_AGAIN, EVUTIL_EAI_NODATA, EVUTIL_EAI_FAIL]).toContain(res.err);
      expect(res.addrs).toEqual([]);
    } finally {
      r.close(false);
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    }
    await expectNoHandleGrowth(tracker);
  });

  it('truncated replies: answers present are used, none -> EVUTIL_EAI_FAIL', async () => {
    await withDns([TABLE], {}, async ({ resolver }) => {
      expect(await lookup(resolver, 'tc.test', AF_INET)).toEqual({
        err: 0,
        addrs: [{ family: 4, address: '10.7.7.7' }],
      });
      expect(await lookup(resolver, 'tc-empty.test', AF_INET)).toEqual({ err: EVUTIL_EAI_FAIL, addrs: [] });
    });
  });

  it('many concurrent lookups each get their own answer', async () => {
    const table: Record<string, DnsRecordSpec> = {};
    for (let i = 0; i < 50; i++) table[`h${i}.test`] = { A: [`10.0.1.${i}`] };
    await withDns([table], {}, async ({ resolver }) => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => lookup(resolver, `h${i}.test`, AF_INET)),
      );
      results.forEach((res, i) => expect(res).toEqual({ err: 0, addrs: [{ family: 4, address: `10.0.1.${i}` }] }));
    });
  });
});

// The ref/unref contract can only be observed from a process of its own: an
// idle resolver must let the process exit, a pending lookup must keep it alive.
const root = fileURLToPath(new URL('../..', import.meta.url));
const node24 = `${root}node_modules/.bin/node`;
const canStripTypes = existsSync(node24);

function runChild(script: string): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(node24, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

describe.skipIf(!canStripTypes)('UdpResolver handle references', () => {
  it('an idle resolver does not keep the process alive; a pending lookup does', async () => {
    const server = await startDnsServer({ 'a.test': { A: ['10.8.8.8'] }, 'slow.test': { drop: true } });
    try {
      const mod = JSON.stringify(`${root}src/dns/resolver.ts`);
      // Resolves, then leaves the resolver open: the process must still exit.
      const idle = await runChild(`
        const { UdpResolver } = await import(${mod});
        const r = new UdpResolver();
        r.addNameserver('127.0.0.1:${server.port}');
        r.lookup('a.test', 2, (err, addrs) => console.log('done', err, addrs.map((a) => a.address).join()));
      `);
      expect(idle.out.trim()).toBe('done 0 10.8.8.8');
      expect(idle.code).toBe(0);

      // Nothing else holds the loop: only the pending lookup keeps it running
      // until its timeout fires.
      const pending = await runChild(`
        const { UdpResolver } = await import(${mod});
        const r = new UdpResolver({ timeoutMs: 300, attempts: 1 });
        r.addNameserver('127.0.0.1:${server.port}');
        r.lookup('slow.test', 0, (err) => console.log('done', err));
      `);
      expect(pending.out.trim()).toBe(`done ${EVUTIL_EAI_AGAIN}`);
      expect(pending.code).toBe(0);
    } finally {
      await server.close();
    }
  });
});
