// Malformed configs through a real create, part 4 of 5 (100 each, 500 in all; see
// test/helpers/malformed-create.js): exit 1, one line naming the field, no stack trace, nothing left.
import { test } from 'node:test';
import { malformedCreates } from '../helpers/malformed-create.js';
import { isTsrun } from '../helpers/runtime-under-test.js';
import { needsRoot } from '../helpers/test-run.js';

test('create: 100 seeded malformed configs (seed 20261129) each exit 1 with one line naming the field, and leave nothing', { skip: needsRoot || (!isTsrun && 'checks tsrun\'s messages'), timeout: 115_000 }, (t) => malformedCreates(t, 20261129, 100));
