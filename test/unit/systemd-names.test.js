// The systemd cgroup driver's names, as runc reads linux.cgroupsPath ("slice:prefix:name").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandSlice, systemdUnitNames } from '../../dist/cgroups/systemd-names.js';

test('systemd names: slices nest by their dashes; the root slice is /', () => {
  assert.equal(expandSlice('system.slice'), '/system.slice');
  assert.equal(expandSlice('machine-web-prod.slice'), '/machine.slice/machine-web.slice/machine-web-prod.slice');
  assert.equal(expandSlice('-.slice'), '/');
  for (const bad of ['system', '.slice', 'a/b.slice', '-a.slice', 'a-.slice', 'a--b.slice']) {
    assert.throws(() => expandSlice(bad), (err) => err.pointer === '/linux/cgroupsPath', bad);
  }
});

test('systemd names: slice:prefix:name becomes a scope in its slice, with runc\'s defaults', () => {
  assert.deepEqual(systemdUnitNames('system.slice:docker:abc', 'x'), { slice: 'system.slice', unit: 'docker-abc.scope', cgroupPath: '/system.slice/docker-abc.scope' });
  assert.deepEqual(systemdUnitNames(undefined, 'web'), { slice: 'system.slice', unit: 'tsrun-web.scope', cgroupPath: '/system.slice/tsrun-web.scope' });
  assert.deepEqual(systemdUnitNames(':cri-containerd:abc', 'x'), { slice: 'system.slice', unit: 'cri-containerd-abc.scope', cgroupPath: '/system.slice/cri-containerd-abc.scope' });
  assert.equal(systemdUnitNames(':p:n', 'x', true).slice, 'user.slice', 'rootless default');
  assert.equal(systemdUnitNames('kubepods-besteffort.slice:cri-containerd:abc', 'x').cgroupPath,
    '/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope');
  assert.deepEqual(systemdUnitNames('-.slice:p:n', 'x'), { slice: '-.slice', unit: 'p-n.scope', cgroupPath: '/p-n.scope' });
  assert.equal(systemdUnitNames('system.slice:ignored:own.slice', 'x').unit, 'own.slice', 'a slice name is the unit');
  assert.equal(systemdUnitNames('system.slice::n', 'x').unit, 'n.scope');
});

test('systemd names: a cgroupsPath that is not three parts, or a bad part, names the field', () => {
  for (const bad of ['/tsrun/web', 'a:b', 'a:b:c:d', 'system.slice:p:', 'system:p:n', 'system.slice:p:a/b']) {
    assert.throws(() => systemdUnitNames(bad, 'x'), (err) => err.pointer === '/linux/cgroupsPath', bad);
  }
});
