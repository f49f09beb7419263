// linux.seccomp → the rules tsrun-init gives libseccomp, and their records, checked without root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planSeccomp, seccompState } from '../../dist/bundle/seccomp-plan.js';
import { buildExecPlan } from '../../dist/bundle/process-plan.js';
import { decodeRecord, readRecords } from '../../dist/protocol/codec.js';
import { encodeExecPlan } from '../../dist/protocol/plan-encoding.js';

const pointerOf = (fn) => {
  try {
    fn();
  } catch (err) {
    return err.pointer;
  }
  return undefined;
};

test('seccomp plan: actions become SECCOMP_RET_* values with their errno (EPERM by default)', () => {
  const p = planSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ALLOW' },
      { names: ['rmdir'], action: 'SCMP_ACT_ERRNO' },
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['kexec_load'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['uname'], action: 'SCMP_ACT_LOG' },
      { names: ['reboot'], action: 'SCMP_ACT_KILL' },
      { names: ['swapon'], action: 'SCMP_ACT_TRAP' },
    ],
  });
  assert.equal(p.defaultAction, 0x00050000 + 38);
  assert.deepEqual(p.rules.map((r) => [r.syscall, r.action]), [
    ['mkdir', 0x7fff0000], ['rmdir', 0x00050001], ['ptrace', 0x7ff00007], ['kexec_load', 0x80000000],
    ['uname', 0x7ffc0000], ['reboot', 0], ['swapon', 0x00030000],
  ]);
});

test('seccomp plan: a rule with the default action is dropped, every name gets its rule', () => {
  const p = planSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['getpid', 'getppid'], action: 'SCMP_ACT_ALLOW' }, { names: ['a', 'b'], action: 'SCMP_ACT_ERRNO' }],
  });
  assert.deepEqual(p.rules.map((r) => r.syscall), ['a', 'b']);
});

test('seccomp plan: distinct arguments are ANDed in one rule, a repeated one splits into rules', () => {
  const args = (...xs) => xs.map(([index, op, value, valueTwo]) => ({ index, op, value, valueTwo }));
  const p = planSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: args([0, 'SCMP_CMP_EQ', 16], [2, 'SCMP_CMP_MASKED_EQ', 1, 3]) },
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: args([0, 'SCMP_CMP_NE', 0], [0, 'SCMP_CMP_NE', 8]) },
    ],
  });
  assert.deepEqual(p.rules[0].args, [0n, 4n, 16n, 0n, 2n, 7n, 1n, 3n]);
  assert.deepEqual(p.rules.slice(1).map((r) => r.args), [[0n, 1n, 0n, 0n], [0n, 1n, 8n, 0n]]);
});

test('seccomp plan: what cannot be applied is an error naming the field', () => {
  const base = () => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO' }] });
  const cases = [
    [(s) => { s.defaultAction = 'SCMP_ACT_NOTIFY'; }, '/linux/seccomp/defaultAction'],
    [(s) => { s.defaultErrnoRet = 1; }, '/linux/seccomp/defaultErrnoRet'],
    [(s) => { s.syscalls[0] = { names: ['x'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }; s.defaultAction = 'SCMP_ACT_KILL'; }, '/linux/seccomp/syscalls/0/errnoRet'],
    [(s) => { s.syscalls[0].errnoRet = 70000; }, '/linux/seccomp/syscalls/0/errnoRet'],
    [(s) => { s.syscalls[0].args = [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }]; }, '/linux/seccomp/syscalls/0/args/0/index'],
    [(s) => { s.syscalls[0].action = 'SCMP_ACT_NOTIFY'; }, '/linux/seccomp/listenerPath'],
    [(s) => { s.syscalls[0].action = 'SCMP_ACT_NOTIFY'; s.listenerPath = 'relative.sock'; }, '/linux/seccomp/listenerPath'],
  ];
  for (const [edit, pointer] of cases) {
    const s = base();
    edit(s);
    assert.equal(pointerOf(() => planSeccomp(s)), pointer, JSON.stringify(s));
  }
});

test('seccomp plan: architectures by libseccomp name, flags as seccomp(2) bits, the notify state', () => {
  const p = planSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_MIPSEL64N32'],
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    listenerPath: '/run/agent.sock',
    listenerMetadata: 'm',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  assert.deepEqual(p.architectures, [{ index: 0, name: 'x86_64' }, { index: 1, name: 'mipsel64n32' }]);
  assert.equal(p.flags, 2 | 4);
  assert.deepEqual(p.listener, { path: '/run/agent.sock', metadata: 'm' });
  const state = JSON.parse(seccompState(p.listener, 42, { id: 'c', status: 'creating', pid: 42 }));
  assert.deepEqual(state, { ociVersion: '1.3.0', fds: ['seccompFd'], pid: 42, metadata: 'm', state: { id: 'c', status: 'creating', pid: 42 } });
  assert.equal(planSeccomp(undefined), undefined);
});

test('seccomp plan: an exec carries the container\'s filter in its records', () => {
  const plan = buildExecPlan({ cwd: '/', args: ['sh'] }, [{ type: 0x20000, path: '/proc/1/ns/mnt' }], {
    seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o777, op: 'SCMP_CMP_EQ' }] }] },
  });
  const recs = readRecords(encodeExecPlan(plan, { stage0Wait: false })).map((r) => decodeRecord(r.tag, r.value));
  assert.deepEqual(recs.find((r) => r.name === 'Seccomp').fields, { defaultAction: 0x7fff0000, flags: 0 });
  assert.deepEqual(recs.find((r) => r.name === 'SeccompRule').fields, { action: 0x00050001, syscall: 'mkdir', args: [1n, 4n, 0o777n, 0n] });
});
