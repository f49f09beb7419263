#!/usr/bin/env bash
# run-in-guest.sh [OPTIONS] [--] COMMAND [ARG...]: runs COMMAND as root in a qemu guest (TCG) on
# pure cgroup v2, with the host's / as its root, and exits with COMMAND's status.
#
# The guest boots the Debian kernel of kernel.sh (uncompressed, via PVH) with the initramfs of
# initramfs.sh. Its root is the host's / over 9p, read-only, under a tmpfs overlay: the guest sees
# this working copy, Node and every installed package at the same paths, writes anywhere, and
# changes nothing on the host. COMMAND runs in the current directory (or --cwd), with its output
# relayed to this script's stdout; the kernel's console goes to a log that is shown when the guest
# ends without reporting a status.
#
# Options:
#   --systemd        boot systemd as PID 1 (units in scripts/vm/systemd/); COMMAND runs from
#                    tsrun-vm.service once basic.target is reached. Default: guest-init.sh as PID 1.
#   --cwd DIR        where COMMAND runs (default: the current directory)
#   --env NAME=VALUE set a variable for COMMAND (repeatable); TSRUN_* and CI pass through anyway
#   --timeout SECS   kill the guest after SECS (default 3600); exit status 124 then
#   --keep DIR       copy the results directory (console.log, status, job.sh) to DIR afterwards
# Environment: TSRUN_VM_MEMORY (default 4G), TSRUN_VM_CPUS (default 2), TSRUN_VM_ACCEL (default
# tcg), TSRUN_VM_CACHE (kernel cache, default /var/cache/tsrun-vm), TSRUN_VM_BOOT=bzimage to boot
# the compressed kernel instead of the PVH vmlinux, TSRUN_VM_APPEND: more kernel parameters.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mode=plain cwd=$PWD timeout_s=3600 keep=''
envs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--systemd) mode=systemd ;;
	--cwd) cwd=$(cd "$2" && pwd); shift ;;
	--env) envs+=("$2"); shift ;;
	--timeout) timeout_s=$2; shift ;;
	--keep) keep=$2; shift ;;
	--) shift; break ;;
	-*) echo "run-in-guest.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
if [ $# -eq 0 ]; then
	echo "usage: run-in-guest.sh [--systemd] [--cwd DIR] [--env NAME=VALUE] [--timeout SECS] [--keep DIR] [--] COMMAND [ARG...]" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "run-in-guest.sh: must run as root (qemu exports / with its owners)" >&2
	exit 1
fi
for tool in qemu-system-x86_64 depmod; do
	command -v "$tool" >/dev/null || { echo "run-in-guest.sh: $tool missing (bash scripts/vm/install-vm-deps.sh)" >&2; exit 1; }
done

kdir=$("$here/kernel.sh")
initrd=$("$here/initramfs.sh" "$kdir")
release=$(cat "$kdir/release")

results=$(mktemp -d /tmp/tsrun-vm.XXXXXX)
qemu_pid=''
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		cp -a "$results/." "$keep/" 2>/dev/null || true
	fi
	rm -rf "$results"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The job: cwd, environment and argv, quoted for bash; and what runs it (both modes).
cp "$here/guest-job.sh" "$results/guest-job.sh"
{
	echo '# written by run-in-guest.sh'
	printf 'cd %q || exit 125\n' "$cwd"
	echo 'export HOME=/root LANG=C.UTF-8 TERM=dumb NO_COLOR=1'
	printf 'export PATH=%q\n' "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	while IFS='=' read -r -d '' name value; do
		case "$name" in TSRUN_VM_*) continue ;; TSRUN_* | CI) printf 'export %s=%q\n' "$name" "$value" ;; esac
	done < <(env -0)
	for e in "${envs[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$results/job.sh"

# The guest's /tmp, /var/tmp and /run are its own: a working copy or cwd there is exposed through
# them. (Kernel parameters split on blanks: such paths must have none.)
expose=''
repo=$(cd "$here/../.." && pwd)
paths=("$repo")
case "$cwd/" in "$repo"/*) ;; *) paths+=("$cwd") ;; esac
for path in "${paths[@]}"; do
	case "$path/" in
	/tmp/* | /var/tmp/* | /run/*)
		case "$path" in *[[:space:]]*) echo "run-in-guest.sh: $path: a path under /tmp or /run with blanks cannot be exposed" >&2; exit 2 ;; esac
		expose+=" tsrun.expose=$path" ;;
	esac
done

cmdline="console=ttyS0 loglevel=4 panic=-1 mitigations=off tsc=reliable tsrun.modules=$kdir/lib/modules/$release"
if [ "$mode" = systemd ]; then
	cmdline+=" init=/lib/systemd/systemd tsrun.units=$here/systemd systemd.unit=tsrun-vm.target"
	cmdline+=" systemd.unified_cgroup_hierarchy=1 systemd.show_status=error systemd.log_target=console"
else
	cmdline+=" init=$here/guest-init.sh"
fi
cmdline+="$expose ${TSRUN_VM_APPEND:-}"
kernel="$kdir/vmlinux"
[ "${TSRUN_VM_BOOT:-}" = bzimage ] && kernel="$kdir/vmlinuz"

accel=${TSRUN_VM_ACCEL:-tcg}
[ "$accel" = tcg ] && accel=tcg,thread=multi,tb-size=512
qemu=(qemu-system-x86_64
	-accel "$accel" -M pc -cpu max -smp "${TSRUN_VM_CPUS:-2}" -m "${TSRUN_VM_MEMORY:-4G}"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=results,path=$results,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=results,mount_tag=results
	-serial "file:$results/console.log"
	-chardev stdio,id=out,signal=off -serial chardev:out
)
start=$(date +%s.%N)
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null &
qemu_pid=$!
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=''
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')

if [ -s "$results/status" ]; then
	status=$(cat "$results/status")
	echo "run-in-guest.sh: guest ($mode) ran for ${elapsed}s; the command exited with $status" >&2
	exit "$status"
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	echo "run-in-guest.sh: killed the guest after ${timeout_s}s" >&2
	status=124
else
	echo "run-in-guest.sh: the guest stopped after ${elapsed}s without the command's status" >&2
	status=125
fi
echo "--- last lines of the guest's console:" >&2
tail -n 40 "$results/console.log" >&2 || true
exit "$status"
