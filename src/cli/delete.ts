import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const del: CommandModule<GlobalArgs, GlobalArgs & { id: string; force: boolean }> = {
  command: 'delete <id>',
  describe: 'delete a stopped container (--force: kill it first)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill a running container, ignore a missing one' }),
  handler: async (a) => {
    const { deleteContainer } = await import('../lifecycle/delete.js');
    await deleteContainer(a.root, a.id, a.force);
  },
};
