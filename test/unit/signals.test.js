// Signals to container processes go through pidfds checked against the recorded start time: never
// to pid 0 or -1 (kill(2)'s "my process group" and "everyone"), never to a pid recycled since.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ProcessHandle, signalCgroupMembers, signalRecorded } from '../../dist/state/proc.js';

/** A recording fake of the addon's pidfd calls. */
function fakeNative() {
  const calls = [];
  const fds = new Map();
  return {
    calls,
    pidfdOpen(pid) {
      calls.push(['open', pid]);
      const fd = fs.openSync('/dev/null', 'r'); // a real fd, so closeSync works
      fds.set(fd, pid);
      return fd;
    },
    pidfdSendSignal(fd, sig) {
      calls.push(['signal', fds.get(fd), sig]);
      return true;
    },
  };
}

function fakeProc(entries) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-unit-proc-'));
  for (const [pid, state, start] of entries) {
    fs.mkdirSync(path.join(root, String(pid)));
    const rest = [state, ...Array(18).fill('0'), start, '0'];
    fs.writeFileSync(path.join(root, String(pid), 'stat'), `${pid} (sleep) ${rest.join(' ')}`);
  }
  return root;
}

test('signals: pid 0, -1, fractions and NaN are never opened or signalled', () => {
  const nat = fakeNative();
  for (const pid of [0, -1, -1234, 1.5, Number.NaN]) {
    assert.equal(signalRecorded(pid, '123', 'SIGKILL', nat), false, String(pid));
    assert.equal(ProcessHandle.openAny(pid, nat), undefined);
  }
  assert.equal(signalRecorded(process.pid, '', 'SIGKILL', nat), false, 'no recorded start time: nothing to check against');
  assert.deepEqual(nat.calls, []);
});

test('signals: a pid whose start time is not the recorded one (reused) is not signalled', () => {
  const nat = fakeNative();
  const proc = fakeProc([[4242, 'S', '999'], [4243, 'Z', '500']]);
  assert.equal(ProcessHandle.open(4242, '500', nat, proc), undefined, 'another start time');
  assert.equal(ProcessHandle.open(4243, '500', nat, proc), undefined, 'a zombie');
  const h = ProcessHandle.open(4242, '999', nat, proc);
  assert.ok(h);
  assert.equal(h.signal('SIGTERM'), true);
  h.close();
  assert.equal(h.signal('SIGTERM'), false, 'closed');
  assert.deepEqual(nat.calls.filter((c) => c[0] === 'signal'), [['signal', 4242, 15]]);
  fs.rmSync(proc, { recursive: true });
});

test('signals: cgroup members are signalled only if still listed after their pidfd was opened', () => {
  const nat = fakeNative();
  const lists = [[10, 11, 12, 0, -1], [10, 12, 13]];
  const n = signalCgroupMembers(() => lists.shift() ?? [], 'SIGKILL', nat);
  assert.equal(n, 2);
  assert.deepEqual(nat.calls.filter((c) => c[0] === 'signal').map((c) => c[1]), [10, 12], '11 left (its pid may be anyone\'s now), 13 came later');
  assert.ok(!nat.calls.some((c) => c[1] <= 0), 'no pid <= 0 opened');
});
