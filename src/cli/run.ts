import type { Argv, CommandModule } from 'yargs';
import { wrap } from '../errors.js';
import type { GlobalArgs } from './common.js';
import { createFlags } from './create.js';

interface Args extends GlobalArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'preserve-fds': number;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  detach: boolean;
}

export const run: CommandModule<GlobalArgs, Args> = {
  command: 'run <id>',
  describe: 'create and start a container; without --detach wait and exit with its status',
  builder: (y) =>
    createFlags(y).option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once started' }) as unknown as Argv<Args>,
  handler: async (a) => {
    const { runContainer } = await import('../lifecycle/run.js');
    process.exitCode = await runContainer({
      root: a.root,
      id: a.id,
      bundle: a.bundle,
      pidFile: a['pid-file'],
      consoleSocket: a['console-socket'],
      preserveFds: a['preserve-fds'],
      noPivot: a['no-pivot'],
      noNewKeyring: a['no-new-keyring'],
      detach: a.detach,
    }).catch((err) => {
      throw wrap(err, 'tsrun run failed');
    });
  },
};
