import { callerPath } from '../call.js';
import { usageError, wrap } from '../errors.js';
import { command, type OptionSpec } from './common.js';

export const createOptions = {
  bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the bundle directory' },
  'pid-file': { type: 'string', describe: 'file to write the container init pid to' },
  'console-socket': { type: 'string', describe: 'AF_UNIX socket that receives the pty master' },
  'preserve-fds': { type: 'number', default: 0, describe: 'pass N extra fds (3..3+N-1) into the container' },
  'no-pivot': { type: 'boolean', default: false, describe: 'use MS_MOVE + chroot instead of pivot_root' },
  'no-new-keyring': { type: 'boolean', default: false, describe: 'do not create a new session keyring' },
} satisfies Record<string, OptionSpec>;

export interface CreateArgs {
  id: string;
  bundle: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'preserve-fds': number;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  /** the global --rootless */
  rootless?: string;
}

export function createOptionsOf(a: CreateArgs & { root: string; 'systemd-cgroup'?: boolean }) {
  return {
    root: a.root,
    rootlessCgroups: parseRootlessFlag(a.rootless),
    id: a.id,
    bundle: callerPath(a.bundle),
    pidFile: callerPath(a['pid-file']),
    consoleSocket: callerPath(a['console-socket']),
    preserveFds: a['preserve-fds'],
    noPivot: a['no-pivot'],
    noNewKeyring: a['no-new-keyring'],
    systemdCgroup: a['systemd-cgroup'] === true,
  };
}

export const create = command<CreateArgs>({
  name: 'create',
  describe: 'create a container (held at "created" until start)',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  options: createOptions,
  run: async (a) => {
    const { createContainer } = await import('../lifecycle/create.js');
    await createContainer(createOptionsOf(a)).catch((err) => {
      throw wrap(err, 'tsrun create failed');
    });
  },
});

/** runc's global --rootless true|false|auto: whether cgroups the caller may not write are left out (auto: when rootless). */
export function parseRootlessFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(value)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value)) return false;
  throw usageError(`invalid value ${JSON.stringify(value)} for --rootless: want true, false or auto`);
}
