// The cgroup v2 driver against a real cgroup2 hierarchy. This host is v1 hybrid, but its cgroup2
// mount at /sys/fs/cgroup/unified is real: no memory or pids controller there, yet creating a
// cgroup, moving a process in, freezing it (cgroup.freeze), listing and removing it are the kernel's
// v2 code paths, and so is the device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to a
// cgroup2 directory is enforced on a hybrid host too. Needs root; skipped elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, statfsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openCgroupManager, realCgroupBpf } from '../../dist/cgroups/index.js';
import { native } from '../../dist/native.js';

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

test('cgroups v2 (real cgroup2 mount): device rules become an attached program the kernel enforces; apply again replaces it', { skip: !usable && 'needs root and a cgroup2 mount at /sys/fs/cgroup/unified' }, () => {
  const id = `devfilter-${randomBytes(3).toString('hex')}`;
  const m = openCgroupManager({ cgroupsPath: `/tsrun-test-v2/${id}`, id, fsRoot: root, version: 2 });
  // a shell that joins the cgroup, then opens each device for reading (its stderr is a pipe: a
  // redirect to /dev/null would be a device open too)
  const opens = (...devices) =>
    execFileSync('sh', ['-c', `echo $$ > ${m.paths['']}/cgroup.procs && for d in ${devices.join(' ')}; do (true < $d) && echo "$d ok" || echo "$d refused"; done`], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  try {
    m.create();
    const dir = m.paths[''];
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    const first = realCgroupBpf.devicePrograms(dir);
    assert.equal(first.length, 1, `one program attached: ${first}`);
    assert.equal(opens('/dev/null', '/dev/zero'), '/dev/null ok\n/dev/zero refused\n');
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }] });
    const second = realCgroupBpf.devicePrograms(dir);
    assert.equal(second.length, 1, `still one program: ${second}`);
    assert.notEqual(second[0], first[0], 'a new program replaced the old');
    assert.equal(opens('/dev/null', '/dev/zero'), '/dev/null refused\n/dev/zero ok\n');
    m.apply({ devices: [{ allow: true, access: 'rwm' }] });
    assert.deepEqual(realCgroupBpf.devicePrograms(dir), []);
    assert.equal(opens('/dev/null', '/dev/zero'), '/dev/null ok\n/dev/zero ok\n');
  } finally {
    m.destroy();
  }
  assert.equal(existsSync(`${root}/tsrun-test-v2/${id}`), false);
});

test('bpf addon: bad arguments throw the usage; kernel refusals carry code, errno, syscall and the verifier log', { skip: !usable && 'needs root and a cgroup2 mount at /sys/fs/cgroup/unified' }, () => {
  assert.throws(() => native.bpfLoadCgroupDeviceProgram([0x95], 'GPL', 'x'), { name: 'TypeError', message: /bpfLoadCgroupDeviceProgram\(instructions: Uint8Array/ });
  assert.throws(() => native.bpfLoadCgroupDeviceProgram(new Uint8Array(7), 'GPL', 'x'), { name: 'TypeError', message: /whole 8-byte/ });
  assert.throws(() => native.bpfAttachCgroupDevice(1), { name: 'TypeError', message: /bpfAttachCgroupDevice\(cgroupFd: number, programFd: number\)/ });
  // exit without setting r0: the verifier refuses it and says why
  assert.throws(() => native.bpfLoadCgroupDeviceProgram(new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0]), 'Apache-2.0', 'tsrun_test'), (err) => {
    assert.equal(err.code, 'EACCES');
    assert.equal(err.errno, -13);
    assert.equal(err.syscall, 'bpf(BPF_PROG_LOAD)');
    assert.match(err.verifierLog, /R0 !read_ok/);
    return true;
  });
  const dir = `${root}/tsrun-test-v2-devfilter-${randomBytes(3).toString('hex')}`;
  mkdirSync(dir);
  const dirFd = openSync(dir, 'r');
  // mov32 r0, 1; exit: allows everything
  const prog = native.bpfLoadCgroupDeviceProgram(new Uint8Array([0xb4, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), 'Apache-2.0', 'tsrun_test');
  try {
    assert.throws(() => native.bpfDetachCgroupDevice(dirFd, prog), { code: 'ENOENT', syscall: 'bpf(BPF_PROG_DETACH)' }, 'not attached');
    native.bpfAttachCgroupDevice(dirFd, prog);
    const ids = native.bpfQueryCgroupDevice(dirFd);
    assert.equal(ids.length, 1);
    const again = native.bpfProgramFdById(ids[0]);
    native.bpfDetachCgroupDevice(dirFd, again);
    closeSync(again);
    assert.deepEqual(native.bpfQueryCgroupDevice(dirFd), []);
    assert.throws(() => native.bpfQueryCgroupDevice(prog), { syscall: 'bpf(BPF_PROG_QUERY)' }, 'a program fd is no cgroup');
    assert.throws(() => native.bpfProgramFdById(0xfffffff0), { code: 'ENOENT', syscall: 'bpf(BPF_PROG_GET_FD_BY_ID)' });
  } finally {
    closeSync(prog);
    closeSync(dirFd);
    rmdirSync(dir);
  }
});
