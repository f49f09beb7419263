import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './common.js';

export const features: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'features',
  describe: 'print the features this runtime recognises (JSON)',
  handler: async () => {
    const { features: describe } = await import('../lifecycle/features.js');
    process.stdout.write(JSON.stringify(describe(), null, '    ') + '\n');
  },
};
