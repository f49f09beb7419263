import { currentCall } from '../call.js';
import { command } from './common.js';

export const state = command<{ id: string }>({
  name: 'state',
  describe: 'print the state of a container as JSON',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {},
  run: async (a) => {
    const { queryState } = await import('../lifecycle/query.js');
    currentCall().out(JSON.stringify(await queryState(a.root, a.id), null, '  ') + '\n');
  },
});
