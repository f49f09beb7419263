// Thousands of seeded malformed configs through validation and planning, in-process: each is refused
// with one TsrunError of kind "config" whose JSON pointer names (or lies on the path of) a field the
// fault touched, never with an exception of another kind. Also the spec's own bad schema fixtures,
// and the MUST about capabilities that cannot be mapped (a warning naming the field).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlan } from '../../dist/bundle/plan.js';
import { buildExecPlan } from '../../dist/bundle/process-plan.js';
import { validateConfig, validateProcess } from '../../dist/bundle/validate.js';
import { TsrunError } from '../../dist/errors.js';
import { baseConfig } from '../helpers/base-config.js';
import { malformed, random, richConfig } from '../helpers/malformed.js';

const opts = { id: 'c1', bundle: '/b', capLastCap: 40, sourceKind: () => 'dir' };
const base = richConfig(baseConfig({ args: ['true'], cgroupsPath: '/tsrun-unit/c1' }));

const related = (where, p) => p !== '' && where.some((w) => w === p || w.startsWith(`${p}/`) || p.startsWith(`${w}/`));

test('robustness: the rich base config itself validates and plans', () => {
  validateConfig(structuredClone(base));
  buildPlan(structuredClone(base), opts);
});

test('robustness: 6,000 seeded malformed configs are each refused with one config error naming a JSON pointer', () => {
  const rnd = random(20261201);
  const failures = [];
  for (let i = 0; i < 6000; i++) {
    const { config, where } = malformed(base, rnd);
    try {
      validateConfig(config);
      buildPlan(config, opts);
      failures.push(`#${i} ${where.join(' ')}: accepted`);
    } catch (err) {
      if (!(err instanceof TsrunError) || err.kind !== 'config') failures.push(`#${i} ${where.join(' ')}: ${err?.constructor?.name} ${err?.kind}: ${err?.message}`);
      else if (!related(where, err.pointer)) failures.push(`#${i} ${where.join(' ')}: pointer ${JSON.stringify(err.pointer)} (${err.message})`);
      else if (err.message.includes('\n') || !err.message.includes(err.pointer)) failures.push(`#${i}: message ${JSON.stringify(err.message)}`);
    }
    if (failures.length > 10) break;
  }
  assert.deepEqual(failures, []);
});

test('robustness: 1,500 malformed process.json objects (exec --process) are refused the same way', () => {
  const rnd = random(7);
  const failures = [];
  for (let i = 0; i < 1500; i++) {
    const { config, where } = malformed({ process: base.process }, rnd);
    const rel = where.map((w) => w.replace(/^\/process/, '') || '/');
    try {
      validateProcess(config.process);
      buildExecPlan(config.process, [], {});
      failures.push(`#${i} ${where.join(' ')}: accepted`);
    } catch (err) {
      if (!(err instanceof TsrunError) || err.kind !== 'config') failures.push(`#${i} ${where.join(' ')}: ${err?.kind}: ${err?.message}`);
      else if (where.some((w) => w === '/process') ? false : !related(rel, err.pointer.replace(/^\/process/, ''))) failures.push(`#${i} ${where.join(' ')}: pointer ${err.pointer}`);
    }
    if (failures.length > 10) break;
  }
  assert.deepEqual(failures, []);
});

test('schema: what the runtime-spec\'s own bad fixtures hold is refused, naming the field', () => {
  const cases = [
    [{ ociVersion: '1.3.0', root: { path: 'rootfs' }, freebsd: { jail: { vnet: 'disable' } } }, '/freebsd/jail/vnet'],
    [{ ociVersion: '1.3.0', root: { path: 'rootfs' }, freebsd: { jail: { host: 'disable' } } }, '/freebsd/jail/host'],
    [{ ociVersion: '1.3.0', root: { path: 'rootfs' }, freebsd: { jail: { enforceStatfs: 256 } } }, '/freebsd/jail/enforceStatfs'],
    [{ ociVersion: '1.0.0', root: { path: 'rootfs' }, linux: { resources: { hugepageLimits: [{ limit: 1234123, pageSize: '64kB' }] } } }, '/linux/resources/hugepageLimits/0/pageSize'],
    [{ ociVersion: '1.0.0', root: { path: 'rootfs' }, linux: { resources: { rdma: [{ device: 'mlx5_1', hcaHandles: 'not a uint32' }] } } }, '/linux/resources/rdma'],
    [{ ociVersion: '1.0.0', root: { path: 'rootfs' }, linux: { resources: { rdma: { mlx5_1: { hcaHandles: 'not a uint32' } } } } }, '/linux/resources/rdma/mlx5_1/hcaHandles'],
  ];
  for (const [config, pointer] of cases) {
    assert.throws(() => validateConfig(config), (err) => err.kind === 'config' && err.pointer === pointer, `${JSON.stringify(config)} → ${pointer}`);
  }
  // and what its good fixtures hold is accepted
  validateConfig({ ociVersion: '1.3.0', root: { path: 'rootfs' }, freebsd: { jail: { vnet: 'new', host: 'inherit', ip4: 'disable', enforceStatfs: 2, allow: { mount: ['zfs'], rawSockets: true } } } });
});

test('capabilities: an unknown name (CAP_TEST) is a warning naming its field, as config.md 1.3.0 says; nothing is granted for it', () => {
  const s = structuredClone(base);
  s.process.capabilities.bounding.push('CAP_TEST');
  const plan = buildPlan(s, opts);
  assert.ok(plan.warnings.some((w) => w === `/process/capabilities/bounding/${s.process.capabilities.bounding.length - 1}: ignoring unknown capability CAP_TEST`), plan.warnings.join('\n'));
  const clean = buildPlan(structuredClone(base), opts);
  assert.equal(plan.capabilities.bounding, clean.capabilities.bounding);
  // not shaped like a capability at all: refused by the schema
  s.process.capabilities.bounding.push('chown');
  assert.throws(() => validateConfig(s), (err) => err.kind === 'config' && err.pointer === `/process/capabilities/bounding/${s.process.capabilities.bounding.length - 1}`);
});
