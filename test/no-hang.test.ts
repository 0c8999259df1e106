import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as L from '../src/index.ts';
import { tcpServer } from './support/net.ts';

/** A program exits as a libevent program would; freeing a running base is refused. */
describe('no silent hang', () => {
  it('a program that makes and connects a socket bufferevent but never runs its base exits', async () => {
    const srv = await tcpServer(); // the peer lives in this process, so nothing of the child's keeps it alive
    const script = `
      import * as L from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
      const base = L.event_base_new();
      const bev = L.bufferevent_socket_new(base, -1, L.BEV_OPT_CLOSE_ON_FREE);
      L.bufferevent_socket_connect(bev, { family: 'IPv4', address: '127.0.0.1', port: ${srv.port} });
      L.bufferevent_enable(bev, L.EV_READ);
      L.bufferevent_write(bev, 'never sent: the loop never runs');
      console.log('set up');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => {
        child.kill();
        resolve(null); // still running after 10 s: it hung
      }, 10_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(out.trim()).toBe('set up');
    expect(code).toBe(0);
    await srv.close();
  });

  it('event_base_free on a base whose loop is running throws ERR_BEV_BASE_RUNNING; after the loop it frees', async () => {
    const base = L.event_base_new();
    let thrown: unknown = null;
    const ev = L.event_new(base, -1, 0, () => {
      try {
        L.event_base_free(base);
      } catch (e) {
        thrown = e;
      }
    }, null);
    L.event_active(ev, L.EV_TIMEOUT, 0);
    await L.event_base_loop(base, L.EVLOOP_ONCE);
    expect(thrown).toMatchObject({ code: 'ERR_BEV_BASE_RUNNING' });
    expect(thrown).toBeInstanceOf(L.BuffereventError);
    L.event_free(ev);
    L.event_base_free(base);
    expect(() => L.event_base_free(base)).toThrow(expect.objectContaining({ code: 'ERR_BEV_FREED' }));
  });
});
