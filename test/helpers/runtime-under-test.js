// The runtime under test: tsrun's door build/Release/tsrun, which hands calls to the resident engine
// (`node bin/tsrun.cjs`, everything in-process, with TSRUN_ENGINE=off) unless TSRUN_TEST_RUNTIME (or RUNTIME) names another
// command, e.g. TSRUN_TEST_RUNTIME=runc to check the suite itself against runc; and the skip
// reasons for tests that runc fails for a known reason.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './test-run.js';

function resolveRuntime() {
	const spec = (process.env.TSRUN_TEST_RUNTIME || process.env.RUNTIME || '').trim();
	if (!spec) {
		if (process.env.TSRUN_ENGINE === 'off') return { file: process.execPath, args: [path.join(REPO, 'bin/tsrun.cjs')], name: 'tsrun' };
		return { file: path.join(REPO, 'build/Release/tsrun'), args: [], name: 'tsrun' };
	}
	const parts = spec.split(/\s+/);
	if (parts.length === 1 && /\.[cm]?js$/.test(parts[0])) {
		return { file: process.execPath, args: [path.resolve(parts[0])], name: path.basename(parts[0]).replace(/\.[cm]?js$/, '') };
	}
	return { file: parts[0], args: parts.slice(1), name: path.basename(parts[0]) };
}

/** The runtime under test: `file` + `args` are prepended to every command line. */
export const RUNTIME = resolveRuntime();
export const isRunc = RUNTIME.name === 'runc';
export const isCrun = RUNTIME.name === 'crun';
export const isTsrun = RUNTIME.name === 'tsrun';
/** tsrun through its door and resident engine (not TSRUN_ENGINE=off) */
export const viaEngine = isTsrun && RUNTIME.file.endsWith('/build/Release/tsrun') && process.env.TSRUN_ENGINE !== 'off';

/** node:test option for tests runc fails for a known reason: skipped when checking the suite against runc. */
export function notOnRunc(reason) {
	return isRunc ? `runc ${RUNTIME_VERSION}: ${reason}` : false;
}

/** "1.1.5+ds1" for runc, to label tests skipped because of that version's behaviour. */
export const RUNTIME_VERSION = (() => {
	if (!isRunc) return '';
	try {
		const out = execFileSync(RUNTIME.file, [...RUNTIME.args, '--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
		return /runc version (\S+)/.exec(String(out))?.[1] ?? '';
	} catch {
		return '';
	}
})();
