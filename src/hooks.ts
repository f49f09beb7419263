/**
 * OCI hooks that Node runs itself (prestart, createRuntime, poststart, poststop): the container
 * state JSON on stdin, args[0] as argv0, exactly the env given, and the timeout in seconds.
 * createContainer and startContainer run inside the container's namespaces, so tsrun-init runs
 * those. execa is imported only when a hook exists (startup cost).
 */
import { currentCall } from './call.js';
import { TsrunError } from './errors.js';
import type { Hook } from './bundle/spec-types.js';
import { loadExeca } from './lazy.js';

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

async function runHook(name: HookName, i: number, hook: Hook, stateJson: string): Promise<void> {
  const { execa } = loadExeca();
  const args = hook.args ?? [hook.path];
  const result = await execa(hook.path, args.slice(1), {
    argv0: args[0],
    env: Object.fromEntries(
      (hook.env ?? []).map((kv) => {
        const eq = kv.indexOf('=');
        return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    ),
    extendEnv: false,
    cwd: currentCall().cwd,
    input: stateJson,
    stdout: 'pipe',
    stderr: 'pipe',
    all: true,
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    reject: false,
    stripFinalNewline: true,
  });
  if (result.timedOut) {
    throw new TsrunError(`${name} hook #${i} "${hook.path}": timed out after ${hook.timeout}s`, { kind: 'hook', step: name });
  }
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit status ${result.exitCode}` : result.signal ? `killed by ${result.signal}` : result.shortMessage;
    const output = typeof result.all === 'string' && result.all ? `, output: ${JSON.stringify(result.all.split('\n').slice(-1)[0])}` : '';
    throw new TsrunError(`${name} hook #${i} "${hook.path}": ${why}${output}`, { kind: 'hook', step: name });
  }
}
