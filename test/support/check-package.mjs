// Pack the package as npm would publish it (dist/ as built, no scripts run) and check the tarball with publint and
// @arethetypeswrong/cli (ESM-only profile: the package has no CommonJS entry). Exit code 0 when both are clean.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const dir = mkdtempSync(join(tmpdir(), 'bev-pack-'));
try {
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')));
  execFileSync(bin('publint'), [tgz], { stdio: 'inherit' });
  execFileSync(bin('attw'), [tgz, '--profile', 'esm-only'], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
