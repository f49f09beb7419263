import { currentCall } from '../call.js';
import { command } from './common.js';

export const features = command<Record<string, never>>({
  name: 'features',
  describe: 'print the features this runtime recognises (JSON)',
  positionals: [],
  stateless: true,
  options: {},
  run: async () => {
    const { features: describe } = await import('../lifecycle/features.js');
    currentCall().out(JSON.stringify(describe(), null, '    ') + '\n');
  },
});
