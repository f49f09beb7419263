import { command } from './common.js';

export const events = command<{ id: string; stats: boolean; interval: string }>({
  name: 'events',
  describe: 'display container events (OOM kills) and resource statistics',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {
    interval: { type: 'string', default: '5s', describe: 'stats collection interval (a Go duration: 5s, 500ms, 1m)' },
    stats: { type: 'boolean', default: false, describe: "display the container's stats once, then exit" },
  },
  run: async (a) => {
    const { containerEvents, parseDuration } = await import('../lifecycle/events.js');
    await containerEvents(a.root, a.id, { stats: a.stats, intervalMs: parseDuration(a.interval) });
  },
});
