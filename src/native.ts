/**
 * The typed surface of the native part: the only file that loads the addon or knows where the
 * tsrun-init helper lives. Modules take a `Native` parameter defaulting to `native`, so tests can
 * pass a recording fake.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsrunError } from './errors.js';

export interface Native {
  /** flock(2); returns false when `wait` is false and the lock is held elsewhere. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** mkfifo(3) with the exact mode (umask ignored). */
  mkfifo(path: string, mode: number): void;
  /** Listens on a new AF_UNIX socket at `path`; resolves with the fd one peer sends (SCM_RIGHTS). */
  receiveFd(path: string, timeoutMs: number): Promise<number>;
  /** TIOCSWINSZ */
  setWindowSize(fd: number, rows: number, cols: number): void;
}

const buildDirs = ['../build/Release', '../build/Debug'];

function locate(file: string): string {
  const tried: string[] = [];
  for (const dir of buildDirs) {
    const candidate = fileURLToPath(new URL(`${dir}/${file}`, import.meta.url));
    if (existsSync(candidate)) return candidate;
    tried.push(candidate);
  }
  throw new TsrunError(`native component ${file} not found (tried ${tried.join(', ')}): run npm install`, {
    kind: 'internal',
  });
}

let loaded: Native | undefined;

/** The real addon, loaded on first use (commands like `state` never pay for it). */
export const native: Native = {
  flock: (fd, exclusive, wait) => load().flock(fd, exclusive, wait),
  mkfifo: (path, mode) => load().mkfifo(path, mode),
  receiveFd: (path, timeoutMs) => load().receiveFd(path, timeoutMs),
  setWindowSize: (fd, rows, cols) => load().setWindowSize(fd, rows, cols),
};

function load(): Native {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    loaded = require(locate('tsrun_native.node')) as Native;
  }
  return loaded;
}

/** Absolute path of the static helper the container is born from. */
export function initHelperPath(): string {
  return locate('tsrun-init');
}
