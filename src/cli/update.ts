import { command } from './common.js';

interface UpdateArgs {
  id: string;
  resources?: string;
  memory?: string;
  'memory-reservation'?: string;
  'memory-swap'?: string;
  'kernel-memory'?: string;
  'cpu-share'?: string;
  'cpu-quota'?: string;
  'cpu-burst'?: string;
  'cpu-period'?: string;
  'cpu-rt-runtime'?: string;
  'cpu-rt-period'?: string;
  'cpuset-cpus'?: string;
  'cpuset-mems'?: string;
  'pids-limit'?: string;
  'blkio-weight'?: string;
}

export const update = command<UpdateArgs>({
  name: 'update',
  describe: 'change the resource limits of a running container',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: {
    resources: { type: 'string', alias: 'r', describe: 'a LinuxResources JSON file, or - for stdin (flags are then ignored)' },
    memory: { type: 'string', describe: 'memory limit in bytes (k, m, g suffixes)' },
    'memory-reservation': { type: 'string', describe: 'memory soft limit in bytes' },
    'memory-swap': { type: 'string', describe: 'memory plus swap limit in bytes' },
    'kernel-memory': { type: 'string', describe: 'ignored (kernels no longer limit it)', hidden: true },
    'cpu-share': { type: 'string', describe: 'CPU shares (relative weight)' },
    'cpu-quota': { type: 'string', describe: 'CPU CFS quota in microseconds' },
    'cpu-burst': { type: 'string', describe: 'CPU CFS burst in microseconds' },
    'cpu-period': { type: 'string', describe: 'CPU CFS period in microseconds' },
    'cpu-rt-runtime': { type: 'string', describe: 'real-time runtime in microseconds' },
    'cpu-rt-period': { type: 'string', describe: 'real-time period in microseconds' },
    'cpuset-cpus': { type: 'string', describe: 'CPUs the container may use (0-3,5)' },
    'cpuset-mems': { type: 'string', describe: 'memory nodes the container may use' },
    'pids-limit': { type: 'string', describe: 'maximum number of processes' },
    'blkio-weight': { type: 'string', describe: 'block I/O weight (10-1000)' },
  },
  run: async (a) => {
    const { readResourcesFile, resourcesFromFlags, updateContainer } = await import('../lifecycle/update.js');
    const resources = a.resources
      ? readResourcesFile(a.resources)
      : resourcesFromFlags({
          memory: a.memory,
          memoryReservation: a['memory-reservation'],
          memorySwap: a['memory-swap'],
          cpuShares: a['cpu-share'],
          cpuQuota: a['cpu-quota'],
          cpuBurst: a['cpu-burst'],
          cpuPeriod: a['cpu-period'],
          cpuRtRuntime: a['cpu-rt-runtime'],
          cpuRtPeriod: a['cpu-rt-period'],
          cpusetCpus: a['cpuset-cpus'],
          cpusetMems: a['cpuset-mems'],
          pidsLimit: a['pids-limit'],
          blkioWeight: a['blkio-weight'],
        });
    await updateContainer(a.root, a.id, resources);
  },
});
