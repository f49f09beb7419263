/**
 * The tsrun command line: runc's global flags and commands, one file per command in this folder.
 * Commands only parse flags and call one lifecycle function; this file alone prints errors (one
 * line on stderr, plus a {"level":"error","msg","time"} line in --log with --log-format json) and
 * sets exit status 1.
 */
import yargs from 'yargs';
import { pathToFileURL } from 'node:url';
import { TsrunError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { DEFAULT_ROOT } from '../state/paths.js';
import { SPEC_VERSION, TSRUN_VERSION } from '../version.js';

import { create } from './create.js';
import { del } from './delete.js';
import { features } from './features.js';
import { kill } from './kill.js';
import { list } from './list.js';
import { run } from './run.js';
import { spec } from './spec.js';
import { start } from './start.js';
import { state } from './state.js';

export function versionText(): string {
  return `tsrun version ${TSRUN_VERSION}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`;
}

function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TsrunError) {
    for (const c of err.cleanupErrors) log.warn(`also failed to clean up: ${(c as Error).message}`);
  }
  log.error(message);
  if (err instanceof TsrunError) {
    if (log.debugEnabled && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
  }
  process.exitCode = 1;
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    process.stdout.write(versionText());
    return;
  }
  const parser = yargs(argv)
    .scriptName('tsrun')
    .usage('$0 [global options] <command> [options] <container-id>\n\nAn OCI runtime (runtime-spec 1.3.0), runc-compatible.')
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'directory for container state', global: true })
    .option('log', { type: 'string', describe: 'log file (default: stderr)', global: true })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'log format', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'debug logging', global: true })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'use systemd for cgroups (not supported)', global: true })
    .option('rootless', { type: 'string', describe: 'accepted for runc compatibility', global: false, hidden: true })
    .option('criu', { type: 'string', describe: 'accepted for runc compatibility', hidden: true })
    .middleware((a) => {
      configureLog({ file: a.log as string | undefined, format: a['log-format'] as 'text' | 'json', debug: a.debug as boolean });
      if (a['systemd-cgroup']) {
        throw new TsrunError('--systemd-cgroup is not supported: tsrun manages cgroupfs directly', { kind: 'usage' });
      }
    })
    .command(create as never)
    .command(start as never)
    .command(run as never)
    .command(state as never)
    .command(kill as never)
    .command(del as never)
    .command(list as never)
    .command(spec as never)
    .command(features as never)
    .demandCommand(1, 'a command is required')
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .version(false)
    .help()
    .wrap(null)
    .fail((msg, err) => {
      throw err ?? new TsrunError(msg, { kind: 'usage' });
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    report(err);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main(process.argv.slice(2));
}
