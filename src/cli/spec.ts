import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const spec: CommandModule<GlobalArgs, GlobalArgs & { bundle: string; rootless: boolean }> = {
  command: 'spec',
  describe: 'write a starter config.json into the bundle directory',
  builder: (y) =>
    y
      .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'where to write config.json' })
      .option('rootless', { type: 'boolean', default: false, describe: 'a config for an unprivileged user' }),
  handler: async (a) => {
    const { writeSpec } = await import('../lifecycle/spec.js');
    writeSpec(a.bundle, a.rootless);
  },
};
