// The record declarations of src/protocol/records.ts drive both sides of the wire: this encodes a
// sample of every record with the TypeScript writer, decodes it with the helper's C decoder built
// from C generated for the same declarations, and compares field by field. It does so for the
// declarations as they are and for a copy with a field and a record added, so a change to the
// table reaches both sides or fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordWriter, decodeRecord, readRecords } from '../../dist/protocol/codec.js';
import * as protocol from '../../dist/protocol/protocol.js';
import { records } from '../../dist/protocol/records.js';
import { renderRecordsHeader, renderRecordsSource, recordLayouts } from '../../scripts/gen-protocol.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const initDir = join(repo, 'addon/init');

const hasCompiler = spawnSync('gcc', ['--version']).status === 0;

/** A distinct, valid sample value for a field; n tells samples of one field apart. */
function sample(recordName, field, n) {
  if (field.oneOf) return Object.values(protocol[field.oneOf])[n % Object.values(protocol[field.oneOf]).length];
  switch (field.kind) {
    case 'u32': return Math.min(field.max ?? 0xffffffff, 0xfffffff0 + n);
    case 'i32': return -1000 - n;
    case 'u64': return (1n << 63n) + BigInt(n) * 3n + 1n;
    case 'pad32': return 0;
    case 'str': return `${recordName}.${field.name}#${n} "q" \\`;
    case 'strs': return n % 2 ? [] : [`${field.name}-a`, `${field.name} b`];
    case 'u32s': return n % 2 ? [] : [0, 7, 0xffffffff];
    case 'u64s': return n % 2 ? [] : [0n, 1n << 40n, (1n << 64n) - 1n];
  }
  throw new Error(`no sample for ${field.kind}`);
}

/** Encodes every record of `decls` (two of each "many", one per key of each "keyed") and returns
 *  the payloads with what the decoder should report. */
function samples(decls) {
  const plan = new RecordWriter(decls);
  const cont = new RecordWriter(decls);
  const expected = {};
  const asJson = (field, v) => (field.kind === 'u64' ? String(v) : field.kind === 'u64s' ? v.map(String) : v);
  for (const [name, r] of Object.entries(decls)) {
    const w = r.frame === 'continue' ? cont : plan;
    const value = (n) => Object.fromEntries(r.fields.map((f) => [f.name, sample(name, f, n)]));
    const shown = (v, skip = 0) =>
      Object.fromEntries(r.fields.slice(skip).filter((f) => f.kind !== 'pad32').map((f) => [f.name, asJson(f, v[f.name])]));
    if (r.store === 'flag') {
      w.add(name);
      expected[name] = true;
    } else if (r.store === 'one') {
      const v = value(0);
      w.add(name, v);
      expected[name] = shown(v);
    } else if (r.store === 'many') {
      const vs = [value(0), value(1)];
      for (const v of vs) w.add(name, v);
      expected[name] = vs.map((v) => shown(v));
    } else {
      const keys = Object.values(protocol[r.fields[0].oneOf]);
      expected[name] = {};
      keys.forEach((key, n) => {
        const v = { ...value(n), [r.fields[0].name]: key };
        w.add(name, v);
        expected[name][key] = shown(v, 1);
      });
    }
  }
  return { plan: plan.bytes(), cont: cont.bytes(), expected };
}

/** Builds the decoder and the dump program against C generated for `decls`. */
function buildDecoder(dir, decls) {
  for (const f of readdirSync(initDir)) if (/\.[ch]$/.test(f)) copyFileSync(join(initDir, f), join(dir, f));
  writeFileSync(join(dir, 'records.h'), renderRecordsHeader(decls));
  writeFileSync(join(dir, 'records.c'), renderRecordsSource(decls));
  const exe = join(dir, 'records_dump');
  execFileSync('gcc', [
    '-std=gnu11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
    `-I${dir}`, '-o', exe, join(repo, 'test/native/records_dump.c'), join(dir, 'plan.c'), join(dir, 'records.c'), join(dir, 'sync.c'),
  ], { stdio: 'pipe' });
  return exe;
}

function roundTrip(decls) {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-records-'));
  try {
    const exe = buildDecoder(dir, decls);
    const { plan, cont, expected } = samples(decls);
    writeFileSync(join(dir, 'plan.bin'), plan);
    writeFileSync(join(dir, 'continue.bin'), cont);
    const out = execFileSync(exe, [join(dir, 'plan.bin'), join(dir, 'continue.bin')], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), expected);
    // The TypeScript reader of tests and tools reads the same records back.
    for (const { tag, value } of readRecords(plan)) assert.ok(decodeRecord(tag, value, decls).name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('records: every declared record encoded in TypeScript decodes in C to the same fields', { skip: !hasCompiler && 'no gcc' }, () => {
  roundTrip(records);
});

test('records: a field and a record added to the declarations reach both sides', { skip: !hasCompiler && 'no gcc' }, () => {
  const changed = structuredClone(records);
  changed.Mount.fields.push({ name: 'addedInTest', kind: 'u64' });
  changed.User.fields.push({ name: 'addedWord', kind: 'str' });
  changed.ProbeList = {
    tag: 60, store: 'many', frame: 'plan', doc: 'a record only this test has',
    fields: [{ name: 'level', kind: 'u32', oneOf: 'LogLevel' }, { name: 'words', kind: 'strs' }, { name: 'ids', kind: 'u32s' }, { name: 'delta', kind: 'i32' }],
  };
  changed.ProbeFlag = { tag: 61, store: 'flag', frame: 'plan', doc: 'a flag only this test has', fields: [] };
  assert.match(renderRecordsHeader(changed), /uint64_t added_in_test;/);
  assert.match(renderRecordsHeader(changed), /struct tsrun_probe_list \*probe_lists;/);
  roundTrip(changed);
});

test('records: the decoder refuses what the declarations forbid', { skip: !hasCompiler && 'no gcc' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-records-'));
  try {
    const exe = buildDecoder(dir, records);
    const run = (planBytes) => {
      writeFileSync(join(dir, 'plan.bin'), planBytes);
      writeFileSync(join(dir, 'continue.bin'), Buffer.alloc(0));
      const r = spawnSync(exe, [join(dir, 'plan.bin'), join(dir, 'continue.bin')], { encoding: 'utf8' });
      if (r.status === 0) return 'accepted';
      assert.equal(r.status, 1, `the decoder crashed: ${r.stderr}`);
      return JSON.parse(r.stdout).error;
    };
    const u32 = (...vs) => Buffer.concat(vs.map((v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }));
    assert.match(run(new RecordWriter().raw(protocol.Tag.PreserveFds, u32((1 << 20) + 1)).bytes()), /PreserveFds: count 1048577 exceeds 1048576/);
    assert.match(run(new RecordWriter().raw(protocol.Tag.Rlimit, Buffer.concat([u32(7, 1), Buffer.alloc(16)])).bytes()), /Rlimit: nonzero pad/);
    assert.match(run(new RecordWriter().add('CpuAffinity', { when: 1, list: '0' }).add('CpuAffinity', { when: 1, list: '1' }).bytes()), /CpuAffinity: when 1 given twice/);
    assert.match(run(new RecordWriter().raw(protocol.Tag.CpuAffinity, Buffer.concat([u32(3), Buffer.from('0\0')])).bytes()), /when 3 is not a CpuAffinityWhen/);
    assert.match(run(new RecordWriter().add('HookState', { kind: 1, json: '{}' }).bytes()), /does not belong/);
    assert.equal(run(new RecordWriter().add('NoNewPrivileges').add('Hostname', { name: 'x' }).bytes()), 'accepted');
    assert.match(run(new RecordWriter().add('NoNewPrivileges').add('NoNewPrivileges').bytes()), /NoNewPrivileges given twice/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('records: declarations the decoder cannot serve are refused by the generator', () => {
  const bad = (extra) => () => recordLayouts({ ...records, ...extra });
  assert.throws(bad({ Dup: { tag: records.Mount.tag, store: 'one', frame: 'plan', doc: '', fields: [{ name: 'x', kind: 'u32' }] } }), /duplicate tag/);
  assert.throws(bad({ F: { tag: 70, store: 'flag', frame: 'plan', doc: '', fields: [{ name: 'x', kind: 'u32' }] } }), /flag has no fields/);
  assert.throws(bad({ K: { tag: 70, store: 'keyed', frame: 'plan', doc: '', fields: [{ name: 'k', kind: 'u32' }, { name: 'v', kind: 'str' }] } }), /keyed needs/);
  assert.throws(bad({ L: { tag: 70, store: 'many', frame: 'plan', doc: '', fields: [{ name: 'v', kind: 'strs' }] } }), /needs a struct/);
});
