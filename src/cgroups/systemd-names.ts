/**
 * Names of the systemd cgroup driver (`--systemd-cgroup`), as runc reads them: linux.cgroupsPath is
 * "slice:prefix:name" and becomes a transient unit in a slice: "<prefix>-<name>.scope" (or the slice
 * "<name>" itself when name ends in ".slice") under "<slice>", whose cgroup directory is the slice's
 * nesting ("a-b.slice" lives in "a.slice/a-b.slice") with the unit below it. Pure: no D-Bus here;
 * the driver that asks systemd for the unit is the next step of the systemd cgroup work.
 */
import { configError } from '../errors.js';

export interface SystemdUnitNames {
  /** the parent slice unit, e.g. "system.slice" ("-.slice" for the root slice) */
  slice: string;
  /** the unit systemd is asked to start, e.g. "tsrun-web.scope" */
  unit: string;
  /** the unit's cgroup, relative to the hierarchy root, e.g. "/system.slice/tsrun-web.scope" */
  cgroupPath: string;
}

export const DEFAULT_SLICE = 'system.slice';
export const DEFAULT_ROOTLESS_SLICE = 'user.slice';
export const DEFAULT_SCOPE_PREFIX = 'tsrun';

/** "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/" (systemd's slice nesting). */
export function expandSlice(slice: string, pointer = '/linux/cgroupsPath'): string {
  const bad = (why: string) => configError(pointer, `invalid systemd slice ${JSON.stringify(slice)}: ${why}`);
  if (!slice.endsWith('.slice') || slice.length <= '.slice'.length) throw bad('a slice name ends in ".slice"');
  if (slice.includes('/')) throw bad('a slice name has no "/" (nesting is written with "-")');
  if (slice === '-.slice') return '/';
  const base = slice.slice(0, -'.slice'.length);
  if (base.startsWith('-') || base.endsWith('-') || base.includes('--')) throw bad('"-" separates non-empty parts');
  const parts = base.split('-');
  let path = '';
  for (let i = 1; i <= parts.length; i++) path += `/${parts.slice(0, i).join('-')}.slice`;
  return path;
}

/**
 * The unit and slice of a container. An empty cgroupsPath means ":tsrun:<id>"; an empty slice means
 * system.slice (user.slice for a rootless caller); a cgroupsPath that is not three ":"-separated
 * parts is refused, as runc refuses it.
 */
export function systemdUnitNames(cgroupsPath: string | undefined, id: string, rootless = false): SystemdUnitNames {
  const pointer = '/linux/cgroupsPath';
  const parts = cgroupsPath ? cgroupsPath.split(':') : ['', DEFAULT_SCOPE_PREFIX, id];
  if (parts.length !== 3) {
    throw configError(pointer, `expected "slice:prefix:name" for the systemd cgroup driver, got ${JSON.stringify(cgroupsPath)}`);
  }
  const [givenSlice, prefix, name] = parts;
  if (!name) throw configError(pointer, `the name part of ${JSON.stringify(cgroupsPath)} is empty`);
  const slice = givenSlice || (rootless ? DEFAULT_ROOTLESS_SLICE : DEFAULT_SLICE);
  const sliceDir = expandSlice(slice, pointer);
  if (name.includes('/')) throw configError(pointer, `a unit name has no "/": ${JSON.stringify(name)}`);
  // a name that is a slice is the unit itself (the prefix is ignored), placed below the given slice as runc places it
  const unit = name.endsWith('.slice') ? name : `${prefix ? `${prefix}-` : ''}${name}.scope`;
  return { slice, unit, cgroupPath: `${sliceDir === '/' ? '' : sliceDir}/${unit}` };
}
