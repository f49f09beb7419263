// A runtime command left running in the foreground (run, exec), for a test that signals it: its
// stdout is collected, and the promise resolves once `ready` has been printed.
import { execa } from 'execa';
import { waitFor } from './wait.js';

export async function foreground(c, args, ready) {
	const [file, ...argv] = c.commandLine(args);
	const child = execa(file, argv, { reject: false, cwd: c.dir, stdin: 'ignore', timeout: 60_000 });
	let out = '';
	child.stdout.on('data', (d) => (out += d));
	await waitFor(() => out.includes(ready) || child.exitCode !== null, 20_000, `"${ready}" on stdout`);
	return { child, output: () => out };
}

/** A shell script that reports the signals it gets, exits 42 on TERM, and prints "ready" first. */
export const SIGNAL_REPORTER = `trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done`;

/** Sends USR1, HUP then TERM to the runtime process; checks each reached the container's process and the exit status 42. */
export async function checkForwarding(assert, { child, output }) {
	for (const [signal, seen] of [['SIGUSR1', 'got-usr1'], ['SIGHUP', 'got-hup']]) {
		child.kill(signal);
		await waitFor(() => output().includes(seen), 10_000, `${signal} forwarded`);
	}
	child.kill('SIGTERM');
	const r = await child;
	assert.match(output(), /got-term/);
	assert.equal(r.exitCode, 42, `${r.stderr}`);
}
