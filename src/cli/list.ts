import { currentCall } from '../call.js';
import { command } from './common.js';

export const list = command<{ format: 'table' | 'json'; quiet: boolean }>({
  name: 'list',
  describe: 'list the containers under --root',
  positionals: [],
  options: {
    format: { type: 'string', alias: 'f', choices: ['table', 'json'], default: 'table', describe: 'output format' },
    quiet: { type: 'boolean', alias: 'q', default: false, describe: 'print only the ids' },
  },
  run: async (a) => {
    const { listContainers } = await import('../lifecycle/query.js');
    const { formatList } = await import('../lifecycle/list-format.js');
    currentCall().out(formatList(await listContainers(a.root), a.format, a.quiet));
  },
});
