/**
 * linux.seccomp as the rules tsrun-init hands to libseccomp: actions as the kernel's SECCOMP_RET_*
 * values (libseccomp uses the same), one rule per syscall name, the architectures by libseccomp's
 * names. The choices follow runc's: a rule whose action is the default action is dropped (libseccomp
 * refuses it), comparisons on distinct arguments are ANDed in one rule, and when an argument is
 * compared more than once each comparison becomes a rule of its own (libseccomp allows one
 * comparison per argument and rule); syscall names libseccomp does not know are skipped by the
 * helper, as runc does, since profiles list syscalls newer than a host's library.
 */
import { configError } from '../errors.js';
import type { LinuxSeccomp, SeccompAction } from './spec-types.js';

const EPERM = 1;

/** SECCOMP_RET_* base values; ERRNO and TRACE carry 16 bits of data. */
export const seccompActions: Record<SeccompAction, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};

/** SCMP_CMP_* of libseccomp */
export const seccompOperators: Record<string, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

/** SECCOMP_FILTER_FLAG_* of seccomp(2) */
export const seccompFilterFlags: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1 << 0,
  SECCOMP_FILTER_FLAG_LOG: 1 << 1,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 1 << 2,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 1 << 5,
};

export interface SeccompRule {
  action: number;
  syscall: string;
  /** (index, op, value, valueTwo) per comparison */
  args: bigint[];
}

export interface SeccompPlan {
  defaultAction: number;
  flags: number;
  /** libseccomp's names ("x86_64"), with their index in linux.seccomp.architectures */
  architectures: { index: number; name: string }[];
  rules: SeccompRule[];
  /** SCMP_ACT_NOTIFY is used: where the listener fd and the state go */
  listener?: { path: string; metadata?: string };
}

/** An action with its data: errnoRet for ERRNO (EPERM when not given) and TRACE; none for others. */
function actionValue(action: SeccompAction, errnoRet: number | undefined, pointer: string): number {
  const takesData = action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
  if (errnoRet !== undefined && !takesData) throw configError(pointer, `${action} takes no errno return code`);
  if (!takesData) return seccompActions[action];
  const data = errnoRet ?? EPERM;
  if (data > 0xffff) throw configError(pointer, `errno return code ${data} does not fit in 16 bits`);
  return (seccompActions[action] | data) >>> 0;
}

/** JSON numbers above 2^53 arrive rounded; keep what arrived as an unsigned 64-bit value. */
function u64(n: number): bigint {
  return BigInt.asUintN(64, BigInt(Math.trunc(n)));
}

export function planSeccomp(seccomp: LinuxSeccomp | undefined): SeccompPlan | undefined {
  if (!seccomp) return undefined;
  const P = '/linux/seccomp';
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY') throw configError(`${P}/defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, `${P}/defaultErrnoRet`);
  const flags = (seccomp.flags ?? []).reduce((bits, f) => bits | seccompFilterFlags[f], 0);
  const architectures = (seccomp.architectures ?? []).map((arch, index) => ({
    index,
    name: arch.replace(/^SCMP_ARCH_/, '').toLowerCase(),
  }));

  const rules: SeccompRule[] = [];
  let notifies = false;
  (seccomp.syscalls ?? []).forEach((call, i) => {
    const pointer = `${P}/syscalls/${i}`;
    const action = actionValue(call.action, call.errnoRet, `${pointer}/errnoRet`);
    if (action === defaultAction) return;
    notifies ||= call.action === 'SCMP_ACT_NOTIFY';
    const comparisons = (call.args ?? []).map((arg, j) => {
      if (arg.index > 5) throw configError(`${pointer}/args/${j}/index`, `a syscall has 6 arguments (0-5), not ${arg.index + 1}`);
      return [BigInt(arg.index), BigInt(seccompOperators[arg.op]), u64(arg.value), u64(arg.valueTwo ?? 0)];
    });
    const indexes = (call.args ?? []).map((a) => a.index);
    const repeated = new Set(indexes).size !== indexes.length;
    const argSets = repeated ? comparisons.map((c) => [c]) : [comparisons];
    for (const syscall of call.names) {
      for (const set of argSets) rules.push({ action, syscall, args: set.flat() });
    }
  });

  if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined) {
    throw configError(`${P}/listenerMetadata`, 'needs listenerPath');
  }
  let listener: SeccompPlan['listener'];
  if (notifies) {
    if (!seccomp.listenerPath) throw configError(`${P}/listenerPath`, 'SCMP_ACT_NOTIFY needs a listenerPath');
    if (!seccomp.listenerPath.startsWith('/')) throw configError(`${P}/listenerPath`, 'must be an absolute path');
    listener = { path: seccomp.listenerPath, metadata: seccomp.listenerMetadata };
  }
  return { defaultAction, flags, architectures, rules, listener };
}

/** The container process state (config-linux.md) sent with the listener fd. */
export function seccompState(listener: NonNullable<SeccompPlan['listener']>, pid: number, state: object): string {
  return JSON.stringify({
    ociVersion: '1.3.0',
    fds: ['seccompFd'],
    pid,
    ...(listener.metadata !== undefined ? { metadata: listener.metadata } : {}),
    state,
  });
}
