import { command } from './common.js';

export const spec = command<{ bundle: string; rootless: boolean }>({
  name: 'spec',
  describe: 'write a starter config.json into the bundle directory',
  positionals: [],
  stateless: true,
  options: {
    bundle: { type: 'string', alias: 'b', default: '.', describe: 'where to write config.json' },
    rootless: { type: 'boolean', default: false, describe: 'a config for an unprivileged user' },
  },
  run: async (a) => {
    const { writeSpec } = await import('../lifecycle/spec.js');
    writeSpec(a.bundle, a.rootless);
  },
});
