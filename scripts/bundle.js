#!/usr/bin/env node
// Packs dist/ (compiled by tsc) and its dependencies into dist/tsrun.cjs, the one file
// bin/tsrun.cjs loads, then runs one `state` through it so the V8 code cache beside it
// (dist/tsrun.cjs.cache) holds what every command compiles at start-up.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = join(repo, 'dist', 'tsrun.cjs');

await build({
  entryPoints: [join(repo, 'dist', 'cli', 'main.js')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import.meta.url of every bundled module becomes the bundle's own URL: dist/ paths stay right
  define: { 'import.meta.url': '__tsrun_bundle_url' },
  banner: { js: "var __tsrun_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
rmSync(`${out}.cache`, { force: true });

// A container record for this very process, so the warm-up takes the successful `state` path.
const root = mkdtempSync(join(tmpdir(), 'tsrun-bundle-'));
try {
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'latin1');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  mkdirSync(join(root, 'warm-up'));
  writeFileSync(
    join(root, 'warm-up', 'state.json'),
    JSON.stringify({
      ociVersion: '1.3.0', id: 'warm-up', pid: process.pid, pidStartTime: startTime, bundle: root, rootfs: root,
      created: new Date().toISOString(), owner: '', started: true,
      cgroup: { version: 1, paths: { freezer: '/sys/fs/cgroup/freezer/tsrun-bundle-warm-up' }, created: [] },
    }),
  );
  execFileSync(process.execPath, [join(repo, 'bin', 'tsrun.cjs'), '--root', root, 'state', 'warm-up'], { stdio: 'ignore' });
} finally {
  rmSync(root, { recursive: true, force: true });
}
