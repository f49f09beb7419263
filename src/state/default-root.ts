/**
 * The state root when no --root is given: /run/tsrun for the host's root, $XDG_RUNTIME_DIR/tsrun
 * for a rootless caller (as runc uses $XDG_RUNTIME_DIR/runc). Rootless podman passes no --root, so
 * this is where its containers live.
 */
import { accessSync, chmodSync, constants, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromSystemError, TsrunError } from '../errors.js';
import { caller, honorsXdgRuntimeDir, type Caller } from '../rootless.js';
import { DEFAULT_ROOT } from './paths.js';

/** 0700 and sticky, as runc makes its dir: XDG's periodic clean-up leaves sticky files alone. */
const XDG_ROOT_MODE = 0o1700;

export function defaultStateRoot(who: Caller = caller(), env: NodeJS.ProcessEnv = process.env): string {
  if (honorsXdgRuntimeDir(who, env)) return makeXdgRoot(join(env.XDG_RUNTIME_DIR!, 'tsrun'), env.XDG_RUNTIME_DIR!);
  if (who.euid !== 0 && !writableOrCreatable(DEFAULT_ROOT)) {
    throw new TsrunError(
      `no state directory for uid ${who.euid}: XDG_RUNTIME_DIR is not set and "${DEFAULT_ROOT}" is not writable; set XDG_RUNTIME_DIR or give --root DIR`,
      { kind: 'usage' },
    );
  }
  return DEFAULT_ROOT;
}

function makeXdgRoot(root: string, xdg: string): string {
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, XDG_ROOT_MODE);
  } catch (err) {
    const facts = fromSystemError(err, `make "${root}"`);
    throw new TsrunError(`the path in XDG_RUNTIME_DIR ("${xdg}") must be writable by the user: ${facts.message}`, {
      kind: 'usage', code: facts.code, errno: facts.errno, path: root, cause: err,
    });
  }
  return root;
}

/** The dir exists and we may write it, or its parent exists and we may make it there. */
function writableOrCreatable(dir: string): boolean {
  for (const candidate of [dir, dirname(dir)]) {
    try {
      accessSync(candidate, constants.W_OK | constants.X_OK);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
  }
  return false;
}
