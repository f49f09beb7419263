// Seeded malformed configs for the robustness tests (unit: thousands through validation and planning
// in-process; integration: hundreds through a real create). Each config is a valid one with one to
// three faults a schema written from the spec must refuse: a value of the wrong JSON type, a required
// member removed, or an enum/pattern field given a value outside it. Deterministic, so a failure
// names its seed and can be replayed.

/** mulberry32 */
export function random(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const pick = (rnd, xs) => xs[Math.floor(rnd() * xs.length)];

/** Values of another JSON type than `v`'s (never one the field could take). */
function wrongKind(v) {
	if (typeof v === 'string') return [7, -1, null, true, {}, [], 1.5];
	if (typeof v === 'number') return ['1', null, true, {}, [], ...(Number.isInteger(v) ? [1.5, 2.5e-3] : [])];
	if (typeof v === 'boolean') return ['true', 1, 0, null, {}, []];
	if (Array.isArray(v)) return ['x', 1, {}, null, true];
	return ['x', 1, [], null, true];
}

/** Members the spec requires where they appear (a removal must be refused). */
const REQUIRED = [
	/^\/ociVersion$/, /^\/root\/path$/, /^\/process\/cwd$/, /^\/mounts\/\d+\/destination$/, /^\/linux\/namespaces\/\d+\/type$/,
	/^\/process\/rlimits\/\d+\/(type|soft|hard)$/, /^\/process\/user\/(uid|gid)$/, /^\/hooks\/\w+\/\d+\/path$/,
	/^\/linux\/(uid|gid)Mappings\/\d+\/(containerID|hostID|size)$/, /^\/linux\/resources\/devices\/\d+\/allow$/,
	/^\/linux\/devices\/\d+\/(path|type)$/, /^\/linux\/seccomp\/defaultAction$/, /^\/linux\/seccomp\/syscalls\/\d+\/(names|action)$/,
	/^\/linux\/resources\/hugepageLimits\/\d+\/(pageSize|limit)$/,
];

/** Fields with a closed set of values or a pattern, and values outside it. */
const CLOSED = [
	[/^\/linux\/namespaces\/\d+\/type$/, ['bogus', 'Mount', 'net ']],
	[/^\/process\/rlimits\/\d+\/type$/, ['RLIMIT_NOPE', 'NOFILE', 'rlimit_nofile']],
	[/^\/process\/capabilities\/\w+\/\d+$/, ['chown', 'CAP_', 'CAP_lower', 'KILL']],
	[/^\/linux\/seccomp\/(defaultAction|syscalls\/\d+\/action)$/, ['SCMP_ACT_NOPE', 'allow']],
	[/^\/linux\/seccomp\/architectures\/\d+$/, ['SCMP_ARCH_NOPE', 'x86_64']],
	[/^\/linux\/rootfsPropagation$/, ['everywhere', 'rshared ']],
	[/^\/linux\/resources\/devices\/\d+\/access$/, ['x', 'RWM', 'all', '']],
	[/^\/linux\/resources\/hugepageLimits\/\d+\/pageSize$/, ['64kB', '2M', 'huge']],
	[/^\/ociVersion$/, ['one', '1.0', 'v1.0.0']],
	[/^\/(root\/path)$/, ['']],
	[/^\/mounts\/\d+\/destination$/, ['']],
];

/** A config exercising most of the schema: what the malformed ones start from. */
export function richConfig(base) {
	const c = structuredClone(base);
	c.process.user = { uid: 0, gid: 0, additionalGids: [1, 2], umask: 18 };
	c.process.oomScoreAdj = 100;
	c.process.capabilities.inheritable = ['CAP_KILL'];
	c.process.rlimits.push({ type: 'RLIMIT_NPROC', hard: 500, soft: 400 });
	c.hooks = {
		prestart: [{ path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5 }],
		poststop: [{ path: '/bin/true' }],
	};
	c.annotations = { 'org.example.key': 'value' };
	c.linux.sysctl = { 'net.ipv4.ip_forward': '0' };
	c.linux.rootfsPropagation = 'private';
	c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }];
	c.linux.resources = {
		devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
		memory: { limit: 268435456, reservation: 134217728 },
		cpu: { shares: 512, quota: 50000, period: 100000 },
		pids: { limit: 100 },
		hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
	};
	c.linux.seccomp = {
		defaultAction: 'SCMP_ACT_ALLOW',
		architectures: ['SCMP_ARCH_X86_64'],
		syscalls: [{ names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }],
	};
	return c;
}

function leaves(config) {
	const out = [];
	const walk = (v, p) => {
		if (p.length) out.push(p);
		if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...p, k]);
	};
	walk(config, []);
	return out;
}

const ptr = (p) => '/' + p.map((k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** One fault in c (in place); returns its pointer, or undefined if none applied. */
function fault(c, rnd, done) {
	const paths = leaves(c);
	for (let tries = 0; tries < 20; tries++) {
		const p = pick(rnd, paths);
		const where = ptr(p);
		// a second fault on or around the first could undo it (a string made a number, then a string again)
		if (done.some((d) => d === where || d.startsWith(`${where}/`) || where.startsWith(`${d}/`))) continue;
		let parent = c;
		for (const k of p.slice(0, -1)) parent = parent?.[k];
		if (!parent || typeof parent !== 'object') continue;
		const key = p[p.length - 1];
		if (!(key in parent)) continue;
		const kind = rnd();
		if (kind < 0.2 && REQUIRED.some((r) => r.test(where))) {
			if (Array.isArray(parent)) continue;
			delete parent[key];
			return where;
		}
		const closed = CLOSED.find(([r]) => r.test(where));
		if (kind < 0.45 && closed) {
			parent[key] = pick(rnd, closed[1]);
			return where;
		}
		// free-form maps take any string key, but not a non-string value
		parent[key] = pick(rnd, wrongKind(parent[key]));
		return where;
	}
	return undefined;
}

/** A malformed copy of `config`: 1 to 3 faults; `where` lists them. */
export function malformed(config, rnd) {
	const c = structuredClone(config);
	const where = [];
	const n = 1 + Math.floor(rnd() * 3);
	for (let i = 0; i < n; i++) {
		const w = fault(c, rnd, where);
		if (w) where.push(w);
	}
	return { config: c, where };
}
