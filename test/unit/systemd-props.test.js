// The systemd driver's pure parts: linux.resources → unit properties as runc maps them
// (src/cgroups/systemd-props.ts), and org.systemd.property.* annotations in GVariant text
// (src/cgroups/systemd-annotations.ts). The D-Bus side runs in the systemd qemu lane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuQuotaProperties, deviceGroup, deviceProperties, rangeToBits, resourceProperties, unitProperties, UINT64_MAX } from '../../dist/cgroups/systemd-props.js';
import { annotationProperties, parseGVariant } from '../../dist/cgroups/systemd-annotations.js';

const props = (list) => Object.fromEntries(list.map(([n, v]) => [n, v]));
const v2 = { version: 2, systemdVersion: 252 };
const v1 = { version: 1, systemdVersion: 252 };

test('systemd props: v2 memory, swap, weight, pids as runc sets them; -1 is infinity', () => {
  const p = props(resourceProperties({ memory: { limit: 1 << 26, reservation: 1 << 25, swap: 1 << 27 }, cpu: { shares: 1024 }, pids: { limit: 50 } }, v2));
  assert.deepEqual(p.MemoryMax, ['t', String(1 << 26)]);
  assert.deepEqual(p.MemoryLow, ['t', String(1 << 25)]);
  assert.deepEqual(p.MemorySwapMax, ['t', String((1 << 27) - (1 << 26))]);
  assert.deepEqual(p.CPUWeight, ['t', '100']);
  assert.deepEqual(p.TasksMax, ['t', '50']);
  const inf = props(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 } }, v2));
  assert.deepEqual(inf.MemoryMax, ['t', UINT64_MAX]);
  assert.deepEqual(inf.MemorySwapMax, ['t', UINT64_MAX], 'unlimited memory, swap unset: unlimited swap');
  assert.deepEqual(inf.TasksMax, ['t', UINT64_MAX]);
  assert.equal(props(resourceProperties({ pids: { limit: 0 } }, v2)).TasksMax, undefined);
});

test('systemd props: v1 has MemoryLimit, CPUShares and BlockIOWeight instead', () => {
  const p = props(resourceProperties({ memory: { limit: 1 << 26 }, cpu: { shares: 512 }, blockIO: { weight: 300 } }, v1));
  assert.deepEqual(p.MemoryLimit, ['t', String(1 << 26)]);
  assert.deepEqual(p.CPUShares, ['t', '512']);
  assert.deepEqual(p.BlockIOWeight, ['t', '300']);
  assert.equal(p.MemoryMax, undefined);
  assert.equal(p.CPUWeight, undefined);
});

test('systemd props: swap below the limit or without one is an error naming the field', () => {
  assert.throws(() => resourceProperties({ memory: { limit: 100, swap: 50 } }, v2), (e) => e.pointer === '/linux/resources/memory/swap');
  assert.throws(() => resourceProperties({ memory: { swap: 50 } }, v2), (e) => e.pointer === '/linux/resources/memory/swap');
});

test('systemd props: CPU quota per second rounds up to 10 ms; the period needs systemd 242', () => {
  assert.deepEqual(cpuQuotaProperties(50000, 100000, 252), [['CPUQuotaPeriodUSec', ['t', '100000']], ['CPUQuotaPerSecUSec', ['t', '500000']]]);
  assert.deepEqual(cpuQuotaProperties(12345, 0, 252), [['CPUQuotaPerSecUSec', ['t', '130000']]], '123450 µs/s → 130 ms');
  assert.deepEqual(cpuQuotaProperties(-1, 100000, 241), [['CPUQuotaPerSecUSec', ['t', UINT64_MAX]]]);
  assert.deepEqual(cpuQuotaProperties(0, 0, 252), []);
});

test('systemd props: cpusets as little-endian bitmasks, from systemd 244 only', () => {
  assert.deepEqual(rangeToBits('0-3,8', '/p'), [0x0f, 0x01]);
  assert.deepEqual(rangeToBits('1, 9-10,', '/p'), [0x02, 0x06]);
  assert.throws(() => rangeToBits('3-1', '/p'), /invalid range/);
  assert.throws(() => rangeToBits(',', '/p'), /empty/);
  assert.deepEqual(props(resourceProperties({ cpu: { cpus: '0-1', mems: '0' } }, v2)).AllowedCPUs, ['ay', [3]]);
  assert.equal(props(resourceProperties({ cpu: { cpus: '0-1' } }, { version: 2, systemdVersion: 243 })).AllowedCPUs, undefined);
});

test('systemd props: devices as DevicePolicy strict and DeviceAllow paths, groups and globs', () => {
  const procDevices = 'Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n';
  const warnings = [];
  const p = deviceProperties([
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 136, access: 'rw' },
    { allow: true, type: 'b', access: 'm' },
    { allow: true, type: 'c', minor: 5, access: 'r' },
  ], procDevices, (m) => warnings.push(m));
  assert.deepEqual(p[0], ['DevicePolicy', ['s', 'strict']]);
  assert.deepEqual(p[p.length - 1], ['DeviceAllow', ['a(ss)', [['/dev/char/1:3', 'rwm'], ['char-pts', 'rw'], ['block-*', 'm']]]]);
  assert.equal(warnings.length, 1, 'a *:5 rule is left to tsrun');
  assert.deepEqual(deviceProperties([{ allow: true, access: 'rwm' }], '', () => {}), [['DevicePolicy', ['s', 'auto']], ['DeviceAllow', ['a(ss)', []]]]);
  assert.equal(deviceGroup(procDevices, 'b', 8), 'sd');
  assert.equal(deviceGroup(procDevices, 'b', 1), undefined);
});

test('systemd props: the unit gets Slice, Delegate and the pid (a slice unit gets Wants)', () => {
  const p = props(unitProperties({ unit: 'tsrun-a.scope', slice: 'system.slice', id: 'a', pid: 42, version: 2 }));
  assert.deepEqual(p.Slice, ['s', 'system.slice']);
  assert.deepEqual(p.Delegate, ['b', true]);
  assert.deepEqual(p.PIDs, ['au', [42]]);
  assert.deepEqual(p.DefaultDependencies, ['b', false]);
  assert.deepEqual(p.IOAccounting, ['b', true]);
  const s = props(unitProperties({ unit: 'pod.slice', slice: 'kube.slice', id: 'a', pid: 42, version: 1 }));
  assert.deepEqual(s.Wants, ['as', ['kube.slice']]);
  assert.equal(s.Delegate, undefined);
  assert.deepEqual(s.BlockIOAccounting, ['b', true]);
});

test('GVariant text: numbers typed by keyword or @, int32 by default, strings, booleans, arrays', () => {
  assert.deepEqual(parseGVariant('uint64 123'), ['t', '123']);
  assert.deepEqual(parseGVariant('@t 18446744073709551615'), ['t', '18446744073709551615']);
  assert.deepEqual(parseGVariant('42'), ['i', 42]);
  assert.deepEqual(parseGVariant('-1.5'), ['d', -1.5]);
  assert.deepEqual(parseGVariant('uint32 0x10'), ['u', 16]);
  assert.deepEqual(parseGVariant("'inactive-or-failed'"), ['s', 'inactive-or-failed']);
  assert.deepEqual(parseGVariant('"a\\"b\\n"'), ['s', 'a"b\n']);
  assert.deepEqual(parseGVariant('true'), ['b', true]);
  assert.deepEqual(parseGVariant('["a", "b"]'), ['as', ['a', 'b']]);
  assert.deepEqual(parseGVariant('@as []'), ['as', []]);
  assert.deepEqual(parseGVariant('[uint32 1, 2]'), ['au', [1, 2]]);
  for (const bad of ['', '3000000000', 'byte 256', "'open", '[1, "a"]', '[]', 'uint64 -1', 'yes', '1 2']) {
    assert.throws(() => parseGVariant(bad), Error, bad);
  }
});

test('annotations: org.systemd.property.* only, names of letters, "Sec" names in µs as uint64', () => {
  const p = annotationProperties({
    'org.systemd.property.TimeoutStopSec': 'uint64 123',
    'org.systemd.property.RuntimeMaxSec': '1.5',
    'org.systemd.property.TimeoutStopUSec': 'uint64 7',
    'org.systemd.property.CollectMode': "'inactive-or-failed'",
    'org.other': 'x',
  });
  assert.deepEqual(props(p), {
    TimeoutStopUSec: ['t', '7'],
    RuntimeMaxUSec: ['t', '1500000'],
    CollectMode: ['s', 'inactive-or-failed'],
  });
  assert.deepEqual(p[0], ['TimeoutStopUSec', ['t', '123000000']], 'the Sec name converted, in order');
  assert.throws(() => annotationProperties({ 'org.systemd.property.A1b': '1' }), (e) => e.pointer === '/annotations/org.systemd.property.A1b');
  assert.throws(() => annotationProperties({ 'org.systemd.property.Ab': '1' }), /3 or more/);
  assert.throws(() => annotationProperties({ 'org.systemd.property.CPUWeight': 'nope' }), /not a GVariant value/);
  assert.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': "'x'" }), /must be a number/);
});
