/**
 * linux.resources.devices → a BPF_PROG_TYPE_CGROUP_DEVICE program, as raw eBPF instructions.
 *
 * cgroup v2 has no devices.allow/deny files: the kernel runs the programs attached to a cgroup (and
 * its ancestors) on every open and mknod of a device node, and refuses the access with EPERM unless
 * each returns 1. Pure: no kernel calls here (bpf.ts loads and attaches), so the unit tests can
 * decode and run what is emitted.
 *
 * Semantics, the same list the v1 driver writes after its "deny all": the rules are read in order
 * and the last one that matches decides; when none matches, the access is denied. A rule matches a
 * request (type, major, minor, access) when its type is "a" or the same, its major and minor are
 * absent, -1 or equal, and
 *   - an allow rule grants every requested access bit (O_RDWR needs "rw"; v1 matches its allow
 *     exceptions the same way),
 *   - a deny rule names any requested bit (a "deny w" also stops O_RDWR; v1 matches deny
 *     exceptions partially too). Taking "all bits" for deny rules would let O_RDWR through.
 * Unlike v1, "a" rules may carry numbers and access ("a 1:* r": char and block major 1, read).
 *
 * The program checks the rules newest first and returns at the first match (compileDeviceFilter).
 */
import type { LinuxDeviceCgroup } from '../bundle/spec-types.js';
import { isAllDevices, parseDeviceRule, type DeviceRule } from './common.js';

/** The license the kernel records for the program; no GPL-only helper is called, so any will do. */
export const DEVICE_FILTER_LICENSE = 'Apache-2.0';

// include/uapi/linux/bpf.h: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
// access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
const CTX_ACCESS_TYPE = 0;
const CTX_MAJOR = 4;
const CTX_MINOR = 8;

// Opcodes (class | op | source). ALU and JMP32 work on the low 32 bits, which is what the context
// fields are: comparing a u32 major with a 64-bit jump would sign-extend immediates >= 2^31.
export const OP = {
  LDX_MEM_W: 0x61,
  ALU32_AND_K: 0x54,
  ALU32_RSH_K: 0x74,
  ALU32_MOV_K: 0xb4,
  ALU32_MOV_X: 0xbc,
  JMP32_JEQ_K: 0x16,
  JMP32_JNE_K: 0x56,
  JMP32_JSET_K: 0x46,
  JMP_EXIT: 0x95,
} as const;

/** R1 holds the context on entry; R0 is the verdict. R1 is free once the fields are loaded. */
const R0 = 0;
const R1 = 1;
const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;

export interface Instruction {
  op: number;
  dst: number;
  src: number;
  /** jumps: instructions to skip after this one */
  off: number;
  imm: number;
}

export interface DeviceFilter {
  /** the program: 8 bytes per instruction, in the host's byte order as the kernel expects */
  program: Uint8Array;
  /** the rules allow every access: a cgroup needs no program for them */
  allowsAll: boolean;
}

const ALL_ACCESS = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

function accessBits(access: string): number {
  return (access.includes('r') ? BPF_DEVCG_ACC_READ : 0) | (access.includes('w') ? BPF_DEVCG_ACC_WRITE : 0) | (access.includes('m') ? BPF_DEVCG_ACC_MKNOD : 0);
}

/**
 * The rules that can still decide something, in config order, and the verdict when none matches.
 * A rule for all devices with "rwm" matches every request, so nothing before it counts and it sets
 * the default. Rules at the front that agree with the default change nothing either: they are
 * checked last, and falling through gives the same answer.
 */
export function effectiveDeviceRules(rules: readonly LinuxDeviceCgroup[], pointer = '/linux/resources/devices'): { defaultAllow: boolean; rules: DeviceRule[] } {
  const parsed = rules.map((r, i) => parseDeviceRule(r, `${pointer}/${i}`));
  let defaultAllow = false;
  let start = 0;
  parsed.forEach((r, i) => {
    if (isAllDevices(r) && r.access === 'rwm') {
      defaultAllow = r.allow;
      start = i + 1;
    }
  });
  while (start < parsed.length && parsed[start].allow === defaultAllow) start++;
  return { defaultAllow, rules: parsed.slice(start) };
}

/** Compiles the rules; a rule the config gets wrong fails naming it (pointer/<index>/<field>). */
export function compileDeviceFilter(rules: readonly LinuxDeviceCgroup[], pointer = '/linux/resources/devices'): DeviceFilter {
  const { defaultAllow, rules: effective } = effectiveDeviceRules(rules, pointer);
  const insns: Instruction[] = [];
  if (effective.length > 0) insns.push(...loadContext());
  // Newest first, each returning on a match: the first hit is the last matching rule in config order.
  for (let i = effective.length - 1; i >= 0; i--) insns.push(...ruleBlock(effective[i]));
  insns.push(...verdict(defaultAllow));
  return { program: encodeInstructions(insns), allowsAll: defaultAllow && effective.length === 0 };
}

function insn(op: number, dst: number, src: number, off: number, imm: number): Instruction {
  return { op, dst, src, off, imm };
}

function loadContext(): Instruction[] {
  return [
    insn(OP.LDX_MEM_W, R_TYPE, R1, CTX_ACCESS_TYPE, 0),
    insn(OP.ALU32_AND_K, R_TYPE, 0, 0, 0xffff),
    insn(OP.LDX_MEM_W, R_ACCESS, R1, CTX_ACCESS_TYPE, 0),
    insn(OP.ALU32_RSH_K, R_ACCESS, 0, 0, 16),
    insn(OP.LDX_MEM_W, R_MAJOR, R1, CTX_MAJOR, 0),
    insn(OP.LDX_MEM_W, R_MINOR, R1, CTX_MINOR, 0),
  ];
}

function verdict(allow: boolean): Instruction[] {
  return [insn(OP.ALU32_MOV_K, R0, 0, 0, allow ? 1 : 0), insn(OP.JMP_EXIT, 0, 0, 0, 0)];
}

/** Checks that jump past the block when the rule does not match, then the rule's verdict. */
function ruleBlock(rule: DeviceRule): Instruction[] {
  // each check is [op, dst, src, imm]; the jump offset is known once the block is
  const checks: [number, number, number, number][] = [];
  if (rule.type !== 'a') checks.push([OP.JMP32_JNE_K, R_TYPE, 0, rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR]);
  if (rule.major !== undefined) checks.push([OP.JMP32_JNE_K, R_MAJOR, 0, rule.major]);
  if (rule.minor !== undefined) checks.push([OP.JMP32_JNE_K, R_MINOR, 0, rule.minor]);
  const bits = accessBits(rule.access);
  if (bits !== ALL_ACCESS) {
    if (rule.allow) {
      // skip unless the request is a subset: any requested bit outside the rule's
      checks.push([OP.JMP32_JSET_K, R_ACCESS, 0, 0xffff & ~bits]);
    } else {
      // skip unless the request and the rule share a bit
      checks.push([OP.ALU32_MOV_X, R1, R_ACCESS, 0], [OP.ALU32_AND_K, R1, 0, bits], [OP.JMP32_JEQ_K, R1, 0, 0]);
    }
  }
  const end = verdict(rule.allow);
  return [
    ...checks.map(([op, dst, src, imm], i) => insn(op, dst, src, isJump(op) ? checks.length - i - 1 + end.length : 0, imm)),
    ...end,
  ];
}

function isJump(op: number): boolean {
  return op === OP.JMP32_JEQ_K || op === OP.JMP32_JNE_K || op === OP.JMP32_JSET_K;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; } */
export function encodeInstructions(insns: readonly Instruction[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach((x, i) => {
    const at = i * 8;
    view.setUint8(at, x.op);
    // the bitfields follow the byte order: dst_reg is the low nibble on little-endian hosts
    view.setUint8(at + 1, littleEndian ? (x.src << 4) | x.dst : (x.dst << 4) | x.src);
    view.setInt16(at + 2, x.off, littleEndian);
    view.setInt32(at + 4, x.imm | 0, littleEndian);
  });
  return out;
}
