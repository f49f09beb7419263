// The zero-value mapping of linux.resources (src/cgroups/resources.ts): for every field, the value
// that means "not set" is dropped before a driver sees it, on v1 and v2, and a real value is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveResources } from '../../dist/cgroups/index.js';
import { dockerZeroResources } from '../helpers/docker-resources.js';

const UINT64_MAX = JSON.parse('18446744073709551615');

/** [field path, unset values, a set value, versions where the set value survives] */
const FIELDS = [
  ['memory.limit', [0], 1 << 20, [1, 2]],
  ['memory.limit', [0], -1, [1, 2]],
  ['memory.reservation', [0], 1 << 20, [1, 2]],
  ['memory.swap', [0], -1, [1, 2]],
  ['memory.kernel', [0, -1, 1 << 20], undefined, []],
  ['memory.kernelTCP', [0, -1, 1 << 20], undefined, []],
  ['memory.swappiness', [UINT64_MAX, -1], 0, [1]],
  ['memory.swappiness', [], 60, [1]],
  ['memory.disableOOMKiller', [false], true, [1]],
  ['memory.useHierarchy', [true, false], undefined, []],
  ['memory.checkBeforeUpdate', [false], true, [1, 2]],
  ['cpu.shares', [0], 1024, [1, 2]],
  ['cpu.quota', [0], 50000, [1, 2]],
  ['cpu.quota', [], -1, [1, 2]],
  ['cpu.period', [0], 100000, [1, 2]],
  ['cpu.burst', [], 0, [1, 2]],
  ['cpu.idle', [], 0, [1, 2]],
  ['cpu.realtimeRuntime', [0], 950000, [1]],
  ['cpu.realtimePeriod', [0], 1000000, [1]],
  ['cpu.cpus', [''], '0', [1, 2]],
  ['cpu.mems', [''], '0', [1, 2]],
  ['pids.limit', [0], 10, [1, 2]],
  ['pids.limit', [], -1, [1, 2]],
  ['blockIO.weight', [0], 500, [1, 2]],
  ['blockIO.leafWeight', [0], 500, [1]],
  ['network.classID', [0], 7, [1]],
];

function withField(field, value) {
  const [group, key] = field.split('.');
  return { [group]: { [key]: value } };
}

function valueOf(r, field) {
  const [group, key] = field.split('.');
  return r?.[group]?.[key];
}

for (const [field, unset, set, keptOn] of FIELDS) {
  for (const version of [1, 2]) {
    test(`resources v${version}: ${field} ${unset.map((v) => JSON.stringify(v)).join(', ') || '(no unset value)'} dropped${set === undefined ? '' : `, ${JSON.stringify(set)} ${keptOn.includes(version) ? 'kept' : 'ignored'}`}`, () => {
      for (const v of unset) {
        const r = effectiveResources(withField(field, v), version, () => {});
        assert.equal(valueOf(r, field), undefined, `${field}: ${v}`);
        assert.equal(r[field.split('.')[0]], undefined, 'an emptied group goes too');
      }
      if (set === undefined) return;
      const warnings = [];
      const r = effectiveResources(withField(field, set), version, (w) => warnings.push(w));
      if (keptOn.includes(version)) {
        assert.equal(valueOf(r, field), set);
        assert.deepEqual(warnings, []);
      } else {
        assert.equal(valueOf(r, field), undefined);
        assert.match(warnings.join('\n'), new RegExp(`/linux/resources/${field.replace('.', '/')} is ignored`));
      }
    });
  }
}

test('resources: weight devices and throttles keep their places; v2 loses leaf weights with a warning', () => {
  const blockIO = {
    weightDevice: [{ major: 8, minor: 0, weight: 0, leafWeight: 0 }, { major: 8, minor: 16, weight: 300, leafWeight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
    throttleWriteIOPSDevice: [],
  };
  const v1 = effectiveResources({ blockIO }, 1, () => {});
  assert.deepEqual(v1.blockIO, {
    weightDevice: [{ major: 8, minor: 0 }, { major: 8, minor: 16, weight: 300, leafWeight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
  });
  const warnings = [];
  const v2 = effectiveResources({ blockIO }, 2, (w) => warnings.push(w));
  assert.deepEqual(v2.blockIO.weightDevice, [{ major: 8, minor: 0 }, { major: 8, minor: 16, weight: 300 }]);
  assert.match(warnings.join('\n'), /weightDevice\/1\/leafWeight is ignored/);
  assert.deepEqual(blockIO.weightDevice[1], { major: 8, minor: 16, weight: 300, leafWeight: 200 }, 'the input is not changed');
});

test('resources: docker\'s all-zero block leaves nothing to write, on v1 and v2, without warnings', () => {
  for (const version of [1, 2]) {
    const warnings = [];
    const devices = [{ allow: false, access: 'rwm' }];
    const r = effectiveResources({ ...dockerZeroResources(), devices }, version, (w) => warnings.push(w));
    assert.deepEqual(r, { devices }, `v${version}`);
    assert.deepEqual(warnings, []);
  }
  assert.equal(effectiveResources(undefined, 1, () => {}), undefined);
});
