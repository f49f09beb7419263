import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const kill: CommandModule<GlobalArgs, GlobalArgs & { id: string; signal?: string; all: boolean }> = {
  command: 'kill <id> [signal]',
  describe: 'send a signal (default SIGTERM) to the container init',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('signal', { type: 'string', describe: 'number (9), name (KILL) or SIGKILL' })
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'signal every process in the container' }),
  handler: async (a) => {
    const { killContainer, parseSignal } = await import('../lifecycle/kill.js');
    await killContainer(a.root, a.id, parseSignal(a.signal), a.all);
  },
};
