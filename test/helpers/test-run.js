// What one test run is and where its things live: the repository, the temp dir, the prefixes that
// name every temp dir, container id and cgroup of the run (so concurrent runs do not see each
// other), and whether it runs as root.
import crypto from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const TMP = os.tmpdir();
export const PREFIX = 'tsrun-it-';
export const CGROUP_PARENT = 'tsrun-it';
/** One id per `npm test` run (set by scripts/run-tests.js) so concurrent runs do not see each other. */
export const RUN_ID = process.env.TSRUN_TEST_RUN_ID || crypto.randomBytes(3).toString('hex');
/** Prefix of every temp dir and container id this run creates. */
export const RUN_PREFIX = `${PREFIX}${RUN_ID}-`;

export const isRoot = process.getuid?.() === 0;

/** Skip reason for tests that need root (string) or false. */
export const needsRoot = isRoot ? false : 'integration tests need root';
