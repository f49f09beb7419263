// The small pieces of the core: wire codec, signals, exit codes, ids, state store, undo, list output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { encodeFrame, FrameReader, RecordWriter, readRecords, FieldReader } from '../../dist/protocol/codec.js';
import { Msg, Tag } from '../../dist/protocol/protocol.js';
import { parseSignal } from '../../dist/lifecycle/kill.js';
import { exitCodeOf } from '../../dist/lifecycle/run.js';
import { validateId, statePaths } from '../../dist/state/paths.js';
import { ContainerLock, readRecord, writeRecord, listIds } from '../../dist/state/store.js';
import { Undo } from '../../dist/lifecycle/undo.js';
import { formatList } from '../../dist/lifecycle/list-format.js';
import { readProcStat, isSameLiveProcess } from '../../dist/state/proc.js';
import { TsrunError } from '../../dist/errors.js';

test('codec: frames split across reads are reassembled, several in one read are split', () => {
  const a = encodeFrame(Msg.Pid, Buffer.from([1, 2, 3, 4]));
  const b = encodeFrame(Msg.Ready);
  const all = Buffer.concat([a, b]);
  const r = new FrameReader();
  assert.deepEqual(r.push(all.subarray(0, 5)), []);
  const frames = r.push(all.subarray(5));
  assert.deepEqual(frames.map((f) => f.type), [Msg.Pid, Msg.Ready]);
  assert.deepEqual([...frames[0].payload], [1, 2, 3, 4]);
  assert.equal(r.hasPartial, false);
});

test('codec: an oversized frame header is rejected', () => {
  const bad = Buffer.alloc(8);
  bad.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => new FrameReader().push(bad), /exceeds the cap/);
});

test('codec: records round-trip and truncated records are errors', () => {
  const payload = new RecordWriter().add('Hostname', { name: 'box' }).add('Args', { args: ['sh', '-c', 'echo'] }).bytes();
  const recs = readRecords(payload);
  assert.deepEqual(recs.map((r) => r.tag), [Tag.Hostname, Tag.Args]);
  assert.equal(new FieldReader(recs[0].value).str(), 'box');
  assert.deepEqual(new FieldReader(recs[1].value).strs(), ['sh', '-c', 'echo']);
  assert.throws(() => readRecords(payload.subarray(0, payload.length - 1)), /runs past/);
  assert.throws(() => new RecordWriter().add('Hostname', { name: 'a\0b' }), /NUL/);
});

test('protocol: addon/init/protocol.h, records.h and records.c match src/protocol/', () => {
  execFileSync(process.execPath, ['scripts/gen-protocol.js', '--check'], { stdio: 'pipe' });
});

test('kill: signals as numbers, names and SIG names', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('term'), 15);
  assert.equal(parseSignal(undefined), 15);
  assert.equal(parseSignal('SIGRTMIN+2'), 36);
  assert.throws(() => parseSignal('NOPE'), /unknown signal/);
  assert.equal(parseSignal('0'), 0);
  assert.throws(() => parseSignal('65'), /invalid signal/);
});

test('run: wait statuses become shell exit codes', () => {
  assert.equal(exitCodeOf(0), 0);
  assert.equal(exitCodeOf(3 << 8), 3);
  assert.equal(exitCodeOf(9), 137);
  assert.equal(exitCodeOf(15), 143);
});

test('state: ids that could escape --root are refused', () => {
  for (const bad of ['', '..', '.', '../x', 'a/b', 'a b', 'x\0']) assert.throws(() => validateId(bad), TsrunError);
  assert.equal(validateId('abc-1.2_3+4'), 'abc-1.2_3+4');
  assert.equal(statePaths('/r', 'c').fifo, '/r/c/exec.fifo');
});

test('state: records are written atomically, ids are unique, locks are exclusive', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsrun-unit-'));
  try {
    const calls = [];
    const fake = { flock: (fd, ex, wait) => (calls.push([ex, wait]), true), mkfifo() {} };
    const lock = ContainerLock.createNew(root, 'c1', fake);
    assert.throws(() => ContainerLock.createNew(root, 'c1', fake), /container with given ID already exists: c1/);
    await assert.rejects(ContainerLock.acquire(root, 'c1', fake), /does not exist/);
    const rec = { id: 'c1', pid: 1, pidStartTime: '1', ociVersion: '1.3.0', bundle: '/b', rootfs: '/b/r', created: 'now', owner: '', cgroup: { version: 1, paths: {} }, started: false };
    writeRecord(root, rec);
    assert.deepEqual(readRecord(root, 'c1'), rec);
    assert.deepEqual(listIds(root), ['c1']);
    assert.deepEqual(readFileSync(join(root, 'c1', 'state.json'), 'utf8').length > 0, true);
    lock.removeDir();
    lock.release();
    assert.equal(existsSync(join(root, 'c1')), false);
    assert.throws(() => readRecord(root, 'c1'), /container c1 does not exist/);
    assert.deepEqual(calls, [[true, true], [true, true]]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('state: a pid is the same process only with the same start time', () => {
  const me = readProcStat(process.pid);
  assert.ok(me.startTime);
  assert.equal(isSameLiveProcess(process.pid, me.startTime), true);
  assert.equal(isSameLiveProcess(process.pid, '1'), false);
  assert.equal(isSameLiveProcess(0, me.startTime), false);
});

test('undo: reversals run newest first; their failures are attached, not raised', async () => {
  const order = [];
  const u = new Undo();
  u.push('a', () => order.push('a'));
  u.push('b', () => {
    throw new Error('boom');
  });
  u.push('c', async () => order.push('c'));
  u.push('gone', () => {
    throw Object.assign(new Error('x'), { code: 'ENOENT' });
  });
  const err = await u.rollback(new TsrunError('cause'));
  assert.deepEqual(order, ['c', 'a']);
  assert.equal(err.message, 'cause');
  assert.equal(err.cleanupErrors.length, 1);
  assert.match(err.cleanupErrors[0].message, /undo b/);
});

test('start: an exec.fifo that cannot be opened is reported with its errno, code and cause', async () => {
  const { startContainer } = await import('../../dist/lifecycle/start.js');
  const root = mkdtempSync(join(tmpdir(), 'tsrun-unit-'));
  // a socket where the fifo should be: "created" (it exists), but open(2) fails with ENXIO
  const server = createServer();
  try {
    const lock = ContainerLock.createNew(root, 'c1');
    const me = readProcStat(process.pid);
    writeRecord(root, { id: 'c1', pid: process.pid, pidStartTime: me.startTime, ociVersion: '1.3.0', bundle: '/b', rootfs: '/b/r', created: 'now', owner: '', cgroup: { version: 1, paths: {} }, started: false });
    lock.release();
    await new Promise((resolve, reject) => server.once('error', reject).listen(statePaths(root, 'c1').fifo, resolve));
    const err = await startContainer(root, 'c1').then(() => assert.fail('start succeeded'), (e) => e);
    assert.ok(err instanceof TsrunError);
    assert.equal(err.message, 'cannot start a container that has stopped');
    assert.equal(err.kind, 'state');
    assert.equal(err.code, 'ENXIO');
    assert.equal(err.errno, -os.constants.errno.ENXIO);
    assert.equal(err.syscall, 'open');
    assert.equal(err.cause?.code, 'ENXIO');
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('list: table like runc, -q ids, json array (null when empty)', () => {
  const r = { ociVersion: '1.3.0', id: 'web', pid: 42, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-01T00:00:00Z', owner: '' };
  const table = formatList([r], 'table', false).split('\n');
  assert.match(table[0], /^ID {10}PID {9}STATUS {6}BUNDLE {6}CREATED {16}OWNER$/);
  assert.match(table[1], /^web {9}42 {10}running {5}\/b/);
  assert.equal(formatList([r], 'table', true), 'web\n');
  assert.deepEqual(JSON.parse(formatList([r], 'json', false)), [{ ...r, owner: 'root' }], 'runc names the owner in list');
  assert.equal(formatList([], 'json', false), 'null\n', 'an empty list is null, as runc prints it');
});

test('cli: the fast parser reads runc\'s command lines, and leaves what it does not know to yargs', async () => {
  const { fastParse } = await import('../../dist/cli/main.js');
  const exec = fastParse(['--root', '/r', 'exec', '--env', 'A=1', '-e', 'B=2', '--cwd', '/a', '--cwd', '/b', '-t', 'c1', 'sh', '-c', 'echo -n x']).args;
  assert.deepEqual([exec.root, exec.env, exec.cwd, exec.tty, exec.id, exec.command], ['/r', ['A=1', 'B=2'], '/b', true, 'c1', ['sh', '-c', 'echo -n x']]);
  assert.deepEqual(fastParse(['ps', '--format', 'json', 'c1', '--', '-o', 'pid']).args['ps-args'], ['-o', 'pid']);
  const kill = fastParse(['kill', '--all', 'c1', 'KILL']).args;
  assert.deepEqual([kill.all, kill.id, kill.signal], [true, 'c1', 'KILL']);
  const create = fastParse(['--log', '/l', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/p', '--no-pivot', 'c1']).args;
  assert.deepEqual([create.log, create['log-format'], create.bundle, create['pid-file'], create['no-pivot']], ['/l', 'json', '/b', '/p', true]);
  assert.equal(fastParse(['state', '--bogus', 'c1']), undefined, 'unknown flag');
  assert.equal(fastParse(['kill']), undefined, 'missing id');
  assert.equal(fastParse(['state', 'a', 'b']), undefined, 'extra word');
  assert.equal(fastParse(['--log-format', 'xml', 'state', 'c1']), undefined, 'bad choice');
  assert.equal(fastParse(['state', '--help']), undefined, 'help is yargs\'s');
});

test('cli: "-" is the value of the flag before it (update --resources -)', async () => {
  const { fastParse } = await import('../../dist/cli/main.js');
  assert.equal(fastParse(['update', '--resources', '-', 'c1']).args.resources, '-');
  assert.equal(fastParse(['update', '-r', '-', 'c1']).args.resources, '-');
  assert.equal(fastParse(['update', '-r', '-', 'c1']).args.id, 'c1');
});

test('cli: the command line after the id reaches the command untouched ("-" included)', async () => {
  const { fastParse } = await import('../../dist/cli/main.js');
  assert.deepEqual(fastParse(['exec', 'c1', 'sort', '-u', '-']).args.command, ['sort', '-u', '-']);
  assert.deepEqual(fastParse(['exec', 'c1', 'tar', '-x', '--root', '-']).args.command, ['tar', '-x', '--root', '-']);
});
