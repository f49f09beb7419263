#!/usr/bin/env node
'use strict';
// The tsrun executable. Clients run it several times per container, so start-up is most of its
// cost: it loads dist/tsrun.cjs — the whole CLI in one file (scripts/bundle.js) — with V8's code
// cache beside it instead of resolving and compiling dozens of ES modules. A missing or stale cache
// (another Node version) is rebuilt after the command, best effort; without the bundle (a plain
// `tsc` build) it runs dist/cli/main.js directly.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'tsrun.cjs');
const cacheFile = `${bundle}.cache`;

/** The bundle's exports, compiled with the code cache when it fits; undefined without a bundle. */
function loadBundle() {
  let source;
  try {
    source = fs.readFileSync(bundle, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, bundle, dist);
  return { main: mod.exports.main, script, cacheIsCurrent: cachedData !== undefined && !script.cachedDataRejected };
}

/** Saves what V8 has compiled so far (atomically; a read-only install just goes without). */
function writeCache(script) {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

module.exports = { loadBundle, writeCache };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const loaded = loadBundle();
  if (loaded) {
    loaded.main(argv).then(() => {
      if (!loaded.cacheIsCurrent) writeCache(loaded.script);
    });
  } else {
    import(path.join(dist, 'cli', 'main.js')).then((m) => m.main(argv));
  }
}
