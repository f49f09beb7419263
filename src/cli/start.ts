import { command } from './common.js';

export const start = command<{ id: string }>({
  name: 'start',
  describe: 'run the user process of a created container',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {},
  run: async (a) => {
    const { startContainer } = await import('../lifecycle/start.js');
    await startContainer(a.root, a.id);
  },
});
