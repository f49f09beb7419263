import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const list: CommandModule<GlobalArgs, GlobalArgs & { format: 'table' | 'json'; quiet: boolean }> = {
  command: 'list',
  aliases: ['ps-all'],
  describe: 'list the containers under --root',
  builder: (y) =>
    y
      .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only the ids' }),
  handler: async (a) => {
    const { listContainers } = await import('../lifecycle/query.js');
    const { formatList } = await import('../lifecycle/list-format.js');
    process.stdout.write(formatList(await listContainers(a.root), a.format, a.quiet));
  },
};
