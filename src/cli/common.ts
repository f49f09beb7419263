/**
 * How a command is declared: its positionals and flags once, as data. main.ts turns the same
 * declaration into a yargs command (help, usage errors) and into the options of yargs' own parser
 * (yargs-parser) for the fast path every ordinary invocation takes.
 */
export interface GlobalArgs {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
}

export interface OptionSpec {
  /** 'array': a string that may be given several times (--env A=1 --env B=2) */
  type: 'string' | 'boolean' | 'number' | 'array';
  alias?: string;
  default?: string | boolean | number | string[];
  choices?: readonly string[];
  describe: string;
  hidden?: boolean;
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  describe: string;
}

export interface CommandSpec<A = Record<string, unknown>> {
  name: string;
  aliases?: string[];
  describe: string;
  positionals: PositionalSpec[];
  /** the name of an array argument that takes the words after the positionals */
  rest?: string;
  options: Record<string, OptionSpec>;
  /** the command never reads --root (spec, features): no state root is resolved for it */
  stateless?: boolean;
  run(args: A & GlobalArgs): Promise<void>;
}

export const globalOptions: Record<string, OptionSpec> = {
  root: { type: 'string', describe: 'directory for container state (default: /run/tsrun; rootless: $XDG_RUNTIME_DIR/tsrun)' },
  log: { type: 'string', describe: 'log file (default: stderr)' },
  'log-format': { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'log format' },
  debug: { type: 'boolean', default: false, describe: 'debug logging' },
  'systemd-cgroup': { type: 'boolean', default: false, describe: 'create cgroups as systemd transient units (linux.cgroupsPath "slice:prefix:name")' },
  rootless: { type: 'string', describe: "leave out cgroups the caller may not write: 'true', 'false' or 'auto' (default: auto, when rootless)" },
  criu: { type: 'string', describe: 'accepted for runc compatibility', hidden: true },
};

/** Declares a command with its argument type checked against its flags. */
export function command<A>(spec: CommandSpec<A>): CommandSpec<A> {
  return spec;
}
