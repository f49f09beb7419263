// Polling: the tests wait for what the kernel shows rather than sleep.
import { setTimeout as delay } from 'node:timers/promises';
import util from 'node:util';

/** Poll fn until it returns something truthy; fail after deadlineMs with the last value or error. */
export async function waitFor(fn, deadlineMs = 10_000, what = '') {
	const end = Date.now() + deadlineMs;
	let last;
	for (let interval = 5; ; interval = Math.min(interval * 2, 100)) {
		try {
			const v = await fn();
			if (v) return v;
			last = v;
		} catch (err) {
			last = err;
		}
		if (Date.now() > end) {
			throw new Error(`waitFor${what ? ` ${what}` : ''}: still false after ${deadlineMs} ms; last: ${util.inspect(last)}`);
		}
		await delay(interval);
	}
}
