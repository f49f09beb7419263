/**
 * Loads a dependency only when a command needs it (yargs for help and usage errors, node:tty for
 * a terminal). A plain require(), not import(): it keeps them out of dist/tsrun.cjs, and the bundle
 * runs in a vm.Script, where import() has no loader. Node >= 20.19 requires ES modules.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export function loadYargs(): typeof import('yargs').default {
  const mod = requireHere('yargs') as typeof import('yargs').default | { default: typeof import('yargs').default };
  return 'default' in mod ? mod.default : mod;
}

export function loadTty(): typeof import('node:tty') {
  return requireHere('node:tty') as typeof import('node:tty');
}

/** The D-Bus library, for the systemd cgroup driver only (src/cgroups/dbus.ts). */
export function loadDbus(): { createClient(opts: Record<string, unknown>): unknown } {
  return requireHere('@homebridge/dbus-native') as { createClient(opts: Record<string, unknown>): unknown };
}
