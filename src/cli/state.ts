import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const state: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'state <id>',
  describe: 'print the state of a container as JSON',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }),
  handler: async (a) => {
    const { queryState } = await import('../lifecycle/query.js');
    process.stdout.write(JSON.stringify(await queryState(a.root, a.id), null, '  ') + '\n');
  },
};
