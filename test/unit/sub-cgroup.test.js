// exec --cgroup: runc's argument forms and refusals, and the dirs joined (on a temp tree, so the
// symlink case is real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execCgroupDirs, parseSubCgroupArgs } from '../../dist/cgroups/sub-cgroup.js';

test('sub-cgroup: PATH alone, or CONTROLLER[,CONTROLLER]:PATH, with runc\'s errors', () => {
  assert.deepEqual([...parseSubCgroupArgs(['a/b'])], [['', 'a/b']]);
  assert.deepEqual([...parseSubCgroupArgs(['memory,pids:x', 'cpu:/y'])], [['memory', 'x'], ['pids', 'x'], ['cpu', '/y']]);
  assert.deepEqual([...parseSubCgroupArgs(['memory:a:b'])], [['memory', 'a:b']], 'the first colon splits (newest runc)');
  const refused = (args, re) => assert.throws(() => parseSubCgroupArgs(args), (e) => e.kind === 'usage' && re.test(e.message), args.join(' '));
  refused(['a', 'memory:b'], /^invalid --cgroup argument: a \(missing <controller>: prefix\)$/);
  refused([':x'], /^invalid --cgroup argument: :x \(empty <controller> prefix\)$/);
  refused(['memory:a', 'memory,pids:b'], /^invalid --cgroup argument\(s\): controller memory specified multiple times$/);
});

test('sub-cgroup: the dirs joined, inside the container\'s cgroup only, existing, symlinks resolved', (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-subcg-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const mem = path.join(tmp, 'memory/ctr');
  const cpu = path.join(tmp, 'cpu,cpuacct/ctr');
  for (const d of [mem, cpu, path.join(mem, 'sub'), path.join(cpu, 'sub'), path.join(tmp, 'memory/ctrx')]) fs.mkdirSync(d, { recursive: true });
  fs.symlinkSync('../..', path.join(mem, 'sub/out'));
  const paths = { memory: mem, cpu, cpuacct: cpu };
  const dirs = (args) => execCgroupDirs(paths, parseSubCgroupArgs(args));
  assert.deepEqual(dirs(['sub']), [path.join(mem, 'sub'), path.join(cpu, 'sub')]);
  assert.deepEqual(dirs(['memory:/sub']), [path.join(mem, 'sub'), cpu]);
  assert.deepEqual(dirs(['cpu:sub']), [mem, path.join(cpu, 'sub')], 'a controller of a shared hierarchy takes it along');
  assert.deepEqual(dirs(['memory:.']), [mem, cpu]);
  const refused = (args, re) => assert.throws(() => dirs(args), (e) => e.kind === 'usage' && re.test(e.message), args.join(' '));
  refused(['..'], /^\.\. is not a sub cgroup path$/);
  refused(['memory:../ctrx'], /^\.\.\/ctrx is not a sub cgroup path$/);
  refused(['memory:/../../x'], /is not a sub cgroup path/);
  refused(['memory:sub/out'], /^sub\/out is not a sub cgroup path \(it resolves to /);
  refused(['memory:missing'], /sub-cgroup ".*memory\/ctr\/missing" does not exist/);
  refused(['blkio:sub'], /unknown controller blkio \(the container's cgroup has memory, cpu, cpuacct\)/);
  refused(['cpu:sub', 'cpuacct:other'], /controllers cpu and cpuacct share the hierarchy/);
  assert.throws(() => execCgroupDirs({ '': mem }, parseSubCgroupArgs(['memory:sub'])), /unknown controller memory \(the container's cgroup has none by name: give a PATH alone\)/);
});
