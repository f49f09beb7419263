// The helper's pure C (plan decoding, in-root path resolution, PATH lookup, LSM labels) has its own C unit
// tests in test/native/; this runs them as part of the suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../native/run.sh', import.meta.url));

test('tsrun-init: C unit tests (plan decoding, in-root resolution, executable lookup) pass', () => {
  const r = spawnSync('bash', [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /plan: \d+ checks, 0 failures/);
  assert.match(r.stdout, /inroot: \d+ checks, 0 failures/);
  assert.match(r.stdout, /lsm: \d+ checks, 0 failures/);
});

test('tsrun-init: AppArmor and SELinux decisions and writes against a fake /sys and /proc, under ASan and UBSan', () => {
  const r = spawnSync('bash', [script, 'lsm_test'], { encoding: 'utf8', env: { ...process.env, SANITIZE: '1' } });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /lsm: \d+ checks, 0 failures/);
});
