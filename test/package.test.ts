import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The tarball npm would publish passes publint and @arethetypeswrong/cli (npm run check:package). */
describe('the packed package', () => {
  it('is clean for publint and attw (ESM-only)', () => {
    const script = fileURLToPath(new URL('./support/check-package.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('All good!'); // publint's verdict
    expect(r.stdout).toMatch(/"bufferevent\/stress"/); // attw looked at every export
  }, 150_000);
});
