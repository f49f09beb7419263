'use strict';
// Run by scripts/bundle.js with its output thrown away: loads dist/tsrun.cjs the way bin/tsrun.cjs
// does, runs the commands clients call most (a successful state, list, the create path up to its
// config checks, kill and delete of a missing container, spec, features), then saves the V8 code
// cache, so each of those starts with its functions already compiled.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadBundle, writeCache } = require('../bin/tsrun.cjs');

async function main() {
  fs.rmSync(`${path.join(__dirname, '..', 'dist', 'tsrun.cjs')}.cache`, { force: true });
  const loaded = loadBundle();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-warm-'));
  try {
    // A container record for this very process, so `state` takes its successful path.
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'latin1');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    fs.mkdirSync(path.join(root, 'state', 'warm-up'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'state', 'warm-up', 'state.json'),
      JSON.stringify({
        ociVersion: '1.3.0', id: 'warm-up', pid: process.pid, pidStartTime: startTime, bundle: root, rootfs: root,
        created: new Date().toISOString(), owner: '', started: true,
        cgroup: { version: 1, paths: { freezer: '/sys/fs/cgroup/freezer/tsrun-warm-up' }, created: [] },
      }),
    );
    // A valid config that create refuses right after validation (no mount namespace): nothing is made.
    const bundleDir = path.join(root, 'bundle');
    fs.mkdirSync(bundleDir);
    await loaded.main(['spec', '--bundle', bundleDir]);
    const config = JSON.parse(fs.readFileSync(path.join(bundleDir, 'config.json'), 'utf8'));
    config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'mount');
    config.process.terminal = false;
    fs.writeFileSync(path.join(bundleDir, 'config.json'), JSON.stringify(config));
    const stateRoot = path.join(root, 'state');
    for (const argv of [
      ['--root', stateRoot, 'state', 'warm-up'],
      ['--root', stateRoot, 'list'],
      ['--root', stateRoot, 'create', '--bundle', bundleDir, 'never-created'],
      ['--root', stateRoot, 'kill', 'missing', 'KILL'],
      ['--root', stateRoot, 'delete', '--force', 'missing'],
      ['features'],
    ]) {
      await loaded.main(argv);
    }
    process.exitCode = 0;
    writeCache(loaded.script);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main();
