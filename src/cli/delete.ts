import { command } from './common.js';

export const del = command<{ id: string; force: boolean }>({
  name: 'delete',
  describe: 'delete a stopped container (--force: kill it first)',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: { force: { type: 'boolean', alias: 'f', default: false, describe: 'kill a running container, ignore a missing one' } },
  run: async (a) => {
    const { deleteContainer } = await import('../lifecycle/delete.js');
    await deleteContainer(a.root, a.id, a.force);
  },
});
