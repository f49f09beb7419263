import { command } from './common.js';

export const pause = command<{ id: string }>({
  name: 'pause',
  describe: 'suspend every process of the container (cgroup freezer)',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {},
  run: async (a) => {
    const { pauseContainer } = await import('../lifecycle/pause.js');
    await pauseContainer(a.root, a.id);
  },
});

export const resume = command<{ id: string }>({
  name: 'resume',
  describe: 'resume the processes of a paused container',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {},
  run: async (a) => {
    const { resumeContainer } = await import('../lifecycle/pause.js');
    await resumeContainer(a.root, a.id);
  },
});
