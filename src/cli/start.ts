import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const start: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'start <id>',
  describe: 'run the user process of a created container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }),
  handler: async (a) => {
    const { startContainer } = await import('../lifecycle/start.js');
    await startContainer(a.root, a.id);
  },
};
