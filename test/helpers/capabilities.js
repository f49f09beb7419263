// Capability names and their bits, for the hex masks of /proc/<pid>/status.

/** Capability names the tests use for "all caps" (those every kernel since 5.9 knows). */
export const ALL_CAPS = [
	'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
	'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
	'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
	'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
	'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
	'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
	'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
/** Bit numbers of capabilities, for the hex masks in /proc/<pid>/status. */
export const CAP_BITS = Object.fromEntries(ALL_CAPS.map((name, bit) => [name, bit]));
/** "0000000000000421"-style mask for a set of capability names, as /proc/<pid>/status prints it. */
export function capMask(names) {
	let mask = 0n;
	for (const n of names) mask |= 1n << BigInt(CAP_BITS[n]);
	return mask.toString(16).padStart(16, '0');
}
