// A small decoder and interpreter for the eBPF that src/cgroups/device-filter.ts emits, so unit tests
// run the bytes the kernel would get. It knows only the opcodes a device filter needs and checks what
// the kernel's verifier would refuse (unknown opcodes, backward or out-of-range jumps, reads of unset
// registers, loads outside struct bpf_cgroup_dev_ctx, a verdict other than 0 or 1, falling off the end).

const NAMES = {
	0x61: 'ldxw',
	0x54: 'and32',
	0x74: 'rsh32',
	0xb4: 'mov32',
	0xbc: 'mov32x',
	0x16: 'jeq32',
	0x56: 'jne32',
	0x46: 'jset32',
	0x95: 'exit',
};
const JUMPS = new Set([0x16, 0x56, 0x46]);
const CTX = Symbol('ctx');
const CTX_SIZE = 12;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes → [{ op, dst, src, off, imm }] (struct bpf_insn, host byte order). */
export function decode(bytes) {
	if (bytes.length % 8 !== 0) throw new Error(`program of ${bytes.length} bytes is not whole instructions`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const out = [];
	for (let at = 0; at < bytes.length; at += 8) {
		const regs = view.getUint8(at + 1);
		out.push({
			op: view.getUint8(at),
			dst: littleEndian ? regs & 0xf : regs >> 4,
			src: littleEndian ? regs >> 4 : regs & 0xf,
			off: view.getInt16(at + 2, littleEndian),
			imm: view.getInt32(at + 4, littleEndian),
		});
	}
	return out;
}

/** One line per instruction, for failure messages and listings. */
export function disassemble(insns) {
	return insns.map((x, pc) => {
		const name = NAMES[x.op] ?? `op 0x${x.op.toString(16)}`;
		let args;
		if (x.op === 0x61) args = `r${x.dst}, [r${x.src}+${x.off}]`;
		else if (x.op === 0xbc) args = `r${x.dst}, r${x.src}`;
		else if (x.op === 0x95) args = '';
		else if (JUMPS.has(x.op)) args = `r${x.dst}, 0x${(x.imm >>> 0).toString(16)}, +${x.off} (-> ${pc + 1 + x.off})`;
		else args = `r${x.dst}, 0x${(x.imm >>> 0).toString(16)}`;
		return `${String(pc).padStart(3)}: ${name} ${args}`.trimEnd();
	}).join('\n');
}

/**
 * Runs the program on one request; returns R0 (1 allow, 0 deny). Throws on anything the verifier
 * would reject on this path. `access` is the BPF_DEVCG_ACC_* mask, `type` a BPF_DEVCG_DEV_* value.
 */
export function run(insns, { type, access, major, minor }) {
	const ctx = new DataView(new ArrayBuffer(CTX_SIZE));
	ctx.setUint32(0, ((access << 16) | type) >>> 0, true);
	ctx.setUint32(4, major >>> 0, true);
	ctx.setUint32(8, minor >>> 0, true);
	const regs = new Array(11).fill(undefined);
	regs[1] = CTX;
	const u32 = (v) => Number(v) >>> 0;
	const read = (r, pc) => {
		if (regs[r] === undefined) throw new Error(`pc ${pc}: r${r} read before it is set`);
		if (regs[r] === CTX) throw new Error(`pc ${pc}: arithmetic on the context pointer r${r}`);
		return regs[r];
	};
	for (let pc = 0, steps = 0; ; steps++) {
		if (pc < 0 || pc >= insns.length) throw new Error(`pc ${pc}: falls off the program (${insns.length} instructions)`);
		if (steps > insns.length) throw new Error('loop');
		const x = insns[pc];
		if (x.dst > 10 || x.src > 10) throw new Error(`pc ${pc}: no register ${Math.max(x.dst, x.src)}`);
		if (x.dst === 10 && x.op !== 0x95) throw new Error(`pc ${pc}: r10 is read-only`);
		switch (x.op) {
			case 0x61: {
				if (regs[x.src] !== CTX) throw new Error(`pc ${pc}: load through r${x.src}, which is not the context`);
				if (x.off < 0 || x.off % 4 !== 0 || x.off + 4 > CTX_SIZE) throw new Error(`pc ${pc}: context load at offset ${x.off}`);
				regs[x.dst] = ctx.getUint32(x.off, true);
				break;
			}
			case 0x54:
				regs[x.dst] = u32(read(x.dst, pc) & x.imm);
				break;
			case 0x74:
				if (x.imm < 0 || x.imm > 31) throw new Error(`pc ${pc}: shift by ${x.imm}`);
				regs[x.dst] = u32(read(x.dst, pc)) >>> x.imm;
				break;
			case 0xb4:
				regs[x.dst] = u32(x.imm);
				break;
			case 0xbc:
				regs[x.dst] = u32(read(x.src, pc));
				break;
			case 0x16:
			case 0x56:
			case 0x46: {
				if (x.off < 0) throw new Error(`pc ${pc}: backward jump`);
				if (pc + 1 + x.off >= insns.length) throw new Error(`pc ${pc}: jump past the end`);
				const a = u32(read(x.dst, pc));
				const b = u32(x.imm);
				const taken = x.op === 0x16 ? a === b : x.op === 0x56 ? a !== b : (a & b) !== 0;
				if (taken) pc += x.off;
				break;
			}
			case 0x95: {
				const r0 = regs[0];
				if (r0 !== 0 && r0 !== 1) throw new Error(`pc ${pc}: exit with r0 = ${String(r0)}, not 0 or 1`);
				return r0;
			}
			default:
				throw new Error(`pc ${pc}: opcode 0x${x.op.toString(16)} is not one a device filter uses`);
		}
		pc++;
	}
}

/** All paths at once: every instruction is reachable and every path ends in exit (no dead code). */
export function checkReachable(insns) {
	const seen = new Set();
	const todo = [0];
	while (todo.length) {
		const pc = todo.pop();
		if (seen.has(pc)) continue;
		if (pc >= insns.length) throw new Error(`path runs past the end at ${pc}`);
		seen.add(pc);
		const x = insns[pc];
		if (x.op === 0x95) continue;
		todo.push(pc + 1);
		if (JUMPS.has(x.op)) todo.push(pc + 1 + x.off);
	}
	const dead = insns.map((_, pc) => pc).filter((pc) => !seen.has(pc));
	if (dead.length) throw new Error(`unreachable instructions: ${dead.join(', ')}`);
}
