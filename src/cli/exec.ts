import { callerPath, currentCall } from '../call.js';
import { usageError, wrap } from '../errors.js';
import { command } from './common.js';

interface ExecArgs {
  id: string;
  command: string[];
  process?: string;
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  'additional-gids': string[];
  cap: string[];
  'no-new-privs': boolean;
  apparmor?: string;
  'process-label'?: string;
  detach: boolean;
  'pid-file'?: string;
  'console-socket'?: string;
  'preserve-fds': number;
  'ignore-paused': boolean;
  cgroup: string[];
}

export const exec = command<ExecArgs>({
  name: 'exec',
  describe: 'run a new process in a running container (the command follows the id, or --process FILE)',
  positionals: [{ name: 'id', required: true, describe: 'container id' }],
  rest: 'command',
  options: {
    process: { type: 'string', alias: 'p', describe: 'a process.json (the spec\'s process object) to run' },
    tty: { type: 'boolean', alias: 't', default: false, describe: 'give the process a terminal' },
    cwd: { type: 'string', describe: 'working directory in the container' },
    env: { type: 'array', alias: 'e', default: [], describe: 'KEY=value added to the environment (repeatable)' },
    user: { type: 'string', alias: 'u', describe: 'uid[:gid]' },
    'additional-gids': { type: 'array', alias: 'g', default: [], describe: 'supplementary group ids (repeatable)' },
    cap: { type: 'array', alias: 'c', default: [], describe: 'capability to add (repeatable)' },
    'no-new-privs': { type: 'boolean', default: false, describe: 'set no_new_privs' },
    detach: { type: 'boolean', alias: 'd', default: false, describe: 'return once the process runs' },
    'pid-file': { type: 'string', describe: 'file to write the process pid to' },
    'console-socket': { type: 'string', describe: 'AF_UNIX socket that receives the pty master' },
    'preserve-fds': { type: 'number', default: 0, describe: 'pass N extra fds (3..3+N-1) to the process' },
    'ignore-paused': { type: 'boolean', default: false, describe: 'exec even if the container is paused' },
    'process-label': { type: 'string', describe: 'SELinux label of the process (SELinux hosts only)' },
    apparmor: { type: 'string', describe: 'AppArmor profile of the process (AppArmor hosts only)' },
    cgroup: {
      type: 'array',
      default: [],
      describe: 'run the process in an existing sub-cgroup of the container\'s: PATH, or CONTROLLER[,CONTROLLER]:PATH on cgroup v1 (repeatable)',
    },
  },
  run: async (a) => {
    const { execInContainer } = await import('../lifecycle/exec.js');
    const gids = a['additional-gids'].map(Number);
    if (gids.some((g) => !Number.isInteger(g) || g < 0)) throw usageError('--additional-gids takes numbers');
    // As runc: a failure to start the process exits 255, apart from any status the process returns.
    const failed = (err: unknown) => {
      const e = wrap(err, 'exec failed');
      e.exitCode = 255;
      throw e;
    };
    currentCall().exitCode = await execInContainer({
      root: a.root,
      id: a.id,
      processFile: callerPath(a.process),
      args: a.command,
      tty: a.tty,
      cwd: a.cwd,
      env: a.env,
      user: a.user,
      additionalGids: gids,
      caps: a.cap,
      noNewPrivs: a['no-new-privs'],
      apparmorProfile: a.apparmor,
      processLabel: a['process-label'],
      detach: a.detach,
      pidFile: callerPath(a['pid-file']),
      consoleSocket: callerPath(a['console-socket']),
      preserveFds: a['preserve-fds'],
      ignorePaused: a['ignore-paused'],
      cgroup: a.cgroup.map(String),
    }).catch(failed);
  },
});
