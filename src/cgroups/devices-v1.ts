/**
 * cgroup v1 device rules as a state, and the fewest writes that turn one state into another.
 *
 * The v1 devices controller keeps a default (allow all, or deny all: "a" in devices.allow or
 * devices.deny resets to it and drops every exception) and a list of exceptions, which
 * devices.list shows in deny-all mode. Writing "deny all, then allow each rule" on every update
 * denies devices the container is using for a moment, and a rule the update does not change is
 * denied and allowed again. So apply() first computes the state the rules describe (the same way the
 * kernel would read them in order), reads the current one from devices.list, and writes only what
 * differs: access bits to take away, then bits to add; "a" only when the default itself changes
 * (or the current mode is allow-all, whose deny exceptions devices.list does not show). runc's
 * libcontainer/cgroups/devices emulator works the same way. Afterwards devices.list must show the
 * state asked for.
 *
 * As runc does, a deny that would cut part of a wildcard allow ("allow c *:* m, deny c 1:3 m") is
 * refused: the kernel would ignore it silently.
 */
import { configError, TsrunError } from '../errors.js';
import type { DeviceRule } from './common.js';

type Access = number; // r=1, w=2, m=4
const R = 1;
const W = 2;
const M = 4;

/** "c 1:3", "b *:*": type and numbers of an exception, "*" for any */
type Key = string;

export interface DeviceState {
  defaultAllow: boolean;
  /** deny-all mode: what is allowed; allow-all mode: what is denied */
  exceptions: Map<Key, Access>;
}

/** One line for devices.allow or devices.deny. */
export interface DeviceWrite {
  allow: boolean;
  line: string;
}

function bits(access: string): Access {
  return (access.includes('r') ? R : 0) | (access.includes('w') ? W : 0) | (access.includes('m') ? M : 0);
}

function accessText(a: Access): string {
  return (a & R ? 'r' : '') + (a & W ? 'w' : '') + (a & M ? 'm' : '');
}

function keyOf(type: 'b' | 'c', major: number | undefined, minor: number | undefined): Key {
  return `${type} ${major ?? '*'}:${minor ?? '*'}`;
}

/** The state devices.list shows: "a *:* rwm" alone means allow-all, else the allowed exceptions. */
export function parseDevicesList(text: string, file = 'devices.list'): DeviceState {
  const state: DeviceState = { defaultAllow: false, exceptions: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]+)$/.exec(line.trim());
    if (!m) throw new TsrunError(`unexpected line in "${file}": ${JSON.stringify(line)}`, { kind: 'kernel' });
    if (m[1] === 'a') {
      state.defaultAllow = true;
      state.exceptions.clear();
      continue;
    }
    const key = `${m[1]} ${m[2]}:${m[3]}`;
    state.exceptions.set(key, (state.exceptions.get(key) ?? 0) | bits(m[4]));
  }
  return state;
}

/**
 * The state the rules describe, read in order as the kernel reads them, starting from deny-all (as
 * the drivers always did by writing "a" to devices.deny first, and as runc does): rules that only
 * allow leave everything else denied. Pointer per rule for errors.
 */
export function stateOfRules(rules: readonly { rule: DeviceRule; pointer: string }[]): DeviceState {
  const state: DeviceState = { defaultAllow: false, exceptions: new Map() };
  for (const { rule, pointer } of rules) {
    if (rule.type === 'a') {
      // the v1 driver refuses any other "a" rule before this: this one is "all devices, rwm"
      state.defaultAllow = rule.allow;
      state.exceptions.clear();
      continue;
    }
    const key = keyOf(rule.type, rule.major, rule.minor);
    const access = bits(rule.access);
    if (rule.allow !== state.defaultAllow) {
      state.exceptions.set(key, (state.exceptions.get(key) ?? 0) | access);
      continue;
    }
    // a rule that agrees with the default takes bits out of an exception
    const wider = [keyOf(rule.type, undefined, rule.minor), keyOf(rule.type, rule.major, undefined), keyOf(rule.type, undefined, undefined)];
    for (const w of wider) {
      if (w !== key && ((state.exceptions.get(w) ?? 0) & access) !== 0) {
        throw configError(
          pointer,
          `cgroup v1 cannot ${rule.allow ? 'allow' : 'deny'} "${key} ${accessText(access)}" inside the earlier "${w} ${accessText(state.exceptions.get(w) ?? 0)}" ${rule.allow ? 'deny' : 'allow'} (it would be ignored); give rules that do not overlap`,
        );
      }
    }
    const left = (state.exceptions.get(key) ?? 0) & ~access;
    if (left === 0) state.exceptions.delete(key);
    else state.exceptions.set(key, left);
  }
  return state;
}

/** The writes that take a cgroup from `current` to `target`, fewest first-taken-away. */
export function deviceTransition(current: DeviceState, target: DeviceState): DeviceWrite[] {
  const writes: DeviceWrite[] = [];
  let from = current.exceptions;
  // allow-all mode hides its deny exceptions from devices.list: only a reset is certain
  if (current.defaultAllow || current.defaultAllow !== target.defaultAllow) {
    writes.push({ allow: target.defaultAllow, line: 'a' });
    from = new Map();
  }
  const sorted = (m: Map<Key, Access>): [Key, Access][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // first take away what the target no longer has, then add what it gains
  for (const [key, had] of sorted(from)) {
    const dropped = had & ~(target.exceptions.get(key) ?? 0);
    if (dropped) writes.push({ allow: target.defaultAllow, line: `${key} ${accessText(dropped)}` });
  }
  for (const [key, wanted] of sorted(target.exceptions)) {
    const gained = wanted & ~(from.get(key) ?? 0);
    if (gained) writes.push({ allow: !target.defaultAllow, line: `${key} ${accessText(gained)}` });
  }
  return writes;
}

/** Same mode and, in deny-all mode, the same exceptions. */
export function sameDeviceState(a: DeviceState, b: DeviceState): boolean {
  if (a.defaultAllow !== b.defaultAllow) return false;
  if (a.defaultAllow) return true;
  if (a.exceptions.size !== b.exceptions.size) return false;
  for (const [k, v] of a.exceptions) if (b.exceptions.get(k) !== v) return false;
  return true;
}
