import { currentCall } from '../call.js';
import { command } from './common.js';

export const ps = command<{ id: string; format: 'table' | 'json'; 'ps-args'?: string[] }>({
  name: 'ps',
  describe: 'list the processes of a container (json: their host pids)',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  // ps(1) arguments after the id (`tsrun ps ID -- -o pid,cmd`) reach ps as they are
  rest: 'ps-args',
  options: { format: { type: 'string', alias: 'f', choices: ['table', 'json'], default: 'table', describe: 'output format' } },
  run: async (a) => {
    const { containerPids, psTable } = await import('../lifecycle/ps.js');
    const pids = containerPids(a.root, a.id);
    currentCall().out(a.format === 'json' ? JSON.stringify(pids) + '\n' : await psTable(pids, a['ps-args'] ?? []));
  },
});
