import { wrap } from '../errors.js';
import { command } from './common.js';
import { createOptions, createOptionsOf, type CreateArgs } from './create.js';

export const run = command<CreateArgs & { detach: boolean; keep: boolean }>({
  name: 'run',
  describe: 'create and start a container; without --detach wait and exit with its status',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {
    ...createOptions,
    detach: { type: 'boolean', alias: 'd', default: false, describe: 'return once started' },
    keep: { type: 'boolean', default: false, describe: 'keep the stopped container (state dir, cgroup) for a later delete' },
    // runc's run is a child subreaper unless told not to; tsrun never is (the init, pid 1 of its
    // own pid namespace, reaps its orphans), so the flag changes nothing.
    'no-subreaper': { type: 'boolean', default: false, describe: 'accepted for runc compatibility (tsrun is never a subreaper)' },
  },
  run: async (a) => {
    const { runContainer } = await import('../lifecycle/run.js');
    process.exitCode = await runContainer({ ...createOptionsOf(a), detach: a.detach, keep: a.keep }).catch((err) => {
      throw wrap(err, 'tsrun run failed');
    });
  },
});
