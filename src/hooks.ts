/**
 * OCI hooks that Node runs itself (prestart, createRuntime, poststart, poststop): the container
 * state JSON on stdin, args[0] as argv0, exactly the env given, the caller's cwd, and the timeout
 * in seconds. Each is the caller's child (src/spawn.ts): served by the engine, its door starts it.
 * createContainer and startContainer run inside the container's namespaces, so tsrun-init runs
 * those.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { currentCall } from './call.js';
import { TsrunError } from './errors.js';
import type { Hook } from './bundle/spec-types.js';
import { native } from './native.js';
import type { Spawned } from './spawn.js';

export type HookName = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

/** Runs the hooks in order; the first that fails (or times out) fails the step. */
export async function runHooks(name: HookName, hooks: Hook[] | undefined, stateJson: string): Promise<void> {
  if (!hooks?.length) return;
  for (const [i, hook] of hooks.entries()) await runHook(name, i, hook, stateJson);
}

/**
 * poststart and poststop (runtime.md): a hook that fails is reported with a warning and "the
 * remaining hooks and lifecycle continue as if the hook had succeeded".
 */
export async function runHooksWarning(name: HookName, hooks: Hook[] | undefined, stateJson: string, warn: (msg: string) => void): Promise<void> {
  if (!hooks?.length) return;
  for (const [i, hook] of hooks.entries()) {
    try {
      await runHook(name, i, hook, stateJson);
    } catch (err) {
      warn((err as Error).message);
    }
  }
}

/** How long a hook's output may stay open after it exited (a child of its own holding the pipe). */
const OUTPUT_GRACE_MS = 100;

async function runHook(name: HookName, i: number, hook: Hook, stateJson: string): Promise<void> {
  const failed = (why: string) => new TsrunError(`${name} hook #${i} "${hook.path}": ${why}`, { kind: 'hook', step: name });
  const [stdinRead, stdinWrite] = native.fdPair('pipe');
  const [outputRead, outputWrite] = native.fdPair('pipe');
  let child: Spawned;
  try {
    // the caller's child, as it would be the CLI's own (src/spawn.ts); stdout and stderr share one pipe
    child = await currentCall().spawn({
      file: hook.path,
      argv: hook.args?.length ? hook.args : [hook.path],
      env: hookEnv(hook.env ?? []),
      fds: [stdinRead, outputWrite, outputWrite],
    });
  } catch (err) {
    closeSync(stdinWrite);
    closeSync(outputRead);
    throw failed((err as Error).message);
  } finally {
    closeSync(stdinRead);
    closeSync(outputWrite);
  }
  // a hook that does not read its stdin (EPIPE) is no error
  const input = new Socket({ fd: stdinWrite, readable: false, writable: true });
  input.on('error', () => undefined);
  input.end(stateJson);
  const output = new Socket({ fd: outputRead, readable: true, writable: false });
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  output.on('error', () => undefined);
  const outputClosed = new Promise((resolve) => output.once('close', resolve));
  let timedOut = false;
  const timer = hook.timeout
    ? setTimeout(() => {
        // as runc: the hook is killed, not asked to stop
        timedOut = true;
        child.kill('SIGKILL');
      }, hook.timeout * 1000)
    : undefined;
  const exit = await child.exit;
  clearTimeout(timer);
  await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS))]);
  output.destroy();
  input.destroy();
  if (timedOut) throw failed(`timed out after ${hook.timeout}s`);
  if (exit.code === 0) return;
  const why = exit.code !== null ? `exit status ${exit.code}` : exit.signal ? `killed by ${exit.signal}` : 'its caller exited first';
  const lastLine = Buffer.concat(chunks).toString().replace(/\n+$/, '').split('\n').slice(-1)[0];
  throw failed(`${why}${lastLine ? `, output: ${JSON.stringify(lastLine)}` : ''}`);
}

/** The hook's env as given: NAME=VALUE entries (an entry without "=" is a name with an empty value). */
function hookEnv(entries: string[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}
