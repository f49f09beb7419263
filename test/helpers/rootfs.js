// The busybox rootfs, built once per run; each test copies it into its own bundle.
import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, TMP } from './test-run.js';

let rootfsPromise;
/** Path of the shared busybox rootfs (TSRUN_TEST_ROOTFS, or built once into a cache dir). */
export function sharedRootfs() {
	rootfsPromise ??= buildSharedRootfs();
	return rootfsPromise;
}
async function buildSharedRootfs() {
	const given = process.env.TSRUN_TEST_ROOTFS;
	if (given) {
		if (!fs.existsSync(path.join(given, 'bin/busybox'))) throw new Error(`TSRUN_TEST_ROOTFS=${given}: no bin/busybox`);
		return given;
	}
	const script = path.join(REPO, 'scripts/make-rootfs.sh');
	const bb = fs.statSync('/bin/busybox', { throwIfNoEntry: false });
	const key = crypto
		.createHash('sha256')
		.update(fs.readFileSync(script))
		.update(`${bb?.size}:${bb?.mtimeMs}`)
		.digest('hex')
		.slice(0, 12);
	const dest = path.join(TMP, `tsrun-rootfs-cache-${key}`);
	if (fs.existsSync(path.join(dest, '.tsrun-rootfs-complete'))) return dest;
	const tmp = `${dest}.${process.pid}.${crypto.randomBytes(3).toString('hex')}`;
	await execa('bash', [script, tmp]);
	fs.writeFileSync(path.join(tmp, '.tsrun-rootfs-complete'), '');
	try {
		fs.renameSync(tmp, dest);
	} catch {
		// Another test file built it first.
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	return dest;
}
