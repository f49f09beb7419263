// device filter: the eBPF program compiled from linux.resources.devices is decoded and run by a small
// interpreter (test/helpers/bpf-interpreter.js) on (type, major, minor, access) requests, and every
// verdict is checked against a plain reading of the rules: the last matching rule wins, none means deny.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileDeviceFilter, effectiveDeviceRules, BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE,
  BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR,
} from '../../dist/cgroups/device-filter.js';
import { cgroupResources } from '../../dist/bundle/device-policy.js';
import { checkReachable, decode, disassemble, run } from '../helpers/bpf-interpreter.js';

const BITS = { r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE, m: BPF_DEVCG_ACC_MKNOD };
const bits = (access) => [...access].reduce((n, c) => n | BITS[c], 0);
const ACCESSES = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'];

/** The rules as a person reads them. */
function reference(rules, req) {
  let allow = false;
  for (const r of rules) {
    const type = r.type ?? 'a';
    if (type !== 'a' && type !== req.type) continue;
    if (r.major !== undefined && r.major >= 0 && r.major !== req.major) continue;
    if (r.minor !== undefined && r.minor >= 0 && r.minor !== req.minor) continue;
    const ruleBits = bits(r.access ?? 'rwm');
    const reqBits = bits(req.access);
    // allow: grants every requested bit; deny: names any of them
    if (r.allow ? (reqBits & ~ruleBits) !== 0 : (reqBits & ruleBits) === 0) continue;
    allow = r.allow;
  }
  return allow;
}

function verdict(filter, req) {
  const insns = decode(filter.program);
  const r0 = run(insns, {
    type: req.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
    access: bits(req.access),
    major: req.major,
    minor: req.minor,
  });
  return r0 === 1;
}

/** Every type × the rules' numbers (and others) × every access, against the reference. */
function checkAll(rules, { majors = [], minors = [] } = {}) {
  const filter = compileDeviceFilter(rules);
  const insns = decode(filter.program);
  checkReachable(insns);
  const nums = (key, extra) => [...new Set([...rules.map((r) => r[key]).filter((n) => n !== undefined && n >= 0), ...extra, 0, 7, 4242])];
  for (const type of ['c', 'b']) {
    for (const major of nums('major', majors)) {
      for (const minor of nums('minor', minors)) {
        for (const access of ACCESSES) {
          const req = { type, major, minor, access };
          const want = reference(rules, req);
          const got = verdict(filter, req);
          if (got !== want) {
            assert.fail(`${JSON.stringify(req)}: program says ${got ? 'allow' : 'deny'}, rules say ${want ? 'allow' : 'deny'}\n` +
              `rules: ${JSON.stringify(rules)}\nprogram:\n${disassemble(insns)}`);
          }
        }
      }
    }
  }
  return filter;
}

const c = (major, minor, access, allow = true) => ({ allow, type: 'c', major, minor, access });
const b = (major, minor, access, allow = true) => ({ allow, type: 'b', major, minor, access });

test('device filter: no rules denies everything, in two instructions', () => {
  const f = checkAll([]);
  assert.equal(decode(f.program).length, 2);
  assert.equal(f.allowsAll, false);
});

test('device filter: allow-all alone allows everything and needs no program', () => {
  const f = checkAll([{ allow: true, access: 'rwm' }]);
  assert.equal(f.allowsAll, true);
  assert.equal(decode(f.program).length, 2);
  assert.equal(checkAll([{ allow: true, type: 'a' }]).allowsAll, true, 'access and type absent mean a rwm');
  assert.equal(checkAll([{ allow: true, type: 'a', major: -1, minor: -1, access: 'mwr' }]).allowsAll, true);
});

test('device filter: allow-all then denies', () => {
  const f = checkAll([{ allow: true, access: 'rwm' }, c(1, 3, 'rwm', false), b(8, undefined, 'w', false), c(5, undefined, 'm', false)]);
  assert.equal(f.allowsAll, false);
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 3, access: 'r' }), false);
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 5, access: 'rw' }), true);
  assert.equal(verdict(f, { type: 'b', major: 8, minor: 1, access: 'r' }), true);
  assert.equal(verdict(f, { type: 'b', major: 8, minor: 1, access: 'rw' }), false, 'deny w stops O_RDWR too');
  assert.equal(verdict(f, { type: 'c', major: 5, minor: 1, access: 'm' }), false);
  assert.equal(verdict(f, { type: 'c', major: 5, minor: 1, access: 'rw' }), true);
});

test('device filter: deny-all then allows, the last match wins both ways', () => {
  checkAll([{ allow: false, access: 'rwm' }, c(1, 3, 'rwm'), c(1, 3, 'w', false), c(1, 3, 'w'), c(1, 5, 'rw'), c(1, 5, 'r', false)]);
  const f = checkAll([{ allow: false, access: 'rwm' }, c(1, undefined, 'rwm'), c(1, 3, 'rwm', false)]);
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 3, access: 'r' }), false, 'a later deny punches a hole in an earlier wildcard');
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 4, access: 'r' }), true);
  const g = checkAll([{ allow: false, access: 'rwm' }, c(1, 3, 'rwm', false), c(1, undefined, 'rwm')]);
  assert.equal(verdict(g, { type: 'c', major: 1, minor: 3, access: 'r' }), true, 'a later wildcard allow overrides an earlier deny');
});

test('device filter: wildcards as absent or -1, for major, minor or both', () => {
  for (const wild of [undefined, -1, -7]) {
    checkAll([c(wild, 3, 'rw'), b(7, wild, 'r'), c(wild, wild, 'm'), b(wild, 9, 'w', false)], { majors: [1, 7], minors: [3, 9] });
  }
  const f = checkAll([c(136, undefined, 'rwm')]);
  assert.equal(verdict(f, { type: 'c', major: 136, minor: 12345, access: 'rw' }), true);
  assert.equal(verdict(f, { type: 'b', major: 136, minor: 0, access: 'r' }), false, 'the type still counts');
});

test('device filter: an allow grants only requests within its access', () => {
  const f = checkAll([c(10, 200, 'r'), c(10, 201, 'rw'), c(10, 202, 'wm')]);
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 200, access: 'r' }), true);
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 200, access: 'rw' }), false, 'O_RDWR needs w as well');
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 200, access: 'm' }), false);
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 201, access: 'rw' }), true);
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 202, access: 'rw' }), false);
  assert.equal(verdict(f, { type: 'c', major: 10, minor: 202, access: 'm' }), true);
});

test('device filter: type a rules, deny and allow, with and without numbers', () => {
  const f = checkAll([{ allow: true, access: 'rwm' }, { allow: false, type: 'a', major: 1, access: 'w' }]);
  assert.equal(verdict(f, { type: 'b', major: 1, minor: 0, access: 'w' }), false);
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 0, access: 'w' }), false);
  assert.equal(verdict(f, { type: 'c', major: 2, minor: 0, access: 'w' }), true);
  checkAll([c(1, 3, 'rwm'), { allow: false, type: 'a', access: 'rwm' }, c(1, 5, 'r')]);
  checkAll([{ allow: false, access: 'rwm' }, { allow: true, type: 'a', access: 'm' }, c(4, undefined, 'rw')], { majors: [4] });
  checkAll([{ allow: true, type: 'a', access: 'r' }, { allow: false, type: 'a', minor: 2, access: 'rwm' }]);
});

test('device filter: everything before the last all-devices rule is dropped', () => {
  const { defaultAllow, rules } = effectiveDeviceRules([c(1, 3, 'rwm'), { allow: false, access: 'rwm' }, c(1, 5, 'rwm', false), c(1, 7, 'rwm')]);
  assert.equal(defaultAllow, false);
  assert.deepEqual(rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${r.type} ${r.major}:${r.minor} ${r.access}`), ['allow c 1:7 rwm'],
    'the deny of 1:5 agrees with the default and is checked last, so it goes');
  checkAll([c(1, 3, 'rwm'), { allow: false, access: 'rwm' }, c(1, 5, 'rwm', false), c(1, 7, 'rwm')]);
});

test('device filter: the program of a typical container, instruction by instruction', () => {
  const f = compileDeviceFilter([{ allow: false, access: 'rwm' }, c(1, 3, 'rwm'), c(136, undefined, 'rw'), b(undefined, undefined, 'm'), c(5, 1, 'r', false)]);
  assert.equal(disassemble(decode(f.program)), [
    '  0: ldxw r2, [r1+0]',
    '  1: and32 r2, 0xffff',
    '  2: ldxw r3, [r1+0]',
    '  3: rsh32 r3, 0x10',
    '  4: ldxw r4, [r1+4]',
    '  5: ldxw r5, [r1+8]',
    // deny c 5:1 r (last in the config, so checked first)
    '  6: jne32 r2, 0x2, +7 (-> 14)',
    '  7: jne32 r4, 0x5, +6 (-> 14)',
    '  8: jne32 r5, 0x1, +5 (-> 14)',
    '  9: mov32x r1, r3',
    ' 10: and32 r1, 0x2',
    ' 11: jeq32 r1, 0x0, +2 (-> 14)',
    ' 12: mov32 r0, 0x0',
    ' 13: exit',
    // allow b *:* m
    ' 14: jne32 r2, 0x1, +3 (-> 18)',
    ' 15: jset32 r3, 0xfffe, +2 (-> 18)',
    ' 16: mov32 r0, 0x1',
    ' 17: exit',
    // allow c 136:* rw
    ' 18: jne32 r2, 0x2, +4 (-> 23)',
    ' 19: jne32 r4, 0x88, +3 (-> 23)',
    ' 20: jset32 r3, 0xfff9, +2 (-> 23)',
    ' 21: mov32 r0, 0x1',
    ' 22: exit',
    // allow c 1:3 rwm
    ' 23: jne32 r2, 0x2, +4 (-> 28)',
    ' 24: jne32 r4, 0x1, +3 (-> 28)',
    ' 25: jne32 r5, 0x3, +2 (-> 28)',
    ' 26: mov32 r0, 0x1',
    ' 27: exit',
    // nothing matched
    ' 28: mov32 r0, 0x0',
    ' 29: exit',
  ].join('\n'));
});

test('device filter: the rules create gives the kernel (config, then the fixed defaults) behave as written', () => {
  const spec = {
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }, c(10, 229, 'rw'), c(1, 9, 'rwm', false)] },
      devices: [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }],
    },
  };
  const rules = cgroupResources(spec).devices;
  const f = checkAll(rules, { majors: [1, 5, 8, 10, 136], minors: [0, 1, 2, 3, 5, 7, 8, 9, 200, 229] });
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 3, access: 'rw' }), true, '/dev/null');
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 9, access: 'r' }), true, 'the default urandom comes after the config\'s deny, so it wins');
  assert.equal(verdict(f, { type: 'b', major: 8, minor: 0, access: 'rw' }), false, 'a linux.devices entry gets no rule of its own: the deny-all stands');
  assert.equal(verdict(f, { type: 'b', major: 8, minor: 1, access: 'r' }), false);
  assert.equal(verdict(f, { type: 'b', major: 8, minor: 1, access: 'm' }), true, 'mknod of anything');
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 1, access: 'r' }), false, '/dev/mem');
});

test('device filter: random rule lists agree with the reference', () => {
  let seed = 0x5eed;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = (xs) => xs[rand(xs.length)];
  for (let round = 0; round < 300; round++) {
    const rules = Array.from({ length: rand(8) }, () => ({
      allow: rand(2) === 0,
      type: pick([undefined, 'a', 'b', 'c', 'c']),
      major: pick([undefined, -1, 1, 2, 2]),
      minor: pick([undefined, -1, 3, 4]),
      access: pick([undefined, ...ACCESSES]),
    }));
    checkAll(rules, { majors: [1, 2], minors: [3, 4] });
  }
});

test('device filter: numbers up to 2^32-1 compare as u32', () => {
  const f = checkAll([c(0xffffffff, 0x80000000, 'rwm')], { majors: [0xffffffff, 0x7fffffff], minors: [0x80000000, 0] });
  assert.equal(verdict(f, { type: 'c', major: 0xffffffff, minor: 0x80000000, access: 'r' }), true);
});

test('device filter: a bad rule fails naming its field', () => {
  const cases = [
    [[{ allow: true, type: 'x' }], '/linux/resources/devices/0/type'],
    [[{ allow: true }, { allow: true, type: 'c', access: 'x' }], '/linux/resources/devices/1/access'],
    [[{ allow: true, type: 'c', access: '' }], '/linux/resources/devices/0/access'],
    [[{ allow: true, type: 'c', major: 1.5 }], '/linux/resources/devices/0/major'],
    [[{ allow: true, type: 'c', minor: 2 ** 32 }], '/linux/resources/devices/0/minor'],
  ];
  for (const [rules, pointer] of cases) {
    assert.throws(() => compileDeviceFilter(rules), (err) => err.kind === 'config' && err.pointer === pointer, JSON.stringify(rules));
  }
});

test('device filter: linux.devices never widens resources.devices (a deny-all config listing /dev/kmsg and a host disk)', () => {
  const spec = {
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      devices: [
        { path: '/dev/kmsg', type: 'c', major: 1, minor: 11 },
        { path: '/dev/sda', type: 'b', major: 8, minor: 0 },
      ],
    },
  };
  const f = checkAll(cgroupResources(spec).devices, { majors: [1, 8], minors: [0, 3, 11] });
  for (const access of ['r', 'w', 'rw']) {
    assert.equal(verdict(f, { type: 'c', major: 1, minor: 11, access }), false, `/dev/kmsg ${access}`);
    assert.equal(verdict(f, { type: 'b', major: 8, minor: 0, access }), false, `/dev/sda ${access}`);
  }
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 11, access: 'm' }), true, 'its node can still be made');
  assert.equal(verdict(f, { type: 'c', major: 1, minor: 3, access: 'rw' }), true, '/dev/null');
});

test('device filter: a config with no device rules gets runc\'s fixed list, not an open device cgroup', () => {
  for (const spec of [{}, { linux: {} }, { linux: { resources: {} } }, { linux: { devices: [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }] } }]) {
    const rules = cgroupResources(spec).devices;
    const f = checkAll(rules, { majors: [1, 5, 8, 10, 136], minors: [0, 1, 2, 3, 5, 7, 8, 9, 11, 200] });
    assert.equal(verdict(f, { type: 'c', major: 1, minor: 11, access: 'r' }), false, `/dev/kmsg: ${JSON.stringify(spec)}`);
    assert.equal(verdict(f, { type: 'c', major: 1, minor: 1, access: 'r' }), false, '/dev/mem');
    assert.equal(verdict(f, { type: 'b', major: 8, minor: 0, access: 'r' }), false, 'a disk');
    assert.equal(verdict(f, { type: 'c', major: 5, minor: 1, access: 'rw' }), false, '/dev/console (runc 1.1 has no rule for it)');
    for (const [major, minor] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2], [10, 200], [136, 0]]) {
      assert.equal(verdict(f, { type: 'c', major, minor, access: 'rwm' }), true, `c ${major}:${minor}`);
    }
  }
});
