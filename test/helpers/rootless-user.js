// An unprivileged user for the rootless tests, made by the test and removed after it even when it
// fails: a unique name (tsrunrl<hex>), its home and XDG_RUNTIME_DIR in the run's temp dir, and
// subordinate id ranges of its own in /etc/subuid and /etc/subgid (useradd allocates a free one;
// when it does not, the next free range is added). Only this user's lines and processes are ever
// touched. Needs root, setpriv (util-linux) and newuidmap/newgidmap (uidmap).
import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RUN_PREFIX, TMP } from './test-run.js';
import { waitFor } from './wait.js';

const SUBID_SIZE = 65536;

/** What the rootless tests need on this host, or the reason they are skipped. */
export function rootlessSkipReason() {
	if (process.getuid?.() !== 0) return 'creating the rootless test user needs root';
	for (const tool of ['/usr/sbin/useradd', '/usr/sbin/userdel', '/usr/bin/setpriv', '/usr/bin/newuidmap', '/usr/bin/newgidmap']) {
		if (!fs.existsSync(tool)) return `${tool} is not installed (scripts/install-deps.sh installs passwd, util-linux and uidmap)`;
	}
	const max = Number(readOr('/proc/sys/user/max_user_namespaces', '1'));
	if (max === 0) return 'user namespaces are disabled (user.max_user_namespaces = 0)';
	if (readOr('/proc/sys/kernel/unprivileged_userns_clone', '1').trim() === '0') return 'kernel.unprivileged_userns_clone = 0';
	return false;
}

function readOr(file, fallback) {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return fallback;
	}
}

/** The lines of `file` (subuid or subgid) that name `user`: [{ start, count }]. */
export function subIdRanges(file, user) {
	return readOr(file, '')
		.split('\n')
		.map((l) => l.split(':'))
		.filter((f) => f[0] === user && f.length === 3)
		.map((f) => ({ start: Number(f[1]), count: Number(f[2]) }));
}

/** The first range of SUBID_SIZE ids past every range in the file (never overlapping another user's). */
function nextFreeRange(file) {
	let end = 100000;
	for (const l of readOr(file, '').split('\n')) {
		const f = l.split(':');
		if (f.length === 3) end = Math.max(end, Number(f[1]) + Number(f[2]));
	}
	return `${end}-${end + SUBID_SIZE - 1}`;
}

export class RootlessUser {
	static async create() {
		const name = `tsrunrl${crypto.randomBytes(3).toString('hex')}`;
		const base = fs.mkdtempSync(path.join(TMP, `${RUN_PREFIX}rootless-`));
		fs.chmodSync(base, 0o755);
		const user = new RootlessUser(name, base);
		try {
			await execa('useradd', ['--create-home', '--home-dir', user.home, '--shell', '/bin/sh', '--user-group', name]);
			user.created = true;
			for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']]) {
				if (subIdRanges(file, name).length === 0) await execa('usermod', [flag, nextFreeRange(file), name]);
			}
			const { stdout } = await execa('id', ['-u', name]);
			user.uid = Number(stdout.trim());
			user.gid = Number((await execa('id', ['-g', name])).stdout.trim());
			user.subuid = subIdRanges('/etc/subuid', name)[0];
			user.subgid = subIdRanges('/etc/subgid', name)[0];
			fs.mkdirSync(user.runtimeDir, { mode: 0o700 });
			fs.chownSync(user.runtimeDir, user.uid, user.gid);
		} catch (err) {
			await user.remove().catch(() => {});
			throw err;
		}
		return user;
	}

	constructor(name, base) {
		this.name = name;
		this.base = base;
		this.home = path.join(base, 'home');
		this.runtimeDir = path.join(base, 'xdg-runtime');
		this.created = false;
	}

	/** The environment a login of this user would have (no variable of the test runner leaks in). */
	env(extra = {}) {
		return {
			PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
			HOME: this.home,
			USER: this.name,
			LOGNAME: this.name,
			XDG_RUNTIME_DIR: this.runtimeDir,
			...extra,
		};
	}

	/** Words that run a command as this user: `setpriv` to its uid, gid and groups, then `env -i`. */
	prefix(extraEnv = {}) {
		const env = Object.entries(this.env(extraEnv))
			.filter(([, v]) => v !== undefined)
			.map(([k, v]) => `${k}=${v}`);
		return ['setpriv', `--reuid=${this.uid}`, `--regid=${this.gid}`, '--init-groups', 'env', '-i', ...env];
	}

	/** chown -R a tree to the user (a rootfs the user unpacked itself). */
	async own(dir) {
		await execa('chown', ['-R', `${this.uid}:${this.gid}`, dir]);
	}

	/** This user's processes, by pid (read from /proc: real or effective uid). */
	processes() {
		const pids = [];
		for (const e of fs.readdirSync('/proc')) {
			if (!/^\d+$/.test(e)) continue;
			const status = readOr(`/proc/${e}/status`, '');
			const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
			if (uids && (Number(uids[1]) === this.uid || Number(uids[2]) === this.uid)) pids.push(Number(e));
		}
		return pids;
	}

	/** Kills what the user still runs, removes the user, its id ranges and its dirs. */
	async remove() {
		const errors = [];
		if (this.uid !== undefined) {
			const left = this.processes();
			for (const pid of left) {
				try {
					process.kill(pid, 'SIGKILL');
				} catch {}
			}
			if (left.length) await waitFor(() => this.processes().length === 0, 5000).catch(() => errors.push(`processes of ${this.name} survive SIGKILL: ${this.processes()}`));
		}
		if (this.created) {
			// its id ranges first (while the user exists, so usermod names only its lines): some
			// shadow versions' userdel leaves them
			for (const [file, flag] of [['/etc/subuid', '--del-subuids'], ['/etc/subgid', '--del-subgids']]) {
				for (const range of subIdRanges(file, this.name)) {
					const r = await execa('usermod', [flag, `${range.start}-${range.start + range.count - 1}`, this.name], { reject: false });
					if (r.exitCode !== 0) errors.push(`usermod ${flag} ${this.name}: ${r.stderr}`);
				}
			}
			const r = await execa('userdel', ['--remove', this.name], { reject: false });
			// exit 12: the home could not be removed (it is removed below)
			if (r.exitCode !== 0 && r.exitCode !== 12) errors.push(`userdel ${this.name}: ${r.stderr}`);
		}
		fs.rmSync(this.base, { recursive: true, force: true });
		if (errors.length) throw new Error(errors.join('\n'));
	}
}
