// dist/tsrun.cjs runs inside a vm.Script (bin/tsrun.cjs), where import() has no module loader:
// a dynamic import left in the bundle would fail only when its code path runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const bundle = fileURLToPath(new URL('../../dist/tsrun.cjs', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/tsrun.cjs', import.meta.url));

test('bundle: dist/tsrun.cjs holds no dynamic import()', { skip: !existsSync(bundle) && 'not built' }, () => {
  const source = readFileSync(bundle, 'utf8');
  const calls = [...source.matchAll(/\bimport\(\s*["'`][^"'`]*["'`]\s*\)/g)].map((m) => m[0]);
  assert.deepEqual(calls, []);
});

test('bundle: bin/tsrun.cjs runs it with a code cache V8 accepts', { skip: !existsSync(bundle) && 'not built' }, () => {
  assert.ok(existsSync(`${bundle}.cache`), 'npm run build writes dist/tsrun.cjs.cache');
  const out = execFileSync(process.execPath, ['-e', `
    const { loadBundle } = require(${JSON.stringify(bin)});
    const loaded = loadBundle();
    process.stdout.write(JSON.stringify({ main: typeof loaded.main, current: loaded.cacheIsCurrent }));
  `], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { main: 'function', current: true });
});
