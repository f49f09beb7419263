/**
 * The tsrun command line: runc's global flags and commands, one file per command in this folder,
 * each declared as data (common.ts). Commands only parse flags and call one lifecycle function;
 * this file alone prints errors (one line on stderr, plus a {"level":"error","msg","time"} line in
 * --log with --log-format json) and sets exit status 1.
 *
 * Two parsers read the same declarations. yargs-parser (yargs' own tokenizer) handles every
 * ordinary invocation: clients run tsrun many times per container, and building a full yargs
 * instance costs more than Node's own startup (it lays out the help text on every parse). Anything
 * it does not fully understand — --help, an unknown flag, a missing argument — goes to yargs, which
 * gives the usage text and the error message.
 */
import parseArgs from 'yargs-parser';
import { callerPath, currentCall } from '../call.js';
import { TsrunError } from '../errors.js';
import { loadYargs } from '../lazy.js';
import { configureLog, log } from '../log.js';
import { caller } from '../rootless.js';
import { defaultStateRoot } from '../state/default-root.js';
import { SPEC_VERSION, TSRUN_VERSION, buildInfo } from '../version.js';
import { globalOptions, type CommandSpec, type GlobalArgs, type OptionSpec } from './common.js';
import { create } from './create.js';
import { del } from './delete.js';
import { events } from './events.js';
import { exec } from './exec.js';
import { features } from './features.js';
import { kill } from './kill.js';
import { list } from './list.js';
import { pause, resume } from './pause.js';
import { ps } from './ps.js';
import { run } from './run.js';
import { spec } from './spec.js';
import { start } from './start.js';
import { state } from './state.js';
import { update } from './update.js';

type AnyCommand = CommandSpec<never>;
export const commands = [create, start, run, exec, state, kill, del, list, pause, resume, ps, update, events, spec, features] as unknown as AnyCommand[];

/** runc's --version lines (dockerd and containerd read the first), with node where runc says go. */
export function versionText(): string {
  const build = buildInfo();
  const lines = [`tsrun version ${TSRUN_VERSION}`, `commit: ${build.commit}`, `spec: ${SPEC_VERSION}`, `node: ${process.version}`];
  if (build.libseccomp) lines.push(`libseccomp: ${build.libseccomp}`);
  return lines.join('\n') + '\n';
}

/** A help request as runc reads one: no words at all, `help [TOPIC]` (or `h`), or -h/--help with a command. */
function helpTopic(argv: string[]): { topic?: string } | undefined {
  if (argv.length === 0) return {};
  const at = firstWord(argv, 0, globalOptions);
  const word = at < 0 ? undefined : argv[at];
  if (word === 'help' || word === 'h') return { topic: argv[at + 1] };
  const cmd = commands.find((c) => c.name === word);
  // a command's own words (exec's command line) may hold -h: only what comes before them counts
  const own = cmd ? (prepareArgv(argv)?.argv ?? argv) : argv;
  if (own.includes('-h') || own.includes('--help')) return { topic: word };
  return undefined;
}

/** runc's words and exit status (3) for a command it does not have. */
function noHelpTopic(word: string): TsrunError {
  const err = new TsrunError(`No help topic for '${word}'`, { kind: 'usage' });
  err.exitCode = 3;
  return err;
}

/** Prints the help of topic (a command, or everything); an unknown one is runc's error, exit 3. */
async function showHelp(topic: string | undefined): Promise<void> {
  if (topic !== undefined && !commands.some((c) => c.name === topic)) {
    throw noHelpTopic(topic);
  }
  const parser = yargsCli(topic === undefined ? [] : [topic], runCommand);
  currentCall().out(`${await parser.getHelp()}\n`);
}

function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TsrunError) {
    for (const c of err.cleanupErrors) log.warn(`also failed to clean up: ${(c as Error).message}`);
  }
  log.error(message);
  if (err instanceof TsrunError && log.debugEnabled && err.cause) {
    currentCall().err(`${String((err.cause as Error).stack ?? err.cause)}\n`);
  }
  currentCall().exitCode = err instanceof TsrunError ? err.exitCode : 1;
}

/** What the top-level help says of the door and its engine (the README's "The resident engine"). */
const ENGINE_HELP = [
  'The tsrun command (build/Release/tsrun) hands each call of the host\'s root to a resident engine, which it',
  '  starts on demand and which leaves after 30 s without a call; TSRUN_ENGINE=off runs it in-process.',
].join('\n');

/** What the top-level help says of rootless use (the README's "Rootless" section has the rest). */
const ROOTLESS_HELP = [
  'Rootless (an unprivileged user, or root of a user namespace such as rootless podman\'s):',
  '  state in $XDG_RUNTIME_DIR/tsrun; `tsrun spec --rootless` writes a config that maps root to you.',
  '  Your own uid/gid is mapped directly, wider ranges through newuidmap/newgidmap (/etc/subuid, /etc/subgid).',
  '  Cgroups: only ones you may write (cgroup v2 delegation); without one the container runs in yours, and',
  '  a limit that needs one is refused; --systemd-cgroup uses your systemd instance (its bus, cgroup v2).',
  '  Device nodes are bound from the host; locked mount flags are kept;',
  '  sysfs without a network namespace of its own is the host\'s /sys. Refused by field: rlimits above your',
  '  hard limit, oom_score_adj below yours, additionalGids where setgroups is denied.',
].join('\n');

/** What both parsers hand to a command once the global flags are applied. */
async function runCommand(cmd: AnyCommand, args: GlobalArgs & Record<string, unknown>): Promise<void> {
  configureLog({ file: args.log, format: args['log-format'], debug: args.debug });
  // A relative --root is taken from the working directory, as runc does: the state dir and the
  // helper need an absolute one. Without one, the caller decides (rootless: XDG_RUNTIME_DIR).
  if (args.root) args.root = callerPath(args.root);
  else if (!(cmd as CommandSpec).stateless) args.root = defaultStateRoot(caller(), currentCall().env);
  await cmd.run(args as never);
}

/**
 * The option a flag token names (--name or -alias, without "=value"); undefined if unknown. Short
 * flags may come together (-td), as yargs-parser reads them: booleans, then one that may take a value.
 */
function optionOf(token: string, options: Record<string, OptionSpec>): OptionSpec | undefined {
  const name = token.replace(/^--?/, '');
  if (token.startsWith('--')) return options[name];
  const shorts = [...name].map((letter) => Object.values(options).find((o) => o.alias === letter));
  const last = shorts.pop();
  return shorts.every((o) => o?.type === 'boolean') ? last : undefined;
}

/**
 * The index of the first word that is neither a flag nor a flag's value, from `from` on; -1 when
 * there is none or a flag is not known (the slow path then explains).
 */
function firstWord(argv: string[], from: number, options: Record<string, OptionSpec>): number {
  for (let i = from; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (!token.startsWith('-') || token === '-') return i;
    if (token.includes('=')) continue;
    const option = optionOf(token, options);
    if (!option) return -1;
    if (option.type !== 'boolean') i++;
  }
  return -1;
}

/** The command and where its name stands in argv. */
function findCommand(argv: string[]): { cmd: AnyCommand; at: number } | undefined {
  const at = firstWord(argv, 0, globalOptions);
  const cmd = at < 0 ? undefined : commands.find((c) => c.name === argv[at]);
  return cmd && { cmd, at };
}

/** How both parsers read a command line (yargs' own settings are yargs-parser's). */
const parserConfiguration = {
  'camel-case-expansion': false,
  'boolean-negation': false,
  'dot-notation': false,
  // repeated array flags add up (--env A=1 -e B=2); any other flag given twice: the last wins (lastGiven)
  'duplicate-arguments-array': true,
  'flatten-duplicate-arrays': true,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'strip-aliased': true,
  'greedy-arrays': false,
};

/** The value of a flag given more than once: an array flag's values add up, any other's last one wins. */
function lastGiven(o: OptionSpec | undefined, given: unknown): unknown {
  return o?.type !== 'array' && Array.isArray(given) ? given[given.length - 1] : given;
}

/** The flags a command takes: the global ones and its own, which win over a global one of the same name. */
function commandOptions(cmd: AnyCommand): Record<string, OptionSpec> {
  return { ...globalOptions, ...cmd.options };
}

/** A command line as both parsers read it: the command, its flags and positionals, and its words. */
interface PreparedArgv {
  cmd: AnyCommand;
  /** the global options and the command's */
  options: Record<string, OptionSpec>;
  /** up to the command's last positional, for the parser */
  argv: string[];
  /** the words after it (exec's command line, ps's arguments), which reach the command as they are */
  rest: string[];
}

/**
 * Splits off the words after a command's own positionals: they belong to it as they are, flags
 * included, as runc reads them. "-" (stdin) as a string flag's value is joined to the flag
 * (--resources=-), or the parsers would take it for a word of its own. Undefined if there is no
 * command, or a flag before a command's words is not known.
 */
function prepareArgv(argv: string[]): PreparedArgv | undefined {
  const found = findCommand(argv);
  if (!found) return undefined;
  const { cmd } = found;
  const options = commandOptions(cmd);
  let rest: string[] = [];
  if (cmd.rest) {
    const id = firstWord(argv, found.at + 1, options);
    if (id < 0) return undefined;
    rest = argv.slice(id + 1);
    if (rest[0] === '--') rest.shift();
    argv = argv.slice(0, id + 1);
  }
  const stringFlag = (token: string | undefined) =>
    token !== undefined && token.startsWith('-') && !token.includes('=') && optionOf(token, options)?.type === 'string';
  argv = argv.reduce<string[]>((out, token) => {
    if (token === '-' && stringFlag(out[out.length - 1])) out[out.length - 1] += '=-';
    else out.push(token);
    return out;
  }, []);
  return { cmd, options, argv, rest };
}

type FastParsed = { cmd: AnyCommand; args: GlobalArgs & Record<string, unknown> } | undefined;

/** argv arrays parsed so far: the engine asks which command a call is before running it (0.5 ms a parse) */
const parsedArgv = new WeakMap<string[], FastParsed>();

/** Parses argv with yargs-parser; undefined unless every word is understood. Once per argv array. */
export function fastParse(argv: string[]): FastParsed {
  if (!parsedArgv.has(argv)) parsedArgv.set(argv, parseOnce(argv));
  return parsedArgv.get(argv);
}

function parseOnce(argv: string[]): FastParsed {
  const prepared = prepareArgv(argv);
  if (!prepared) return undefined;
  const { cmd, options } = prepared;
  const byType = (t: OptionSpec['type']) => Object.keys(options).filter((k) => options[k].type === t);
  const alias: Record<string, string> = {};
  const defaults: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(options)) {
    if (o.alias) alias[name] = o.alias;
    if (o.default !== undefined) defaults[name] = o.default;
  }
  const parsed = parseArgs(prepared.argv, {
    string: byType('string'),
    boolean: byType('boolean'),
    number: byType('number'),
    array: byType('array'),
    alias,
    default: defaults,
    configuration: parserConfiguration,
  });
  const known = new Set(Object.keys(options));
  for (const [key, given] of Object.entries(parsed)) {
    if (key === '_') continue;
    const o = options[key];
    const value = lastGiven(o, given);
    parsed[key] = value;
    if (!known.has(key) || value === undefined) return undefined;
    if (o.type === 'number' && (typeof value !== 'number' || Number.isNaN(value))) return undefined;
    if (o.type === 'string' && typeof value !== 'string') return undefined;
    if (o.type === 'array' && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) return undefined;
    if (o.choices && !o.choices.includes(value as string)) return undefined;
  }
  const words = parsed._.map(String).slice(1);
  const required = cmd.positionals.filter((p) => p.required).length;
  if (words.length < required || (words.length > cmd.positionals.length && !cmd.rest)) return undefined;
  const args: Record<string, unknown> = { ...parsed };
  delete args._;
  cmd.positionals.forEach((p, i) => {
    if (i < words.length) args[p.name] = words[i];
  });
  if (cmd.rest) args[cmd.rest] = [...words.slice(cmd.positionals.length), ...prepared.rest];
  return { cmd, args: args as GlobalArgs & Record<string, unknown> };
}

/**
 * The full yargs CLI from the same declarations: help, usage and its error messages. `onCommand`
 * is given what the command would be (runCommand, or a test comparing this with fastParse).
 */
export function yargsCli(argv: string[], onCommand: (cmd: AnyCommand, args: GlobalArgs & Record<string, unknown>) => Promise<void> | void) {
  const yargs = loadYargs();
  const toYargs = (o: OptionSpec) => ({
    type: o.choices ? undefined : o.type,
    coerce: o.type === 'array' ? undefined : (given: unknown) => lastGiven(o, given),
    string: o.type === 'array' ? true : undefined,
    choices: o.choices,
    alias: o.alias,
    default: o.default,
    describe: o.describe,
    hidden: o.hidden,
  });
  // yargs too sees only what comes before a command's words (it would read "sh -c" as exec's -c)
  const prepared = prepareArgv(argv);
  const withRest = (cmd: AnyCommand, a: Record<string, unknown>) =>
    cmd.rest && cmd === prepared?.cmd ? { ...a, [cmd.rest]: [...((a[cmd.rest] as string[]) ?? []), ...prepared.rest] } : a;
  let parser = yargs(prepared?.argv ?? argv)
    .scriptName('tsrun')
    .usage('$0 [global options] <command> [options] <container-id>\n\nAn OCI runtime (runtime-spec 1.3.0), runc-compatible.')
    .epilogue(`${ROOTLESS_HELP}\n\n${ENGINE_HELP}`);
  // The global flags are each command's too, as in fastParse: a command's own flag of the same
  // name (spec --rootless) replaces the global one instead of being merged with it.
  for (const [name, o] of Object.entries(globalOptions)) parser = parser.option(name, { ...toYargs(o), global: false });
  for (const cmd of commands) {
    const usage = [
      cmd.name,
      ...cmd.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)),
      ...(cmd.rest ? [`[${cmd.rest}..]`] : []),
    ].join(' ');
    parser = parser.command(
      usage,
      cmd.describe,
      (y) => {
        for (const p of cmd.positionals) y.positional(p.name, { type: 'string', describe: p.describe });
        for (const [name, o] of Object.entries(commandOptions(cmd))) y.option(name, toYargs(o));
        return y;
      },
      (a) => onCommand(cmd, withRest(cmd, a) as GlobalArgs & Record<string, unknown>),
    );
  }
  return parser
    .demandCommand(1, 'a command is required')
    .parserConfiguration(parserConfiguration)
    .strict()
    .version(false)
    .help()
    .wrap(null)
    .fail((msg, err) => {
      throw err ?? new TsrunError(msg, { kind: 'usage' });
    });
}

/** --log, --log-format and --debug wherever they are, so even a usage error is logged where asked. */
function configureLogFrom(argv: string[]): void {
  const g = parseArgs(argv, {
    string: ['log', 'log-format'],
    boolean: ['debug'],
    configuration: { 'camel-case-expansion': false, 'boolean-negation': false, 'duplicate-arguments-array': false },
  });
  const format = g['log-format'] === 'json' ? 'json' : 'text';
  configureLog({ file: typeof g.log === 'string' ? g.log : undefined, format, debug: g.debug === true });
}

export function isVersionRequest(argv: string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version');
}

export async function main(argv: string[]): Promise<void> {
  try {
    configureLogFrom(argv);
    log.phase('main');
    if (isVersionRequest(argv)) {
      currentCall().out(versionText());
      return;
    }
    const help = helpTopic(argv);
    if (help) return await showHelp(help.topic);
    const fast = fastParse(argv);
    if (fast) return await runCommand(fast.cmd, fast.args);
    const word = argv[firstWord(argv, 0, globalOptions)];
    if (word !== undefined && !commands.some((c) => c.name === word)) {
      // runc answers an unknown command as a help request for it
      throw noHelpTopic(word);
    }
    await yargsCli(argv, runCommand).parseAsync();
  } catch (err) {
    report(err);
  }
}
