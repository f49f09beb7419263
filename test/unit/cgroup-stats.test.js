// Stats for `events` from temp trees shaped like cgroupfs (v1 hierarchies, a v2 directory), runc's
// JSON (bigints as numbers, omitempty, key order), the v2 OOM counter watch and Go durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cgroupManagerFromPaths, toJson } from '../../dist/cgroups/index.js';
import { watchOomV2 } from '../../dist/cgroups/oom.js';
import { parseDuration } from '../../dist/lifecycle/events.js';
import { parseNetDev } from '../../dist/lifecycle/net-stats.js';
import { native } from '../../dist/native.js';

function tree(t, files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cgstats-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return root;
}

const U64_MAX = '18446744073709551615';

test('stats v1: cpuacct, cpu.stat, cpuset, memory (memsw, kmem), pids, blkio, hugetlb in runc\'s shape', (t) => {
  const root = tree(t, {
    'cpuacct/c/cpuacct.usage': '3000\n',
    'cpuacct/c/cpuacct.usage_percpu': '1000 2000 \n',
    'cpuacct/c/cpuacct.usage_all': 'cpu user system\n0 600 400\n1 1500 500\n',
    'cpuacct/c/cpuacct.stat': 'user 3\nsystem 2\n',
    'cpu/c/cpu.stat': 'nr_periods 10\nnr_throttled 0\nthrottled_time 5000\n',
    'cpuset/c/cpuset.cpus': '0-1,3\n', 'cpuset/c/cpuset.mems': '0\n', 'cpuset/c/cpuset.sched_load_balance': '1\n',
    'cpuset/c/cpuset.sched_relax_domain_level': '-1\n',
    'memory/c/memory.stat': 'rss 4096\ncache 8192\n',
    'memory/c/memory.usage_in_bytes': '12288\n', 'memory/c/memory.max_usage_in_bytes': '20480\n',
    'memory/c/memory.failcnt': '2\n', 'memory/c/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/c/memory.kmem.usage_in_bytes': '100\n', 'memory/c/memory.kmem.max_usage_in_bytes': '0\n',
    'memory/c/memory.kmem.failcnt': '0\n', 'memory/c/memory.kmem.limit_in_bytes': '9223372036854771712\n',
    'pids/c/pids.current': '3\n', 'pids/c/pids.max': 'max\n',
    'blkio/c/blkio.bfq.io_serviced_recursive': 'Total 0\n',
    'blkio/c/blkio.throttle.io_serviced_recursive': '8:0 Read 5\n8:0 Write 7\nTotal 12\n',
    'blkio/c/blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\nTotal 4096\n',
    'hugetlb/c/hugetlb.2MB.usage_in_bytes': '0\n', 'hugetlb/c/hugetlb.2MB.max_usage_in_bytes': '2097152\n', 'hugetlb/c/hugetlb.2MB.failcnt': '1\n',
  });
  const ctl = ['cpuacct', 'cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb'];
  const m = cgroupManagerFromPaths(1, Object.fromEntries(ctl.map((c) => [c, path.join(root, c, 'c')])), root);
  const s = JSON.parse(toJson(m.stats(['1GB', '2MB'])));
  assert.deepEqual(s.cpu, {
    usage: { total: 3000, percpu: [1000, 2000], percpu_kernel: [400, 500], percpu_user: [600, 1500], kernel: 20_000_000, user: 30_000_000 },
    throttling: { periods: 10, throttledTime: 5000 },
  });
  assert.deepEqual(s.cpuset.cpus, [0, 1, 3]);
  assert.equal(s.cpuset.sched_relax_domain_level, -1);
  assert.equal(s.cpuset.cpu_exclusive, 0);
  assert.equal(s.memory.cache, 8192);
  assert.deepEqual(s.memory.usage, { limit: 9223372036854771712, usage: 12288, max: 20480, failcnt: 2 });
  assert.deepEqual(s.memory.swap, { limit: 0, failcnt: 0 }, 'no memsw files: swap accounting off');
  assert.deepEqual(s.memory.kernel, { limit: 9223372036854771712, usage: 100, failcnt: 0 });
  assert.deepEqual(Object.keys(s.memory.raw), ['cache', 'rss'], 'sorted, as Go writes maps');
  assert.deepEqual(s.pids, { current: 3 }, 'pids.max "max" is limit 0, omitted');
  assert.deepEqual(s.blkio, {
    ioServiceBytesRecursive: [{ major: 8, op: 'Read', value: 4096 }],
    ioServicedRecursive: [{ major: 8, op: 'Read', value: 5 }, { major: 8, op: 'Write', value: 7 }],
  }, 'BFQ files without entries: the throttle group');
  assert.deepEqual(s.hugetlb, { '2MB': { max: 2097152, failcnt: 1 } });
  assert.deepEqual(s.intel_rdt, {});
  assert.equal(s.network_interfaces, null);
  assert.deepEqual(Object.keys(s), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
});

test('stats v2: cpu.stat in ns, memory with swap as memory+swap, pids, io.stat, hugetlb, pressure', (t) => {
  const root = tree(t, {
    'c/cpu.stat': 'usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
    'c/cpu.pressure': 'some avg10=1.50 avg60=0.00 avg300=0.00 total=77\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n',
    'c/memory.stat': 'anon 4096\nfile 8192\n', 'c/memory.current': '12288\n', 'c/memory.max': '16777216\n', 'c/memory.peak': '20000\n',
    'c/memory.swap.current': '100\n', 'c/memory.swap.max': 'max\n',
    'c/pids.current': '2\n', 'c/pids.max': '50\n',
    'c/io.stat': '8:16 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
    'c/hugetlb.2MB.current': '0\n', 'c/hugetlb.2MB.events': 'max 3\n',
  });
  const m = cgroupManagerFromPaths(2, { '': path.join(root, 'c') }, root);
  const s = JSON.parse(toJson(m.stats(['2MB'])));
  assert.deepEqual(s.cpu.usage, { total: 10_000, kernel: 4000, user: 6000 });
  assert.deepEqual(s.cpu.psi, { some: { avg10: 1.5, avg60: 0, avg300: 0, total: 77 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 5 } });
  assert.equal(s.memory.cache, 8192);
  assert.deepEqual(s.memory.usage, { limit: 16777216, usage: 12288, max: 20000, failcnt: 0 });
  assert.deepEqual(s.memory.swap, { limit: Number(U64_MAX), usage: 12388, failcnt: 0 });
  assert.match(toJson(m.stats([])), new RegExp(`"swap":\\{"limit":${U64_MAX},`), 'u64 max written exactly');
  assert.deepEqual(s.pids, { current: 2, limit: 50 });
  assert.deepEqual(s.blkio, {
    ioServiceBytesRecursive: [{ major: 8, minor: 16, op: 'Read', value: 4096 }, { major: 8, minor: 16, op: 'Write' }],
    ioServicedRecursive: [{ major: 8, minor: 16, op: 'Read', value: 1 }, { major: 8, minor: 16, op: 'Write' }],
  });
  assert.deepEqual(s.hugetlb, { '2MB': { failcnt: 3 } });
  // without the pids and memory controllers
  for (const f of ['pids.current', 'pids.max', 'memory.stat']) fs.rmSync(path.join(root, 'c', f));
  fs.writeFileSync(path.join(root, 'c', 'cgroup.procs'), '10\n11\n12\n');
  const s2 = JSON.parse(toJson(m.stats([])));
  assert.deepEqual(s2.pids, { current: 3 });
  assert.deepEqual(s2.memory.usage, { limit: 0, failcnt: 0 });
});

test('toJson: bigints as numbers, undefined left out, strings untouched', () => {
  assert.equal(toJson({ a: 18446744073709551615n, b: undefined, c: ['\u0000x', 1n] }), '{"a":18446744073709551615,"c":["\\u0000x",1]}');
});

test('oom v2: one call per oom_kill the counter gains, seen through inotify', async (t) => {
  const dir = tree(t, { 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\n' });
  let n = 0;
  const w = watchOomV2(dir, () => n++);
  t.after(() => w.close());
  fs.writeFileSync(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 3\n');
  for (let i = 0; i < 50 && n < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(n, 2, 'kills before the watch started do not count');
  w.check();
  assert.equal(n, 2);
});

test('addon eventfd (v1 OOM notifications): a close-on-exec fd whose read gives the counter and resets it', () => {
  const fd = native.eventfd();
  try {
    assert.ok(Number.isInteger(fd) && fd > 2);
    const two = Buffer.alloc(8);
    two.writeBigUInt64LE(2n);
    fs.writeSync(fd, two);
    fs.writeSync(fd, two);
    const buf = Buffer.alloc(8);
    assert.equal(fs.readSync(fd, buf, 0, 8, null), 8);
    assert.equal(buf.readBigUInt64LE(), 4n);
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1];
    assert.ok(parseInt(flags, 8) & 0o2000000, `O_CLOEXEC in ${flags}`);
  } finally {
    fs.closeSync(fd);
  }
});

test('parseDuration: Go durations; nonsense is a usage error', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '5', 's', '5x', '-1s']) assert.throws(() => parseDuration(bad), (e) => e.kind === 'usage', bad);
});

test('parseNetDev: the container\'s interfaces, loopback left out, runc\'s Go field names', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
    '  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0       0          0',
  ].join('\n');
  assert.deepEqual(parseNetDev(text), [{
    Name: 'eth0', RxBytes: 2000n, RxPackets: 20n, RxErrors: 1n, RxDropped: 2n, TxBytes: 3000n, TxPackets: 30n, TxErrors: 3n, TxDropped: 4n,
  }]);
});
