// cgroups: drivers run on temp trees shaped like cgroupfs, through a fake CgroupFs that records
// writes, emulates the few kernel rules that matter (memsw >= limit, rmdir of busy cgroups, new
// cgroups inheriting control files) and fails named calls on demand. One test uses the real host.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import {
  openCgroupManager, cgroupManagerFromPaths, realCgroupFs, parseMountinfo, parseProcCgroup, resolveCgroupsPath,
  sharesToWeight, blkioToIOWeight, detectCgroupVersion,
} from '../../dist/cgroups/index.js';
import { decode, run } from '../helpers/bpf-interpreter.js';
import { dockerZeroResources } from '../helpers/docker-resources.js';

const MAX = '9223372036854771712';
const CGROUP2_SUPER_MAGIC = 0x63677270;

// ---------- fake host ----------

const COMMON_V1 = { 'cgroup.procs': '', tasks: '', 'cgroup.clone_children': '0', notify_on_release: '0' };
const V1_FILES = {
  cpu: {
    'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0',
    'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0', 'cpu.idle': '0',
  },
  cpuacct: { 'cpuacct.usage': '0' },
  cpuset: { 'cpuset.cpus': '0-3', 'cpuset.mems': '0' },
  memory: {
    'memory.limit_in_bytes': MAX, 'memory.memsw.limit_in_bytes': MAX, 'memory.soft_limit_in_bytes': MAX,
    'memory.kmem.limit_in_bytes': MAX, 'memory.kmem.tcp.limit_in_bytes': MAX, 'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n', 'memory.use_hierarchy': '1', 'memory.usage_in_bytes': '0',
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  freezer: { 'freezer.state': 'THAWED' },
  blkio: {
    'blkio.weight': '500', 'blkio.leaf_weight': '500', 'blkio.weight_device': '', 'blkio.leaf_weight_device': '',
    'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '',
  },
  pids: { 'pids.max': 'max' },
  'name=systemd': {},
  'net_cls,net_prio': { 'net_cls.classid': '0', 'net_prio.ifpriomap': '' },
  hugetlb: { 'hugetlb.2MB.limit_in_bytes': MAX, 'hugetlb.2MB.rsvd.limit_in_bytes': MAX, 'hugetlb.1GB.limit_in_bytes': MAX },
  rdma: { 'rdma.max': '' },
};

function writeTree(dir, files) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
}

/**
 * A v1 host in a temp dir: <tmp>/cg/<mount> per hierarchy, <tmp>/proc/self/{mountinfo,cgroup}.
 * `own` gives tsrun's cgroup per controller, `mountRoot` the sub-tree a hierarchy mounts.
 */
function fakeV1Host(t, { only, own = {}, mountRoot = {}, extraMountinfo = '' } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cg1-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const fsRoot = path.join(tmp, 'cg');
  const proc = path.join(tmp, 'proc');
  const lines = [`30 1 0:27 / ${fsRoot} rw,relatime - tmpfs tmpfs rw,mode=755`];
  const cgLines = [];
  let n = 31;
  for (const [mount, files] of Object.entries(V1_FILES)) {
    if (only && !only.includes(mount)) continue;
    const dirName = mount === 'name=systemd' ? 'systemd' : mount;
    const mp = path.join(fsRoot, dirName);
    writeTree(mp, { ...COMMON_V1, ...files });
    const root = mountRoot[mount] ?? '/';
    lines.push(`${n} 30 0:${n} ${root} ${mp} rw,nosuid,nodev,noexec,relatime shared:${n} - cgroup cgroup rw,${mount}`);
    cgLines.push(`${n - 30}:${mount}:${own[mount] ?? '/'}`);
    n++;
  }
  lines.push(`${n} 30 0:${n} / ${path.join(fsRoot, 'unified')} rw,relatime - cgroup2 cgroup2 rw`);
  writeTree(path.join(fsRoot, 'unified'), { 'cgroup.procs': '', 'cgroup.controllers': 'hugetlb\n', 'cgroup.subtree_control': 'hugetlb\n' });
  cgLines.push('0::/');
  writeTree(path.join(proc, 'self'), { mountinfo: lines.join('\n') + '\n' + extraMountinfo, cgroup: cgLines.join('\n') + '\n' });
  // own cgroups must exist for relative paths
  for (const [mount, p] of Object.entries(own)) {
    const dirName = mount === 'name=systemd' ? 'systemd' : mount;
    const rel = path.relative(mountRoot[mount] ?? '/', p);
    fakeMkdirAll(path.join(fsRoot, dirName), rel);
  }
  const cgfs = fakeFs(tmp, 1);
  const open = (o = {}) => openCgroupManager({ id: 'ctr1', fsRoot, procRoot: proc, fs: cgfs, ...o });
  return { tmp, fsRoot, proc, cgfs, open, mp: (m) => path.join(fsRoot, m === 'name=systemd' ? 'systemd' : m) };
}

function fakeV2Host(t, { own = '/', controllers = 'cpuset cpu io memory hugetlb pids rdma' } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cg2-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const fsRoot = path.join(tmp, 'cg');
  const proc = path.join(tmp, 'proc');
  writeTree(fsRoot, {
    'cgroup.procs': '', 'cgroup.controllers': controllers + '\n', 'cgroup.subtree_control': '\n',
    'cgroup.freeze': '0', 'cgroup.events': 'populated 1\nfrozen 0\n',
    'memory.max': 'max', 'memory.low': '0', 'memory.swap.max': 'max', 'memory.current': '1000000',
    'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0',
    'cpuset.cpus': '', 'cpuset.mems': '', 'pids.max': 'max', 'io.weight': 'default 100', 'io.max': '',
    'hugetlb.2MB.max': 'max', 'hugetlb.2MB.rsvd.max': 'max', 'hugetlb.1GB.max': 'max', 'rdma.max': '',
    'memory.oom.group': '0',
  });
  writeTree(path.join(proc, 'self'), {
    mountinfo: `40 1 0:38 / ${fsRoot} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`,
    cgroup: `0::${own}\n`,
  });
  const cgfs = fakeFs(tmp, 2);
  if (own !== '/') fakeMkdirAll(fsRoot, own.slice(1), cgfs);
  cgfs.log.length = 0;
  const bpf = fakeBpf(tmp);
  const open = (o = {}) => openCgroupManager({ id: 'ctr1', fsRoot, procRoot: proc, fs: cgfs, bpf, ...o });
  return { tmp, fsRoot, proc, cgfs, bpf, open };
}

/** Device programs per cgroup dir, by id, as BPF_PROG_QUERY would list them; records calls, fails on demand. */
function fakeBpf(base) {
  const attached = new Map();
  const programs = new Map();
  const log = [];
  const failures = new Map();
  let nextId = 100;
  const rel = (p) => path.relative(base, p);
  const maybeFail = (op) => {
    const code = failures.get(op);
    if (code) {
      failures.delete(op);
      throw sysErr(code, op, '');
    }
  };
  const list = (dir) => attached.get(dir) ?? [];
  return {
    log,
    programs,
    attached: (dir) => [...list(dir)],
    fail: (op, code) => failures.set(op, code),
    devicePrograms(dir) {
      log.push(`list ${rel(dir)}`);
      maybeFail('devicePrograms');
      return [...list(dir)];
    },
    attachDeviceProgram(dir, program) {
      const id = nextId++;
      log.push(`attach ${rel(dir)} ${id}`);
      maybeFail('attachDeviceProgram');
      programs.set(id, program);
      attached.set(dir, [...list(dir), id]);
    },
    detachDeviceProgram(dir, id) {
      log.push(`detach ${rel(dir)} ${id}`);
      maybeFail('detachDeviceProgram');
      attached.set(dir, list(dir).filter((x) => x !== id));
    },
  };
}

function fakeMkdirAll(base, rel, cgfs = fakeFs(base, 1)) {
  let d = base;
  for (const seg of rel.split('/').filter(Boolean)) {
    d = path.join(d, seg);
    if (!fs.existsSync(d)) cgfs.mkdir(d);
  }
}

function sysErr(code, op, p) {
  const e = new Error(`${code}: fake ${op} '${p}'`);
  e.code = code;
  e.syscall = op;
  e.path = p;
  return e;
}

const big = (s) => (s.trim() === '-1' ? BigInt(MAX) : BigInt(s.trim()));

/** cgroupfs in a temp dir: records writes, emulates kernel rules, fails named calls on demand. */
/**
 * The v1 devices controller as devices.list shows it: "a" resets to allow-all ("a *:* rwm") or
 * deny-all (no line); in deny-all mode allows add access bits to an exception and denies take them
 * away; in allow-all mode the deny exceptions are not listed.
 */
function writeDevicesRule(dir, allow, line) {
  const list = path.join(dir, 'devices.list');
  const text = fs.readFileSync(list, 'utf8');
  if (line === 'a') {
    fs.writeFileSync(list, allow ? 'a *:* rwm\n' : '');
    return;
  }
  const m = /^([bc] (?:\d+|\*):(?:\d+|\*)) ([rwm]+)$/.exec(line);
  if (!m) throw sysErr('EINVAL', 'write', path.join(dir, allow ? 'devices.allow' : 'devices.deny'));
  if (text.startsWith('a ')) return;
  const entries = new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]));
  const had = entries.get(m[1]) ?? '';
  const next = allow ? 'rwm'.split('').filter((c) => had.includes(c) || m[2].includes(c)).join('') : had.split('').filter((c) => !m[2].includes(c)).join('');
  if (next) entries.set(m[1], next);
  else entries.delete(m[1]);
  fs.writeFileSync(list, [...entries].map(([k, a]) => `${k} ${a}\n`).join(''));
}

function fakeFs(base, version) {
  const log = [];
  const failures = [];
  const readHooks = [];
  const rel = (p) => path.relative(base, p);
  const maybeFail = (op, p) => {
    for (const f of failures) {
      if (f.op === op && p.endsWith(f.match) && f.times > 0) {
        f.times--;
        throw sysErr(f.code, op, p);
      }
    }
  };
  const api = {
    log,
    failures,
    /** fail `op` on paths ending with `match`, `times` times, with errno `code` */
    fail(op, match, code, times = 1) {
      failures.push({ op, match, code, times });
    },
    clearFailures() {
      failures.length = 0;
    },
    onRead(fn) {
      readHooks.push(fn);
    },
    writes(filter = () => true) {
      return log.filter((e) => e.op === 'write' && filter(e)).map((e) => [e.path, e.data]);
    },
    readFile(p) {
      maybeFail('readFile', p);
      let content = realCgroupFs.readFile(p);
      // v2: what a cgroup may use is what its parent hands on, at any moment
      const parentSubtree = path.join(path.dirname(path.dirname(p)), 'cgroup.subtree_control');
      if (path.basename(p) === 'cgroup.controllers' && fs.existsSync(parentSubtree)) content = fs.readFileSync(parentSubtree, 'utf8');
      for (const h of readHooks) content = h(p, content) ?? content;
      return content;
    },
    writeFile(p, data) {
      maybeFail('writeFile', p);
      if (!fs.existsSync(p)) throw sysErr('ENOENT', 'open', p);
      const dir = path.dirname(p);
      const name = path.basename(p);
      // the kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every write
      if (name === 'memory.limit_in_bytes' && fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) {
        if (big(data) > big(fs.readFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), 'utf8'))) throw sysErr('EINVAL', 'write', p);
      }
      if (name === 'memory.memsw.limit_in_bytes') {
        if (big(data) < big(fs.readFileSync(path.join(dir, 'memory.limit_in_bytes'), 'utf8'))) throw sysErr('EINVAL', 'write', p);
      }
      if (name === 'cgroup.procs') {
        fs.appendFileSync(p, `${data}\n`);
      } else if (name === 'devices.allow' || name === 'devices.deny') {
        writeDevicesRule(dir, name === 'devices.allow', data);
      } else if (name === 'cgroup.subtree_control') {
        // no internal processes: a non-root cgroup with processes hands on no controllers
        if (version === 2 && dir !== path.join(base, 'cg') && data.includes('+') && fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim()) {
          throw sysErr('EBUSY', 'write', p);
        }
        const set = new Set(fs.readFileSync(p, 'utf8').split(/\s+/).filter(Boolean));
        for (const tok of data.split(' ')) {
          if (tok.startsWith('+')) set.add(tok.slice(1));
          else if (tok.startsWith('-')) set.delete(tok.slice(1));
          else throw sysErr('EINVAL', 'write', p);
        }
        fs.writeFileSync(p, [...set].join(' ') + '\n');
      } else {
        realCgroupFs.writeFile(p, data);
      }
      if (name === 'cgroup.freeze') {
        fs.writeFileSync(path.join(dir, 'cgroup.events'), `populated 1\nfrozen ${data.trim()}\n`);
      }
      log.push({ op: 'write', path: rel(p), data });
    },
    mkdir(p) {
      maybeFail('mkdir', p);
      realCgroupFs.mkdir(p);
      log.push({ op: 'mkdir', path: rel(p) });
      // a new cgroup gets its parent's control files, some reset as the kernel does
      const parent = path.dirname(p);
      for (const e of fs.readdirSync(parent, { withFileTypes: true })) {
        if (!e.isFile()) continue;
        let content = fs.readFileSync(path.join(parent, e.name), 'utf8');
        if (['cgroup.procs', 'tasks', 'cpuset.cpus', 'cpuset.mems', 'cgroup.subtree_control'].includes(e.name)) content = '';
        if (e.name === 'cgroup.events') content = 'populated 0\nfrozen 0\n';
        if (e.name === 'freezer.state') content = 'THAWED';
        if (e.name === 'cgroup.controllers') content = fs.readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8');
        if (e.name === 'memory.limit_in_bytes' || e.name === 'memory.memsw.limit_in_bytes') content = MAX;
        fs.writeFileSync(path.join(p, e.name), content);
      }
    },
    rmdir(p) {
      maybeFail('rmdir', p);
      if (!fs.existsSync(p)) throw sysErr('ENOENT', 'rmdir', p);
      const entries = fs.readdirSync(p, { withFileTypes: true });
      if (entries.some((e) => e.isDirectory())) throw sysErr('EBUSY', 'rmdir', p);
      const procs = path.join(p, 'cgroup.procs');
      if (fs.existsSync(procs) && fs.readFileSync(procs, 'utf8').trim() !== '') throw sysErr('EBUSY', 'rmdir', p);
      fs.rmSync(p, { recursive: true });
      log.push({ op: 'rmdir', path: rel(p) });
    },
    exists: (p) => fs.existsSync(p),
    readdir: (p) => realCgroupFs.readdir(p),
    statfsType: () => (version === 2 ? CGROUP2_SUPER_MAGIC : 0x01021994),
  };
  return api;
}

const read = (p) => fs.readFileSync(p, 'utf8');

function assertConfigError(fn, pointer, re) {
  assert.throws(fn, (err) => {
    assert.equal(err.name, 'TsrunError', `not a TsrunError: ${err.stack}`);
    assert.equal(err.pointer, pointer, `pointer of: ${err.message}`);
    if (re) assert.match(err.message, re);
    return true;
  });
}

// ---------- parsing and path rules ----------

describe('cgroups: parsing', () => {
  test('mountinfo: combined hierarchies, named ones, cgroup2, escapes, non-cgroup mounts', () => {
    const mounts = parseMountinfo(
      [
        '25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw',
        '26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct',
        '27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
        '28 25 0:25 /docker/abc /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory',
        '29 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate',
        '',
      ].join('\n'),
    );
    assert.deepEqual(mounts, [
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', fsType: 'cgroup', controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/systemd', root: '/', fsType: 'cgroup', controllers: ['name=systemd'] },
      { mountPoint: '/sys/fs/cgroup/my mem', root: '/docker/abc', fsType: 'cgroup', controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/unified', root: '/', fsType: 'cgroup2', controllers: [] },
    ]);
  });

  test('/proc/self/cgroup: v1 lists and the v2 line', () => {
    const own = parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/user.slice\n0::/x:y\n');
    assert.equal(own.get('memory'), '/a/b');
    assert.equal(own.get('cpu'), '/c');
    assert.equal(own.get('cpuacct'), '/c');
    assert.equal(own.get('name=systemd'), '/user.slice');
    assert.equal(own.get(''), '/x:y');
  });

  test('cgroupsPath: absent, absolute, relative, normalised', () => {
    assert.deepEqual(resolveCgroupsPath(undefined, 'c1'), { absolute: true, rel: 'c1' });
    assert.deepEqual(resolveCgroupsPath('', 'c1'), { absolute: true, rel: 'c1' });
    assert.deepEqual(resolveCgroupsPath('/a//b/./c/', 'c1'), { absolute: true, rel: 'a/b/c' });
    assert.deepEqual(resolveCgroupsPath('a/x/../b', 'c1'), { absolute: false, rel: 'a/b' });
  });

  test('cgroupsPath: escapes, the root itself and systemd paths are refused', () => {
    assertConfigError(() => resolveCgroupsPath('/../etc', 'c1'), '/linux/cgroupsPath', /climbs out of the cgroup root/);
    assertConfigError(() => resolveCgroupsPath('/a/../../b', 'c1'), '/linux/cgroupsPath', /climbs out/);
    assertConfigError(() => resolveCgroupsPath('../sibling', 'c1'), '/linux/cgroupsPath', /tsrun's own cgroup/);
    assertConfigError(() => resolveCgroupsPath('/', 'c1'), '/linux/cgroupsPath', /names the cgroup root/);
    assertConfigError(() => resolveCgroupsPath('a/..', 'c1'), '/linux/cgroupsPath', /own cgroup/);
    assertConfigError(() => resolveCgroupsPath('system.slice:tsrun:c1', 'c1'), '/linux/cgroupsPath', /give --systemd-cgroup/);
    assert.throws(() => resolveCgroupsPath(undefined, '../x'), /cannot name a cgroup/);
  });

  test('version: statfs magic of the root', () => {
    assert.equal(detectCgroupVersion('/x', { statfsType: () => CGROUP2_SUPER_MAGIC }), 2);
    assert.equal(detectCgroupVersion('/x', { statfsType: () => 0x27e0eb }), 1);
  });
});

describe('cgroups: v1 paths', () => {
  test('absent cgroupsPath: /<id> under every hierarchy, named ones included', (t) => {
    const h = fakeV1Host(t);
    const m = h.open();
    assert.equal(m.version, 1);
    assert.equal(m.paths.memory, path.join(h.mp('memory'), 'ctr1'));
    assert.equal(m.paths['name=systemd'], path.join(h.mp('name=systemd'), 'ctr1'));
    assert.equal(m.paths.net_cls, path.join(h.mp('net_cls,net_prio'), 'ctr1'));
    assert.equal(m.paths.net_prio, m.paths.net_cls);
    assert.equal(m.paths.cpu, path.join(h.mp('cpu'), 'ctr1'));
    assert.equal(m.paths.cpuacct, path.join(h.mp('cpuacct'), 'ctr1'));
    // and, this being a hybrid host, a cgroup in the cgroup2 "unified" hierarchy (runc's "" path)
    assert.equal(m.paths[''], path.join(h.fsRoot, 'unified', 'ctr1'));
    assert.equal(Object.keys(m.paths).length, 14);
  });

  test('hybrid: the unified dir follows a relative cgroupsPath from tsrun\'s own "0::" cgroup; no cgroup2 there, no "" path', (t) => {
    const h = fakeV1Host(t, { only: ['memory'] });
    fs.writeFileSync(path.join(h.proc, 'self/cgroup'), '4:memory:/\n0::/user.slice/s1\n');
    assert.equal(h.open({ cgroupsPath: 'tsrun/c1' }).paths[''], path.join(h.fsRoot, 'unified', 'user.slice/s1/tsrun/c1'));
    const mi = path.join(h.proc, 'self/mountinfo');
    fs.writeFileSync(mi, read(mi).split('\n').filter((l) => !l.includes('cgroup2')).join('\n'));
    assert.equal(h.open().paths[''], undefined);
  });

  test('absolute cgroupsPath: under each mount, whatever tsrun own cgroup is', (t) => {
    const h = fakeV1Host(t, { own: { memory: '/process_api/abc' } });
    const m = h.open({ cgroupsPath: '/tsrun/c1' });
    assert.equal(m.paths.memory, path.join(h.mp('memory'), 'tsrun/c1'));
    assert.equal(m.paths.pids, path.join(h.mp('pids'), 'tsrun/c1'));
  });

  test('relative cgroupsPath: under tsrun own cgroup per hierarchy, mount sub-tree accounted for', (t) => {
    const h = fakeV1Host(t, {
      own: { memory: '/process_api/abc', pids: '/docker/x/inner' },
      mountRoot: { pids: '/docker/x' },
    });
    const m = h.open({ cgroupsPath: 'tsrun/c1' });
    assert.equal(m.paths.memory, path.join(h.mp('memory'), 'process_api/abc/tsrun/c1'));
    assert.equal(m.paths.pids, path.join(h.mp('pids'), 'inner/tsrun/c1'));
    assert.equal(m.paths.cpu, path.join(h.mp('cpu'), 'tsrun/c1'));
  });

  test('relative cgroupsPath: own cgroup outside the mounted sub-tree is an error', (t) => {
    const h = fakeV1Host(t, { only: ['pids'], mountRoot: { pids: '/docker/x' } });
    fs.writeFileSync(path.join(h.proc, 'self/cgroup'), '1:pids:/elsewhere\n');
    assert.throws(() => h.open({ cgroupsPath: 'c1' }), /outside the mounted sub-tree/);
  });

  test('a hierarchy mounted twice: the mount under fsRoot wins', (t) => {
    const h = fakeV1Host(t, {
      only: ['pids'],
      extraMountinfo: '99 1 0:99 / /elsewhere/pids rw - cgroup cgroup rw,pids\n',
    });
    const mi = path.join(h.proc, 'self/mountinfo');
    const lines = read(mi).trim().split('\n');
    fs.writeFileSync(mi, [lines[0], lines.at(-1), ...lines.slice(1, -1)].join('\n') + '\n');
    assert.equal(h.open().paths.pids, path.join(h.mp('pids'), 'ctr1'));
  });

  test('escaping and systemd cgroupsPath are refused before anything is touched', (t) => {
    const h = fakeV1Host(t);
    assertConfigError(() => h.open({ cgroupsPath: '../../etc' }), '/linux/cgroupsPath');
    assertConfigError(() => h.open({ cgroupsPath: 'user.slice:tsrun:c1' }), '/linux/cgroupsPath', /systemd/);
    assert.equal(h.cgfs.log.length, 0);
  });
});

describe('cgroups: v1 create and destroy', () => {
  test('create makes only what is missing; cpuset levels inherit cpus/mems from the nearest non-empty parent', (t) => {
    const h = fakeV1Host(t, { only: ['cpuset', 'memory', 'pids'] });
    fakeMkdirAll(h.mp('cpuset'), 'host');
    fs.writeFileSync(path.join(h.mp('cpuset'), 'host/cpuset.cpus'), '1-2');
    fs.writeFileSync(path.join(h.mp('cpuset'), 'host/cpuset.mems'), '0');
    fakeMkdirAll(h.mp('memory'), 'host');
    const m = h.open({ cgroupsPath: '/host/a/b' });
    m.create();
    assert.deepEqual(m.created, [
      path.join(h.mp('cpuset'), 'host/a'), path.join(h.mp('cpuset'), 'host/a/b'),
      path.join(h.mp('memory'), 'host/a'), path.join(h.mp('memory'), 'host/a/b'),
      path.join(h.mp('pids'), 'host'), path.join(h.mp('pids'), 'host/a'), path.join(h.mp('pids'), 'host/a/b'),
      path.join(h.fsRoot, 'unified/host'), path.join(h.fsRoot, 'unified/host/a'), path.join(h.fsRoot, 'unified/host/a/b'),
    ]);
    for (const lvl of ['host/a', 'host/a/b']) {
      assert.equal(read(path.join(h.mp('cpuset'), lvl, 'cpuset.cpus')), '1-2');
      assert.equal(read(path.join(h.mp('cpuset'), lvl, 'cpuset.mems')), '0');
    }
    // the host's own level is not ours to change
    assert.deepEqual(h.cgfs.writes((w) => w.path.includes('cpuset/host/cpuset')), []);
  });

  test('cpuset: an empty parent is skipped for the nearest non-empty one', (t) => {
    const h = fakeV1Host(t, { only: ['cpuset'] });
    fakeMkdirAll(h.mp('cpuset'), 'empty'); // kernel leaves cpus/mems empty
    const m = h.open({ cgroupsPath: '/empty/c' });
    m.create();
    assert.equal(read(path.join(m.paths.cpuset, 'cpuset.cpus')), '0-3');
    assert.equal(read(path.join(m.paths.cpuset, 'cpuset.mems')), '0');
  });

  test('destroy removes exactly the created dirs, deepest first, and is idempotent', (t) => {
    const h = fakeV1Host(t, { only: ['memory', 'pids'] });
    fakeMkdirAll(h.mp('memory'), 'host/sibling');
    const m = h.open({ cgroupsPath: '/host/a/b' });
    m.create();
    h.cgfs.log.length = 0;
    m.destroy();
    assert.deepEqual(h.cgfs.log.map((e) => `${e.op} ${e.path}`), [
      'rmdir cg/memory/host/a/b', 'rmdir cg/pids/host/a/b', 'rmdir cg/unified/host/a/b',
      'rmdir cg/memory/host/a', 'rmdir cg/pids/host/a', 'rmdir cg/unified/host/a', 'rmdir cg/pids/host', 'rmdir cg/unified/host',
    ]);
    assert.ok(fs.existsSync(path.join(h.mp('memory'), 'host/sibling')));
    assert.ok(!fs.existsSync(path.join(h.mp('pids'), 'host')));
    assert.deepEqual(m.created, []);
    m.destroy();
    assert.equal(h.cgfs.log.length, 8);
  });

  test('destroy: a parent dir create made stays while a sibling container lives below it', (t) => {
    const h = fakeV1Host(t, { only: ['memory'] });
    const a = h.open({ cgroupsPath: '/shared/a', id: 'a' });
    a.create();
    const b = h.open({ cgroupsPath: '/shared/b', id: 'b' });
    b.create();
    assert.deepEqual(b.created, [b.paths.memory, b.paths['']]);
    a.destroy();
    assert.ok(fs.existsSync(b.paths.memory), "the sibling's cgroup survives");
    assert.ok(!fs.existsSync(a.paths.memory));
    assert.deepEqual(a.created, []);
    b.destroy();
    assert.ok(fs.existsSync(path.join(h.mp('memory'), 'shared')), 'not ours to remove: b did not create it');
  });

  test('destroy: ENOENT is fine, EBUSY is retried, sub-cgroups made inside ours go too', (t) => {
    const h = fakeV1Host(t, { only: ['memory', 'pids'] });
    const m = h.open();
    m.create();
    fakeMkdirAll(m.paths.memory, 'inner/deeper', h.cgfs); // the container made these
    fs.rmSync(m.paths.pids, { recursive: true }); // someone removed it already
    h.cgfs.fail('rmdir', 'memory/ctr1', 'EBUSY', 2); // tasks still exiting
    m.destroy();
    assert.ok(!fs.existsSync(m.paths.memory));
    assert.deepEqual(m.created, []);
  });

  test('destroy: a cgroup that stays busy fails after the budget, keeps it for a later try', (t) => {
    const h = fakeV1Host(t, { only: ['pids'] });
    const m = h.open({ destroyBudgetMs: 300 });
    m.create();
    h.cgfs.fail('rmdir', 'pids/ctr1', 'EBUSY', 1000);
    const started = Date.now();
    assert.throws(() => m.destroy(), (err) => {
      assert.equal(err.code, 'EBUSY');
      assert.match(err.message, /^destroy cgroup: rmdir ".*pids\/ctr1" \(still busy after 300 ms\): EBUSY$/);
      return true;
    });
    assert.ok(Date.now() - started >= 290);
    assert.ok(h.cgfs.failures[0].times < 1000 - 3, 'retried with backoff');
    assert.deepEqual(m.created, [m.paths.pids]);
    h.cgfs.clearFailures(); // the tasks are gone now
    m.destroy();
    assert.ok(!fs.existsSync(m.paths.pids));
    assert.deepEqual(m.created, []);
  });

  test('create: a failing mkdir undoes the dirs made so far', (t) => {
    const h = fakeV1Host(t, { only: ['memory', 'pids'] });
    h.cgfs.fail('mkdir', 'pids/x/ctr', 'EACCES');
    const m = h.open({ cgroupsPath: '/x/ctr' });
    assert.throws(() => m.create(), /create cgroup: mkdir ".*pids\/x\/ctr": EACCES/);
    assert.ok(!fs.existsSync(path.join(h.mp('memory'), 'x')));
    assert.ok(!fs.existsSync(path.join(h.mp('pids'), 'x')));
    assert.deepEqual(m.created, []);
  });

  test('re-opened from state: paths must lie under fsRoot; created list is honoured', (t) => {
    const h = fakeV1Host(t, { only: ['memory', 'pids'] });
    const m = h.open({ cgroupsPath: '/host/c' });
    m.create();
    const again = cgroupManagerFromPaths(1, m.paths, h.fsRoot, { created: m.created, fs: h.cgfs });
    assert.deepEqual(again.paths, m.paths);
    again.destroy();
    assert.ok(!fs.existsSync(path.join(h.mp('memory'), 'host')));
    assert.throws(() => cgroupManagerFromPaths(1, { memory: '/etc' }, h.fsRoot), /not below/);
    assert.throws(() => cgroupManagerFromPaths(1, { memory: `${h.fsRoot}/memory/../../x` }, h.fsRoot), /not below/);
    assert.throws(() => cgroupManagerFromPaths(1, m.paths, h.fsRoot, { created: [h.mp('cpu')] }), /not one of/);
    assert.throws(() => cgroupManagerFromPaths(2, m.paths, h.fsRoot), /exactly the key ""/);
  });

  test('re-opened without a created list: only the leaf dirs are removed', (t) => {
    const h = fakeV1Host(t, { only: ['memory'] });
    const m = h.open({ cgroupsPath: '/host/c' });
    m.create();
    cgroupManagerFromPaths(1, m.paths, h.fsRoot, { fs: h.cgfs }).destroy();
    assert.ok(!fs.existsSync(m.paths.memory));
    assert.ok(fs.existsSync(path.join(h.mp('memory'), 'host')));
  });
});

describe('cgroups: v1 apply', () => {
  function created(t, opts) {
    const h = fakeV1Host(t, opts);
    const m = h.open();
    m.create();
    h.cgfs.log.length = 0;
    const f = (ctrl, name) => read(path.join(m.paths[ctrl], name));
    return { h, m, f };
  }

  test('memory: every field to its file; kernel memory and useHierarchy are ignored (runc >= 1.1)', (t) => {
    const warnings = [];
    const h = fakeV1Host(t);
    const m = h.open({ warn: (w) => warnings.push(w) });
    m.create();
    const f = (ctrl, name) => read(path.join(m.paths[ctrl], name));
    m.apply({
      memory: {
        limit: 67108864, reservation: 33554432, swap: 134217728, kernel: 50331648, kernelTCP: 16777216,
        swappiness: 10, disableOOMKiller: true, useHierarchy: true,
      },
    });
    assert.equal(f('memory', 'memory.limit_in_bytes'), '67108864');
    assert.equal(f('memory', 'memory.memsw.limit_in_bytes'), '134217728');
    assert.equal(f('memory', 'memory.soft_limit_in_bytes'), '33554432');
    assert.equal(f('memory', 'memory.kmem.limit_in_bytes'), MAX);
    assert.equal(f('memory', 'memory.kmem.tcp.limit_in_bytes'), MAX);
    assert.equal(f('memory', 'memory.swappiness'), '10');
    assert.equal(f('memory', 'memory.oom_control'), '1');
    assert.equal(h.cgfs.writes((w) => w.path.endsWith('memory.use_hierarchy')).length, 0);
    assert.deepEqual(warnings.map((w) => w.split(' ')[1]), ['/linux/resources/memory/kernel', '/linux/resources/memory/kernelTCP']);
  });

  test('memory: memsw goes first when raising, limit first when lowering (kernel keeps limit <= memsw)', (t) => {
    const { h, m, f } = created(t);
    const order = () => h.cgfs.writes((w) => /memory\.(limit|memsw\.limit)_in_bytes$/.test(w.path)).map(([p, d]) => `${path.basename(p)}=${d}`);
    const MiB = 2 ** 20;
    m.apply({ memory: { limit: 256 * MiB, swap: 512 * MiB } }); // from unlimited: lowering
    assert.deepEqual(order(), ['memory.limit_in_bytes=268435456', 'memory.memsw.limit_in_bytes=536870912']);
    h.cgfs.log.length = 0;
    m.apply({ memory: { limit: 1024 * MiB, swap: 2048 * MiB } }); // raising: limit first would exceed memsw
    assert.deepEqual(order(), ['memory.memsw.limit_in_bytes=2147483648', 'memory.limit_in_bytes=1073741824']);
    h.cgfs.log.length = 0;
    m.apply({ memory: { limit: 128 * MiB, swap: 256 * MiB } }); // lowering: memsw first would go below limit
    assert.deepEqual(order(), ['memory.limit_in_bytes=134217728', 'memory.memsw.limit_in_bytes=268435456']);
    h.cgfs.log.length = 0;
    m.apply({ memory: { limit: -1 } }); // unlimited, swap unset: both unlimited, memsw first
    assert.deepEqual(order(), ['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1']);
    assert.equal(f('memory', 'memory.limit_in_bytes'), '-1');
  });

  test('memory: swap below limit, missing memsw and out-of-range swappiness name the field', (t) => {
    const { m, h } = created(t);
    assertConfigError(() => m.apply({ memory: { limit: 100, swap: 50 } }), '/linux/resources/memory/swap', /must be >= limit/);
    assertConfigError(() => m.apply({ memory: { limit: -2 } }), '/linux/resources/memory/limit', /integer >= -1/);
    fs.rmSync(path.join(m.paths.memory, 'memory.memsw.limit_in_bytes'));
    assertConfigError(
      () => m.apply({ memory: { limit: 100 << 20, swap: 200 << 20 } }),
      '/linux/resources/memory/swap',
      /not supported on this host: "memory.memsw.limit_in_bytes" does not exist in ".*memory\/ctr1" \(swap accounting is off/,
    );
    assertConfigError(() => m.apply({ memory: { swappiness: 101 } }), '/linux/resources/memory/swappiness', /0\.\.100/);
    h.cgfs.fail('writeFile', 'memory.soft_limit_in_bytes', 'EINVAL');
    assert.throws(() => m.apply({ memory: { reservation: 5 } }), (err) => {
      assert.equal(err.kind, 'kernel');
      assert.equal(err.code, 'EINVAL');
      assert.equal(err.pointer, '/linux/resources/memory/reservation');
      assert.match(err.message, /^config\.json \/linux\/resources\/memory\/reservation: write "5" to ".*memory\.soft_limit_in_bytes": EINVAL$/);
      return true;
    });
  });

  test('cpu and cpuset: shares, period, quota, burst, realtime, idle, cpus, mems', (t) => {
    const { m, f, h } = created(t);
    m.apply({
      cpu: {
        shares: 512, quota: 50000, period: 100000, burst: 10000, realtimeRuntime: 950000, realtimePeriod: 1000000,
        idle: 1, cpus: '0-1', mems: '0',
      },
    });
    assert.equal(f('cpu', 'cpu.shares'), '512');
    assert.equal(f('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(f('cpu', 'cpu.cfs_period_us'), '100000');
    assert.equal(f('cpu', 'cpu.cfs_burst_us'), '10000');
    assert.equal(f('cpu', 'cpu.rt_runtime_us'), '950000');
    assert.equal(f('cpu', 'cpu.rt_period_us'), '1000000');
    assert.equal(f('cpu', 'cpu.idle'), '1');
    assert.equal(f('cpuset', 'cpuset.cpus'), '0-1');
    assert.equal(f('cpuset', 'cpuset.mems'), '0');
    assert.ok(!fs.existsSync(path.join(m.paths.cpuacct, 'cpu.shares')), 'cpu and cpuacct are separate mounts');
    // period refused while the old quota stands: retried after quota
    h.cgfs.log.length = 0;
    h.cgfs.fail('writeFile', 'cpu.cfs_period_us', 'EINVAL');
    m.apply({ cpu: { quota: 20000, period: 40000 } });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), ['cpu.cfs_quota_us=20000', 'cpu.cfs_period_us=40000']);
  });

  test('cpu: shares the kernel clamps are reported', (t) => {
    const { m, h } = created(t);
    h.cgfs.onRead((p) => (p.endsWith('cpu.shares') ? '262144' : undefined));
    assertConfigError(() => m.apply({ cpu: { shares: 1000000 } }), '/linux/resources/cpu/shares', /clamped 1000000 to 262144/);
  });

  test('pids: limit, negative is max, 0 is not set (runc 1.1.5)', (t) => {
    const { m, f, h } = created(t);
    m.apply({ pids: { limit: 10 } });
    assert.equal(f('pids', 'pids.max'), '10');
    m.apply({ pids: { limit: -1 } });
    assert.equal(f('pids', 'pids.max'), 'max');
    m.apply({ pids: { limit: 7 } });
    m.apply({ pids: { limit: -2 } });
    assert.equal(f('pids', 'pids.max'), 'max');
    h.cgfs.log.length = 0;
    m.apply({ pids: { limit: 0 } });
    m.apply({ pids: {} });
    assert.deepEqual(h.cgfs.writes(), []);
  });

  test('blockIO: weights and every throttle list, one write per device', (t) => {
    const { m, f, h } = created(t);
    m.apply({
      blockIO: {
        weight: 300, leafWeight: 200,
        weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 250 }, { major: 8, minor: 16, weight: 600 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }, { major: 8, minor: 16, rate: 2000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 3000 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 40 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }],
      },
    });
    assert.equal(f('blkio', 'blkio.weight'), '300');
    assert.equal(f('blkio', 'blkio.leaf_weight'), '200');
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), [
      'blkio.weight=300', 'blkio.leaf_weight=200',
      'blkio.weight_device=8:0 500', 'blkio.leaf_weight_device=8:0 250', 'blkio.weight_device=8:16 600',
      'blkio.throttle.read_bps_device=8:0 1000', 'blkio.throttle.read_bps_device=8:16 2000',
      'blkio.throttle.write_bps_device=8:0 3000', 'blkio.throttle.read_iops_device=8:0 40',
      'blkio.throttle.write_iops_device=8:0 50',
    ]);
  });

  test('blockIO: BFQ-only kernels get blkio.bfq.weight; no weight file at all names the field', (t) => {
    const { m, f } = created(t);
    fs.rmSync(path.join(m.paths.blkio, 'blkio.weight'));
    fs.writeFileSync(path.join(m.paths.blkio, 'blkio.bfq.weight'), '100');
    m.apply({ blockIO: { weight: 700 } });
    assert.equal(f('blkio', 'blkio.bfq.weight'), '700');
    fs.rmSync(path.join(m.paths.blkio, 'blkio.bfq.weight'));
    assertConfigError(() => m.apply({ blockIO: { weight: 700 } }), '/linux/resources/blockIO/weight', /"blkio.weight" does not exist/);
  });

  test('devices: a new cgroup goes deny-all, then gets the allowed exceptions, wildcards as *', (t) => {
    const { m, h, f } = created(t);
    m.apply({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
        { allow: true, type: 'b', access: 'm' },
        { allow: false, type: 'c', major: 1, minor: 5, access: 'w' },
      ],
    });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), [
      'devices.deny=a', 'devices.allow=b *:* m', 'devices.allow=c 136:* rw', 'devices.allow=c 1:3 rwm',
    ]);
    assert.equal(f('devices', 'devices.list'), 'b *:* m\nc 136:* rw\nc 1:3 rwm\n');
    assertConfigError(() => m.apply({ devices: [{ allow: true, type: 'a', major: 1, access: 'r' }] }), '/linux/resources/devices/0', /type is "a"/);
  });

  test('devices: rules that only allow leave everything else denied (deny-all is where the rules start)', (t) => {
    const { m, f } = created(t);
    m.apply({ devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.equal(f('devices', 'devices.list'), 'c 1:3 rwm\n');
  });

  test('devices: an update writes only what changes, never "a"; the same rules again write nothing', (t) => {
    const { m, h, f } = created(t);
    const base = [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', access: 'm' }];
    m.apply({ devices: [...base, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 136, access: 'rw' }] });
    h.cgfs.log.length = 0;
    m.apply({ devices: [...base, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }] });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), [
      'devices.deny=c 136:* rw', 'devices.deny=c 1:3 wm', 'devices.allow=c 1:7 rwm',
    ]);
    assert.equal(f('devices', 'devices.list'), 'b *:* m\nc 1:3 r\nc 1:7 rwm\n');
    h.cgfs.log.length = 0;
    m.apply({ devices: [...base, { allow: true, type: 'c', major: 1, minor: 7, access: 'mwr' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rr' }] });
    assert.deepEqual(h.cgfs.writes(), []);
    // to allow-all and back: "a" is the only way, both times
    m.apply({ devices: [{ allow: true, access: 'rwm' }] });
    assert.equal(f('devices', 'devices.list'), 'a *:* rwm\n');
    h.cgfs.log.length = 0;
    m.apply({ devices: [...base] });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), ['devices.deny=a', 'devices.allow=b *:* m']);
  });

  test('devices: a deny inside an earlier wildcard allow is refused naming the rule (v1 would ignore it); the kernel disagreeing is an error', (t) => {
    const { m, h } = created(t);
    assertConfigError(
      () => m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] }),
      '/linux/resources/devices/2', /inside the earlier "c \*:\* m" allow/,
    );
    assert.deepEqual(h.cgfs.writes(), [], 'refused before any write');
    // a deny of bits the wildcard does not have is fine
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    h.cgfs.onRead((p, content) => (p.endsWith('devices.list') && h.cgfs.writes().length > 2 ? '' : content));
    assertConfigError(() => m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, access: 'r' }] }), '/linux/resources/devices', /does not show the rules asked for/);
  });

  test('devices: access as runc reads it: any order, repeats, other characters ignored; empty or none of r, w, m refused', (t) => {
    const { m, f } = created(t);
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 1, access: 'wr' }, { allow: true, type: 'c', major: 4, minor: 2, access: 'rwa' }, { allow: true, type: 'c', major: 4, minor: 3, access: 'mmw' }] });
    assert.equal(f('devices', 'devices.list'), 'c 4:1 rw\nc 4:2 rw\nc 4:3 wm\n');
    assertConfigError(() => m.apply({ devices: [{ allow: true, type: 'c', access: '' }] }), '/linux/resources/devices/0/access', /cannot be empty/);
    assertConfigError(() => m.apply({ devices: [{ allow: true, type: 'c', access: 'RW' }] }), '/linux/resources/devices/0/access', /none of/);
  });

  test('hugepageLimits, network, rdma', (t) => {
    const { m, f } = created(t);
    m.apply({
      hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }, { pageSize: '1GB', limit: 1073741824 }],
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
    });
    assert.equal(f('hugetlb', 'hugetlb.2MB.limit_in_bytes'), '209715200');
    assert.equal(f('hugetlb', 'hugetlb.2MB.rsvd.limit_in_bytes'), '209715200');
    assert.equal(f('hugetlb', 'hugetlb.1GB.limit_in_bytes'), '1073741824');
    assert.equal(f('net_cls', 'net_cls.classid'), '1048577');
    assert.equal(f('net_prio', 'net_prio.ifpriomap'), 'eth0 500');
    assert.equal(f('rdma', 'rdma.max'), 'mlx5_1 hca_handle=3 hca_object=10000');
    assertConfigError(() => m.apply({ hugepageLimits: [{ pageSize: '64KB', limit: 1 }] }), '/linux/resources/hugepageLimits/0', /"hugetlb.64KB.limit_in_bytes" does not exist.*no such huge page size/);
    assertConfigError(() => m.apply({ hugepageLimits: [{ pageSize: '../x', limit: 1 }] }), '/linux/resources/hugepageLimits/0/pageSize');
  });

  test('fields whose controller is not mounted (as hugetlb on this host) and unified name the field', (t) => {
    const { m, h } = created(t, { only: ['memory', 'pids'] });
    assertConfigError(() => m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), '/linux/resources/hugepageLimits/0', /controller "hugetlb" is not mounted/);
    assertConfigError(() => m.apply({ cpu: { shares: 100 } }), '/linux/resources/cpu', /"cpu" is not mounted/);
    assertConfigError(() => m.apply({ network: { classID: 1 } }), '/linux/resources/network/classID', /"net_cls" is not mounted/);
    assertConfigError(() => m.apply({ unified: { 'memory.high': '1' }, pids: { limit: 1 } }), '/linux/resources/unified', /invalid configuration: cannot use unified on cgroup v1/);
    assert.deepEqual(h.cgfs.writes(), [], 'nothing written before the unified check');
    m.apply({ unified: {}, memory: {}, cpu: {} }); // empty parts need nothing
  });
});

describe('cgroups: v1 processes and freezer', () => {
  test('addProcess writes every distinct dir; pids reads pids (and sub-cgroups)', (t) => {
    const h = fakeV1Host(t, { only: ['memory', 'pids', 'freezer'] });
    const m = h.open();
    m.create();
    h.cgfs.log.length = 0;
    m.addProcess(4242);
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${p}=${d}`).sort(), [
      'cg/freezer/ctr1/cgroup.procs=4242', 'cg/memory/ctr1/cgroup.procs=4242', 'cg/pids/ctr1/cgroup.procs=4242',
      'cg/unified/ctr1/cgroup.procs=4242',
    ]);
    fakeMkdirAll(m.paths.pids, 'sub', h.cgfs);
    fs.writeFileSync(path.join(m.paths.pids, 'sub/cgroup.procs'), '17\n');
    assert.deepEqual(m.pids(), [17, 4242]);
    assert.throws(() => m.addProcess(0), /bad pid 0/);
  });

  test('freeze polls until FROZEN, thaw, isFrozen', (t) => {
    const h = fakeV1Host(t, { only: ['freezer'] });
    const m = h.open();
    m.create();
    let freezingReads = 3;
    h.cgfs.onRead((p, c) => (p.endsWith('freezer.state') && c === 'FROZEN' && freezingReads-- > 0 ? 'FREEZING' : undefined));
    assert.equal(m.isFrozen(), false);
    m.freeze();
    assert.equal(freezingReads, -1);
    assert.equal(m.isFrozen(), true);
    assert.ok(h.cgfs.writes().filter(([, d]) => d === 'FROZEN').length >= 4, 'FROZEN written again while polling');
    m.thaw();
    assert.equal(m.isFrozen(), false);
    assert.equal(read(path.join(m.paths.freezer, 'freezer.state')), 'THAWED');
  });

  test('freeze that never completes times out and thaws again', (t) => {
    const h = fakeV1Host(t, { only: ['freezer'] });
    const m = h.open({ freezeTimeoutMs: 100 });
    m.create();
    h.cgfs.onRead((p, c) => (p.endsWith('freezer.state') && c === 'FROZEN' ? 'FREEZING' : undefined));
    assert.throws(() => m.freeze(), (err) => {
      assert.match(err.message, /^freeze: ".*freezer\.state" still FREEZING after 100 ms$/);
      return true;
    });
    assert.equal(read(path.join(m.paths.freezer, 'freezer.state')), 'THAWED');
  });
});

// ---------- v2 ----------

describe('cgroups: docker\'s all-zero resources', () => {
  const devices = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];

  test('v1: only the device rules are written', (t) => {
    const h = fakeV1Host(t);
    const m = h.open();
    m.create();
    h.cgfs.log.length = 0;
    m.apply({ ...dockerZeroResources(), devices });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), ['devices.deny=a', 'devices.allow=c 1:3 rwm']);
  });

  test('v2: nothing is written; the device rules become a program', (t) => {
    const h = fakeV2Host(t);
    const m = h.open();
    m.create();
    h.cgfs.log.length = 0;
    m.apply({ ...dockerZeroResources(), devices });
    assert.deepEqual(h.cgfs.writes(), []);
    assert.equal(h.bpf.attached(m.paths['']).length, 1);
  });
});

describe('cgroups: v2', () => {
  test('paths: absent, absolute, relative to the parent of own cgroup (runc\'s fs2 rule)', (t) => {
    const h = fakeV2Host(t, { own: '/user.slice/tsrun.scope' });
    assert.deepEqual(h.open().paths, { '': path.join(h.fsRoot, 'ctr1') });
    assert.deepEqual(h.open({ cgroupsPath: '/a/b' }).paths, { '': path.join(h.fsRoot, 'a/b') });
    // own cgroup holds tsrun itself: a child of it could get no controllers
    assert.deepEqual(h.open({ cgroupsPath: 'c' }).paths, { '': path.join(h.fsRoot, 'user.slice/c') });
    assert.equal(h.open().version, 2);
    assertConfigError(() => h.open({ cgroupsPath: '../../c' }), '/linux/cgroupsPath');
  });

  test('create enables the available controllers top-down; destroy removes only ours', (t) => {
    const h = fakeV2Host(t);
    const m = h.open({ cgroupsPath: '/tsrun/c1' });
    m.create();
    assert.deepEqual(h.cgfs.log.map((e) => `${e.op} ${e.path}${e.data ? '=' + e.data : ''}`), [
      'mkdir cg/tsrun',
      'mkdir cg/tsrun/c1',
      'write cg/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma',
      'write cg/tsrun/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma',
    ]);
    assert.deepEqual(m.created, [path.join(h.fsRoot, 'tsrun'), path.join(h.fsRoot, 'tsrun/c1')]);
    m.destroy();
    assert.ok(!fs.existsSync(path.join(h.fsRoot, 'tsrun')));
    assert.ok(fs.existsSync(h.fsRoot));
  });

  test('create: controllers refused as a whole are enabled one by one', (t) => {
    const h = fakeV2Host(t, { controllers: 'cpu memory' });
    h.cgfs.fail('writeFile', 'cg/cgroup.subtree_control', 'EBUSY');
    h.open().create();
    assert.deepEqual(h.cgfs.writes(), [['cg/cgroup.subtree_control', '+cpu'], ['cg/cgroup.subtree_control', '+memory']]);
    assert.equal(read(path.join(h.fsRoot, 'cgroup.subtree_control')), 'cpu memory\n');
  });

  test('create: a nested path gets every missing ancestor, each handing on the controllers', (t) => {
    const h = fakeV2Host(t, { controllers: 'cpu memory pids' });
    const m = h.open({ cgroupsPath: '/a/b/c/ctr' });
    m.create({ memory: { limit: 1 << 20 } });
    assert.deepEqual(m.created.map((d) => path.relative(h.fsRoot, d)), ['a', 'a/b', 'a/b/c', 'a/b/c/ctr']);
    for (const d of ['', 'a', 'a/b', 'a/b/c']) assert.equal(read(path.join(h.fsRoot, d, 'cgroup.subtree_control')), 'cpu memory pids\n', d || 'root');
    m.apply({ memory: { limit: 1 << 20 } });
    assert.equal(read(path.join(m.paths[''], 'memory.max')), String(1 << 20));
  });

  test('create: an ancestor holding processes is an error naming it when the resources need a controller; nothing is left', (t) => {
    const h = fakeV2Host(t, { controllers: 'cpu memory pids' });
    fakeMkdirAll(h.fsRoot, 'busy', h.cgfs);
    fs.writeFileSync(path.join(h.fsRoot, 'cgroup.subtree_control'), 'cpu memory pids\n');
    fs.writeFileSync(path.join(h.fsRoot, 'busy', 'cgroup.procs'), '4242\n');
    const m = h.open({ cgroupsPath: '/busy/x/ctr' });
    assert.throws(() => m.create({ pids: { limit: 10 } }), (err) => {
      assert.equal(err.pointer, '/linux/cgroupsPath');
      assert.match(err.message, /cannot enable the "pids" controller .*busy\/cgroup\.subtree_control": it holds processes \(4242\)/);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(h.fsRoot, 'busy', 'x')), 'the dirs it made are gone');
    // what the resources do not need is no reason to fail (runc ignores it too)
    const m2 = h.open({ cgroupsPath: '/busy/y/ctr' });
    m2.create({ cpu: { shares: 0 }, pids: { limit: 0 } });
    assert.ok(fs.existsSync(m2.paths['']));
    m2.destroy();
  });

  function created(t, opts) {
    const h = fakeV2Host(t, opts);
    const m = h.open();
    m.create();
    h.cgfs.log.length = 0;
    const f = (name) => read(path.join(m.paths[''], name));
    return { h, m, f };
  }

  test('memory: max, low, swap.max = swap - limit, -1 is max', (t) => {
    const { m, f } = created(t);
    m.apply({ memory: { limit: 100 << 20, reservation: 50 << 20, swap: 300 << 20 } });
    assert.equal(f('memory.max'), String(100 << 20));
    assert.equal(f('memory.low'), String(50 << 20));
    assert.equal(f('memory.swap.max'), String(200 << 20));
    m.apply({ memory: { limit: -1 } });
    assert.equal(f('memory.max'), 'max');
    assert.equal(f('memory.swap.max'), 'max');
    m.apply({ memory: { limit: 100, swap: 100 } });
    assert.equal(f('memory.swap.max'), '0');
    m.apply({ memory: { limit: 100, swap: -1, kernel: -1 } });
    assert.equal(f('memory.swap.max'), 'max');
  });

  test('memory: swap without limit is refused; v1-only fields are ignored with a warning (runc ignores them)', (t) => {
    const warnings = [];
    const h = fakeV2Host(t);
    const m = h.open({ warn: (w) => warnings.push(w) });
    m.create();
    h.cgfs.log.length = 0;
    assertConfigError(() => m.apply({ memory: { swap: 100 } }), '/linux/resources/memory/swap', /needs memory.limit/);
    assertConfigError(() => m.apply({ memory: { limit: 200, swap: 100 } }), '/linux/resources/memory/swap', /must be >= limit/);
    m.apply({ memory: { swappiness: 0, disableOOMKiller: true, kernel: 1000, kernelTCP: -1, useHierarchy: false } });
    m.apply({ memory: { disableOOMKiller: false, useHierarchy: true, kernel: 0 } });
    assert.deepEqual(h.cgfs.writes(), []);
    assert.deepEqual(warnings.map((w) => w.split(' ')[1]), [
      '/linux/resources/memory/kernel', '/linux/resources/memory/useHierarchy', '/linux/resources/memory/swappiness', '/linux/resources/memory/disableOOMKiller',
    ]);
    // the newest runc: unlimited memory takes swap as it is
    m.apply({ memory: { limit: -1, swap: 1000 } });
    assert.equal(read(path.join(m.paths[''], 'memory.swap.max')), '1000');
  });

  test('memory: checkBeforeUpdate refuses a limit under current usage', (t) => {
    const { m, f } = created(t);
    fs.writeFileSync(path.join(m.paths[''], 'memory.current'), '5000\n');
    assertConfigError(() => m.apply({ memory: { limit: 4096, checkBeforeUpdate: true } }), '/linux/resources/memory/limit', /not above current usage 5000/);
    assertConfigError(() => m.apply({ memory: { limit: 5000, checkBeforeUpdate: true } }), '/linux/resources/memory/limit', /not above current usage 5000/);
    m.apply({ memory: { limit: 8192, checkBeforeUpdate: true } });
    assert.equal(f('memory.max'), '8192');
    // best effort, as runc: no memory.current, no check
    fs.rmSync(path.join(m.paths[''], 'memory.current'));
    m.apply({ memory: { limit: 1024, checkBeforeUpdate: true } });
    assert.equal(f('memory.max'), '1024');
  });

  test('memory: swap files missing (no swap accounting) are fine for max/0, an error otherwise', (t) => {
    const { m } = created(t);
    fs.rmSync(path.join(m.paths[''], 'memory.swap.max'));
    m.apply({ memory: { limit: -1 } });
    m.apply({ memory: { limit: 100, swap: 100 } });
    assertConfigError(() => m.apply({ memory: { limit: 100, swap: 200 } }), '/linux/resources/memory/swap', /"memory.swap.max" does not exist/);
  });

  test('cpu: weight from shares (runc >= 1.3.2), cpu.max, burst, idle, cpuset; realtime ignored', (t) => {
    const warnings = [];
    const h = fakeV2Host(t);
    const m = h.open({ warn: (w) => warnings.push(w) });
    m.create();
    const f = (name) => read(path.join(m.paths[''], name));
    assert.deepEqual([2, 3, 512, 1024, 2048, 262144, 1000000].map(sharesToWeight), [1, 2, 59, 100, 174, 10000, 10000]);
    m.apply({ cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0-1', mems: '0' } });
    assert.equal(f('cpu.weight'), '100');
    assert.equal(f('cpu.max'), '50000 100000');
    assert.equal(f('cpu.max.burst'), '1000');
    assert.equal(f('cpu.idle'), '0');
    assert.equal(f('cpuset.cpus'), '0-1');
    assert.equal(f('cpuset.mems'), '0');
    m.apply({ cpu: { quota: -1, period: 200000 } });
    assert.equal(f('cpu.max'), 'max 200000');
    m.apply({ cpu: { quota: 30000 } });
    assert.equal(f('cpu.max'), '30000 100000', 'the default period, as runc');
    m.apply({ cpu: { period: 50000 } });
    assert.equal(f('cpu.max'), 'max 50000');
    // idle: no weight (the kernel refuses it)
    h.cgfs.log.length = 0;
    m.apply({ cpu: { shares: 2048, idle: 1 } });
    assert.deepEqual(h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`), ['cpu.idle=1']);
    // 0 for a file this kernel lacks is no error
    fs.rmSync(path.join(m.paths[''], 'cpu.idle'));
    fs.rmSync(path.join(m.paths[''], 'cpu.max.burst'));
    m.apply({ cpu: { idle: 0, burst: 0 } });
    assertConfigError(() => m.apply({ cpu: { burst: 5 } }), '/linux/resources/cpu/burst', /does not exist/);
    m.apply({ cpu: { realtimeRuntime: 1, realtimePeriod: 0 } });
    assert.deepEqual(warnings.map((w) => w.split(' ')[1]), ['/linux/resources/cpu/realtimeRuntime']);
  });

  test('pids, io, hugetlb, rdma', (t) => {
    const { m, f, h } = created(t);
    m.apply({
      pids: { limit: 3 },
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 1000 }, { major: 8, minor: 32, weight: 0 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 200 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      rdma: { mlx4_0: { hcaObjects: 1000 } },
    });
    assert.equal(f('pids.max'), '3');
    assert.equal(blkioToIOWeight(500), 4950);
    // a rate of 0 is skipped (io.max refuses it), as the newest runc
    assert.deepEqual(h.cgfs.writes((w) => w.path.startsWith('cg/ctr1/io.')).map(([p, d]) => `${path.basename(p)}=${d}`), [
      'io.weight=4950', 'io.weight=8:0 10000', 'io.max=8:0 rbps=1048576', 'io.max=8:16 riops=100', 'io.max=8:16 wiops=200',
    ]);
    assert.equal(f('hugetlb.2MB.max'), '4194304');
    assert.equal(f('hugetlb.2MB.rsvd.max'), '4194304');
    assert.equal(f('rdma.max'), 'mlx4_0 hca_object=1000');
    m.apply({ pids: { limit: -1 } });
    assert.equal(f('pids.max'), 'max');
    h.cgfs.log.length = 0;
    m.apply({ pids: { limit: 0 }, blockIO: { leafWeight: 10 }, network: { classID: 1, priorities: [] } });
    assert.deepEqual(h.cgfs.writes(), [], 'pids 0 is not set; leafWeight and net_cls have no v2 file');
  });

  test('devices: the rules become one attached program; a new one goes on before the old comes off', (t) => {
    const { h, m } = created(t);
    const dir = m.paths[''];
    const allowed = (id, req) => run(decode(h.bpf.programs.get(id)), { type: 2, ...req }) === 1;
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }] });
    assert.deepEqual(h.bpf.log, ['list cg/ctr1', 'attach cg/ctr1 100']);
    assert.deepEqual(h.bpf.attached(dir), [100]);
    assert.equal(allowed(100, { major: 1, minor: 3, access: 2 }), true, '/dev/null read');
    assert.equal(allowed(100, { major: 1, minor: 5, access: 2 }), false, '/dev/zero read');
    assert.deepEqual(h.cgfs.writes(), [], 'no files: v2 has no devices.allow');

    h.bpf.log.length = 0;
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }] });
    assert.deepEqual(h.bpf.log, ['list cg/ctr1', 'attach cg/ctr1 101', 'detach cg/ctr1 100']);
    assert.deepEqual(h.bpf.attached(dir), [101]);
    assert.equal(allowed(101, { major: 1, minor: 5, access: 2 }), true);

    h.bpf.log.length = 0;
    m.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, access: 'rwm' }] });
    assert.deepEqual(h.bpf.log, ['list cg/ctr1', 'detach cg/ctr1 101'], 'allowing everything needs no program');
    assert.deepEqual(h.bpf.attached(dir), []);

    h.bpf.log.length = 0;
    m.apply({ memory: { limit: 1 << 20 } });
    assert.deepEqual(h.bpf.log, [], 'no devices field: the filter is left as it is');
  });

  test('devices: a refused attach keeps the old program and names the field; bad rules fail before any bpf call', (t) => {
    const { h, m } = created(t);
    const dir = m.paths[''];
    m.apply({ devices: [{ allow: false, access: 'rwm' }] });
    h.bpf.fail('attachDeviceProgram', 'EPERM');
    assert.throws(() => m.apply({ devices: [{ allow: true, type: 'c', major: 1, minor: 3 }] }), (err) => {
      assert.equal(err.pointer, '/linux/resources/devices');
      assert.equal(err.kind, 'kernel');
      assert.equal(err.code, 'EPERM');
      assert.match(err.message, /^config\.json \/linux\/resources\/devices: .*EPERM/);
      return true;
    });
    assert.deepEqual(h.bpf.attached(dir), [100], 'never without a filter');
    h.bpf.log.length = 0;
    assertConfigError(() => m.apply({ devices: [{ allow: true, type: 'c', access: 'x' }] }), '/linux/resources/devices/0/access');
    assertConfigError(() => m.apply({ devices: [{ allow: true, type: 'u' }] }), '/linux/resources/devices/0/type');
    assert.deepEqual(h.bpf.log, []);
  });

  test('unified: written last, keys with / or .. refused, missing controller explained', (t) => {
    const { m, f, h } = created(t);
    m.apply({ pids: { limit: 5 }, unified: { 'pids.max': '7', 'memory.oom.group': '1' } });
    assert.equal(f('pids.max'), '7');
    assert.equal(f('memory.oom.group'), '1');
    assert.deepEqual(h.cgfs.writes().map(([p]) => path.basename(p)), ['pids.max', 'pids.max', 'memory.oom.group']);
    assertConfigError(() => m.apply({ unified: { '../cgroup.procs': '1' } }), '/linux/resources/unified/..~1cgroup.procs', /not a file name/);
    assertConfigError(() => m.apply({ unified: { 'a..b': '1' } }), '/linux/resources/unified/a..b');
    assertConfigError(() => m.apply({ unified: { 'misc.max': 'x 1' } }), '/linux/resources/unified/misc.max', /controller "misc" is not enabled/);
    h.cgfs.log.length = 0;
    m.apply({ unified: { 'io.max': '8:0 rbps=1\n8:16 wbps=2\n' } });
    assert.deepEqual(h.cgfs.writes().map(([, d]) => d), ['8:0 rbps=1', '8:16 wbps=2'], 'one write per line, as runc');
  });

  const basenames = (h) => h.cgfs.writes().map(([p, d]) => `${path.basename(p)}=${d}`);

  test('cpu: a burst refused (EINVAL) before the new quota goes again after cpu.max; without a quota the refusal is the error', (t) => {
    const { m, h } = created(t);
    h.cgfs.fail('writeFile', 'cpu.max.burst', 'EINVAL');
    m.apply({ cpu: { quota: 20000, burst: 10000 } });
    assert.deepEqual(basenames(h), ['cpu.max=20000 100000', 'cpu.max.burst=10000']);
    h.cgfs.fail('writeFile', 'cpu.max.burst', 'EINVAL');
    assert.throws(() => m.apply({ cpu: { period: 50000, burst: 20000 } }), (err) => {
      assert.equal(err.pointer, '/linux/resources/cpu/burst');
      assert.equal(err.code, 'EINVAL');
      return true;
    });
  });

  test('io on BFQ: blkio-style weights go to io.bfq.weight unconverted, per device as "M:m w"', (t) => {
    const { m, h } = created(t);
    fs.writeFileSync(path.join(m.paths[''], 'io.bfq.weight'), 'default 100\n');
    m.apply({ blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 700 }, { major: 8, minor: 16, weight: 0 }] } });
    assert.deepEqual(basenames(h), ['io.bfq.weight=300', 'io.bfq.weight=8:0 700']);
  });

  test('hugetlb: a limit of 0 is written; .rsvd.max only for the sizes that have it', (t) => {
    const { m, h } = created(t);
    m.apply({ hugepageLimits: [{ pageSize: '1GB', limit: 0 }, { pageSize: '2MB', limit: 0 }] });
    assert.deepEqual(basenames(h), ['hugetlb.1GB.max=0', 'hugetlb.2MB.max=0', 'hugetlb.2MB.rsvd.max=0']);
  });

  test('unified: memory.high and misc.max, which have no spec field, are written after the fields, as runc', (t) => {
    const { m, h, f } = created(t, { controllers: 'cpuset cpu io memory hugetlb pids rdma misc' });
    fs.writeFileSync(path.join(m.paths[''], 'memory.high'), 'max\n');
    fs.writeFileSync(path.join(m.paths[''], 'misc.max'), 'sev max\n');
    m.apply({ memory: { limit: 1 << 30 }, unified: { 'memory.high': String(512 << 20), 'misc.max': 'sev 4' } });
    assert.deepEqual(basenames(h), [`memory.max=${1 << 30}`, `memory.high=${512 << 20}`, 'misc.max=sev 4']);
    assert.equal(f('memory.high'), String(512 << 20));
  });

  test('freeze: a cgroup that never says "frozen 1" times out, is thawed again, the error names cgroup.events', (t) => {
    const h = fakeV2Host(t);
    const m = h.open({ freezeTimeoutMs: 100 });
    m.create();
    h.cgfs.onRead((p, c) => (p.endsWith('cgroup.events') ? c.replace('frozen 1', 'frozen 0') : undefined));
    assert.throws(() => m.freeze(), (err) => {
      assert.match(err.message, /^freeze: ".*ctr1\/cgroup\.events" does not say "frozen 1" after 100 ms$/);
      return true;
    });
    assert.equal(read(path.join(m.paths[''], 'cgroup.freeze')), '0');
  });

  test('destroy: EBUSY while the last processes exit is retried', (t) => {
    const { m, h } = created(t);
    h.cgfs.fail('rmdir', 'cg/ctr1', 'EBUSY', 3);
    m.destroy();
    assert.ok(!fs.existsSync(m.paths['']));
    assert.equal(h.cgfs.failures[0].times, 0, 'every EBUSY was met');
    assert.deepEqual(m.created, []);
  });

  test('killAll: cgroup.kill where the kernel has it, false where not (v1 never)', (t) => {
    const { m, h } = created(t);
    assert.equal(m.killAll(), false);
    fs.writeFileSync(path.join(m.paths[''], 'cgroup.kill'), '');
    assert.equal(m.killAll(), true);
    assert.deepEqual(h.cgfs.writes(), [['cg/ctr1/cgroup.kill', '1']]);
    assert.equal(fakeV1Host(t).open().killAll(), false);
  });

  test('freeze, thaw, isFrozen via cgroup.freeze and cgroup.events', (t) => {
    const { m, h } = created(t);
    let notYet = 2;
    h.cgfs.onRead((p, c) => (p.endsWith('cgroup.events') && c.includes('frozen 1') && notYet-- > 0 ? 'populated 1\nfrozen 0\n' : undefined));
    assert.equal(m.isFrozen(), false);
    m.freeze();
    assert.equal(m.isFrozen(), true);
    assert.deepEqual(h.cgfs.writes(), [['cg/ctr1/cgroup.freeze', '1']]);
    m.thaw();
    assert.equal(m.isFrozen(), false);
  });

  test('addProcess and pids', (t) => {
    const { m, h } = created(t);
    m.addProcess(99);
    m.addProcess(100);
    assert.deepEqual(h.cgfs.writes(), [['cg/ctr1/cgroup.procs', '99'], ['cg/ctr1/cgroup.procs', '100']]);
    assert.deepEqual(m.pids(), [99, 100]);
  });

  test('re-open from paths', (t) => {
    const { m, h } = created(t);
    const again = cgroupManagerFromPaths(2, m.paths, h.fsRoot, { created: m.created, fs: h.cgfs });
    assert.equal(again.version, 2);
    again.destroy();
    assert.ok(!fs.existsSync(m.paths['']));
  });
});

// ---------- the real host ----------

const isRoot = process.getuid?.() === 0;
const hasV1Memory = fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');

test('cgroups: real v1 host: create, limit, add a process, freeze, destroy leaves nothing', {
  skip: !isRoot ? 'needs root' : !hasV1Memory ? 'needs cgroup v1 memory at /sys/fs/cgroup/memory' : false,
}, async () => {
  const name = `tsrun-test-cg-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const m = openCgroupManager({ id: name });
  assert.equal(m.version, 1);
  let child;
  try {
    m.create();
    assert.equal(m.paths.memory, `/sys/fs/cgroup/memory/${name}`);
    for (const d of new Set(Object.values(m.paths))) assert.ok(fs.existsSync(d), d);
    m.apply({ memory: { limit: 64 << 20 }, pids: { limit: 10 } });
    assert.equal(read(`${m.paths.memory}/memory.limit_in_bytes`).trim(), String(64 << 20));
    assert.equal(read(`${m.paths.pids}/pids.max`).trim(), '10');
    child = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    m.addProcess(child.pid);
    assert.deepEqual(read(`${m.paths.memory}/cgroup.procs`).trim().split('\n').map(Number), [child.pid]);
    assert.deepEqual(m.pids(), [child.pid]);
    const ownCgroup = read(`/proc/${child.pid}/cgroup`);
    assert.match(ownCgroup, new RegExp(`:memory:/${name}\\n`));
    if (m.paths.freezer) {
      m.freeze();
      assert.equal(m.isFrozen(), true);
      m.thaw();
      assert.equal(m.isFrozen(), false);
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    m.destroy();
    for (const d of new Set(Object.values(m.paths))) assert.ok(!fs.existsSync(d), `left behind: ${d}`);
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    try {
      m.destroy();
    } catch {
      // reported by the assertions above; the loop below is the last resort
    }
    for (const d of new Set(Object.values(m.paths))) {
      if (fs.existsSync(d)) {
        try {
          fs.rmdirSync(d);
        } catch {
          // nothing more to do without touching others' cgroups
        }
      }
    }
  }
});
