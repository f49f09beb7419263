// --log FILE --log-format json: error lines {"level":"error","msg","time"} whose last says what failed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { setup } from '../helpers/fixture.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

const opts = { skip: needsRoot, timeout: 60_000 };

function logLines(file) {
	return fs
		.readFileSync(file, 'utf8')
		.split('\n')
		.filter(Boolean)
		.map((l) => {
			try {
				return JSON.parse(l);
			} catch {
				assert.fail(`log line is not JSON: ${l}`);
			}
		});
}

function assertErrorLine(line) {
	assert.equal(line.level, 'error');
	assert.equal(typeof line.msg, 'string');
	assert.ok(!Number.isNaN(Date.parse(line.time)), `time ${line.time} is RFC 3339`);
	assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
}

test('state: --log --log-format json writes a JSON error line saying the container does not exist', opts, async (t) => {
	const c = await setup(t);
	const log = c.path('runtime.log');
	const r = await c.run(['state', 'tsrun-it-missing'], { global: ['--log', log, '--log-format', 'json'], expectExit: 1 });
	const lines = logLines(log);
	assert.ok(lines.length >= 1);
	for (const l of lines.filter((l) => l.level === 'error')) assertErrorLine(l);
	assert.match(lines.at(-1).msg, /does not exist/);
	assert.match(r.stderr, /does not exist/, 'the error also reaches stderr');
});

test('kill: the json log says "container not running" for a stopped container', opts, async (t) => {
	const c = await setup(t);
	await c.create();
	await c.start();
	await c.waitStatus('stopped');
	const log = c.path('runtime.log');
	await c.run(['kill', c.id, 'KILL'], { global: ['--log', log, '--log-format', 'json'], expectExit: 1 });
	const last = logLines(log).at(-1);
	assertErrorLine(last);
	assert.match(last.msg, /container not running/);
});

test('create: the json log names what failed in a bad config', opts, async (t) => {
	const c = await setup(t);
	c.config.process.cwd = 'relative';
	const log = c.path('runtime.log');
	await c.create({ run: { global: ['--log', log, '--log-format', 'json'] }, expectExit: 1 });
	const last = logLines(log).at(-1);
	assertErrorLine(last);
	assert.match(last.msg, /cwd/i);
});

test('create: the log file is appended to, not truncated', opts, async (t) => {
	const c = await setup(t);
	const log = c.path('runtime.log');
	fs.writeFileSync(log, '{"level":"info","msg":"earlier line","time":"2024-01-01T00:00:00Z"}\n');
	await c.run(['state', 'tsrun-it-missing'], { global: ['--log', log, '--log-format', 'json'], expectExit: 1 });
	const lines = logLines(log);
	assert.equal(lines[0].msg, 'earlier line');
	assert.ok(lines.length >= 2);
});

test('state: --log-format json without --log prints the JSON error line on stderr', opts, async (t) => {
	const c = await setup(t);
	const r = await c.run(['state', 'tsrun-it-missing'], { global: ['--log-format', 'json'], expectExit: 1 });
	const line = JSON.parse(r.stderr.trim().split('\n').at(-1));
	assertErrorLine(line);
	assert.match(line.msg, /does not exist/);
});

test('create/exec --debug: debug lines say what the runtime did, in the log in JSON', opts, async (t) => {
	const c = await setup(t);
	c.sh('sleep 60');
	const log = c.path('debug.json');
	await c.create({ run: { global: ['--debug', '--log', log, '--log-format', 'json'] } });
	await c.start();
	await c.run(['exec', c.id, 'true'], { global: ['--debug', '--log', log, '--log-format', 'json'] });
	const debug = logLines(log).filter((l) => l.level === 'debug');
	assert.ok(debug.length >= 2, `debug lines: ${JSON.stringify(debug)}`);
	assert.ok(debug.every((l) => typeof l.msg === 'string' && typeof l.time === 'string'));
	if (isTsrun) {
		const text = debug.map((l) => l.msg).join('\n');
		assert.match(text, /stage 0\[\d+\]: create plan/);
		assert.match(text, /cloned the init process \d+/);
		assert.match(text, /init: rootfs .* ready/);
		assert.match(text, /stage 0\[\d+\]: exec plan: .* to join/);
		assert.match(text, /joined namespace 0x[0-9a-f]+ at "\/proc\/\d+\/ns\/mnt"/);
	}
});

test('create: without --debug the helper sends no debug lines', opts, async (t) => {
	const c = await setup(t);
	const log = c.path('quiet.json');
	await c.create({ run: { global: ['--log', log, '--log-format', 'json'] } });
	assert.deepEqual(fs.existsSync(log) ? logLines(log).filter((l) => l.level === 'debug') : [], []);
});
