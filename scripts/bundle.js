#!/usr/bin/env node
// Packs dist/ (compiled by tsc) and its dependencies into dist/tsrun.cjs, the one file
// bin/tsrun.cjs loads, then has scripts/warm-cache.cjs fill the V8 code cache beside it.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
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
execFileSync(process.execPath, [join(repo, 'scripts', 'warm-cache.cjs')], { stdio: 'ignore' });
