/** Version facts printed by --version and features (dockerd and containerd probe both). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export const TSRUN_VERSION = '0.1.0';
export const SPEC_VERSION = '1.3.0';
export const SPEC_VERSION_MIN = '1.0.0';

/** Facts of this build, written by scripts/bundle.js into dist/build-info.json. */
export interface BuildInfo {
  /** the git commit it was built from, or "unknown" outside a checkout */
  commit: string;
  /** the libseccomp linked into tsrun-init */
  libseccomp?: string;
}

export function buildInfo(): BuildInfo {
  try {
    return JSON.parse(readFileSync(fileURLToPath(new URL('./build-info.json', import.meta.url)), 'utf8')) as BuildInfo;
  } catch {
    return { commit: 'unknown' };
  }
}
