#!/usr/bin/env node
// Packs dist/ (compiled by tsc) and its dependencies into dist/tsrun.cjs, the one file
// bin/tsrun.cjs loads, then has scripts/warm-cache.cjs fill the V8 code cache beside it.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
// --version's commit and libseccomp lines: facts of the build, not looked up per call.
const ask = (file, args) => {
  try {
    return execFileSync(file, args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};
const seccomp = ask(join(repo, 'build', 'Release', 'tsrun-init'), ['--seccomp-features']);
writeFileSync(
  join(repo, 'dist', 'build-info.json'),
  JSON.stringify({ commit: ask('git', ['rev-parse', 'HEAD']) ?? 'unknown', libseccomp: seccomp && JSON.parse(seccomp).libseccomp }) + '\n',
);
execFileSync(process.execPath, [join(repo, 'scripts', 'warm-cache.cjs')], { stdio: 'ignore' });
