import { command } from './common.js';

export const kill = command<{ id: string; signal?: string; all: boolean }>({
  name: 'kill',
  describe: 'send a signal (default SIGTERM) to the container init',
  positionals: [
    { name: 'id', required: true, describe: 'container id' },
    { name: 'signal', required: false, describe: 'number (9), name (KILL) or SIGKILL' },
  ],
  options: { all: { type: 'boolean', alias: 'a', default: false, describe: 'signal every process in the container' } },
  run: async (a) => {
    const { killContainer, parseSignal } = await import('../lifecycle/kill.js');
    await killContainer(a.root, a.id, parseSignal(a.signal), a.all);
  },
});
