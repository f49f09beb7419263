// The cgroup v2 driver against a real cgroup2 hierarchy. This host is v1 hybrid, but its cgroup2
// mount at /sys/fs/cgroup/unified is real: no memory or pids controller there, yet creating a
// cgroup, moving a process in, freezing it (cgroup.freeze), listing and removing it are the kernel's
// v2 code paths. Needs root; skipped elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openCgroupManager } from '../../dist/cgroups/index.js';

const root = '/sys/fs/cgroup/unified';
const usable = process.getuid?.() === 0 && existsSync(root) && statfsSync(root).type === 0x63677270 && existsSync(`${root}/cgroup.procs`);

test('cgroups v2 (real cgroup2 mount): create, add a process, freeze, thaw, list, destroy', { skip: !usable && 'needs root and a cgroup2 mount at /sys/fs/cgroup/unified' }, async () => {
  const id = `tsrun-test-v2-${randomBytes(3).toString('hex')}`;
  const m = openCgroupManager({ cgroupsPath: `/tsrun-test-v2/${id}`, id, fsRoot: root, version: 2 });
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    m.create();
    const dir = m.paths[''];
    assert.equal(dir, `${root}/tsrun-test-v2/${id}`);
    assert.ok(existsSync(`${dir}/cgroup.procs`));
    m.addProcess(child.pid);
    assert.match(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(`^0::/tsrun-test-v2/${id}$`, 'm'));
    assert.deepEqual(m.pids(), [child.pid]);
    m.freeze();
    assert.equal(m.isFrozen(), true);
    assert.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /^frozen 1$/m);
    m.thaw();
    assert.equal(m.isFrozen(), false);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    m.destroy();
  }
  assert.equal(existsSync(`${root}/tsrun-test-v2/${id}`), false);
  assert.equal(existsSync(`${root}/tsrun-test-v2`), false, 'the parent it made goes too');
});
