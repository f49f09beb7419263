import type { Argv, CommandModule } from 'yargs';
import { wrap } from '../errors.js';
import type { GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'preserve-fds': number;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
}

export const createFlags = (y: Argv<GlobalArgs>) =>
  y
    .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the bundle directory' })
    .option('pid-file', { type: 'string', describe: 'file to write the container init pid to' })
    .option('console-socket', { type: 'string', describe: 'AF_UNIX socket that receives the pty master' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N extra fds (3..3+N-1) into the container' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'use MS_MOVE + chroot instead of pivot_root' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'do not create a new session keyring' });

export const create: CommandModule<GlobalArgs, Args> = {
  command: 'create <id>',
  describe: 'create a container (held at "created" until start)',
  builder: (y) => createFlags(y) as unknown as Argv<Args>,
  handler: async (a) => {
    const { createContainer } = await import('../lifecycle/create.js');
    await createContainer({
      root: a.root,
      id: a.id,
      bundle: a.bundle,
      pidFile: a['pid-file'],
      consoleSocket: a['console-socket'],
      preserveFds: a['preserve-fds'],
      noPivot: a['no-pivot'],
      noNewKeyring: a['no-new-keyring'],
    }).catch((err) => {
      throw wrap(err, 'tsrun create failed');
    });
  },
};
