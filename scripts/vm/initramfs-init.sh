#!/bin/busybox sh
# /init of the test guest's initramfs (scripts/vm/initramfs.sh packs it with a static busybox and
# the few modules listed in /modules). It loads those modules, builds the guest's root and hands over
# to the init= of the kernel command line (a script on the shared root, or systemd):
#
#   /            overlay: the host's / (9p tag "hostroot", read-only) under a tmpfs, so the guest
#                writes where it likes (npm's logs, code caches, /etc for systemd) and the host
#                sees none of it
#   /tmp /var/tmp /run   tmpfs, as on a distribution
#   /run/tsrun-vm        9p tag "results", writable: the job to run, its status, its outputs
#   tsrun.expose=PATH    a host path under /tmp, /var/tmp or /run, seen through them (overlay)
#   /lib/modules/<rel>   the guest kernel's modules (tsrun.modules=DIR, a path on the host's /)
#   /run/systemd/system  the unit files in tsrun.units=DIR (systemd mode)
#
# Anything failing here powers the guest off; run-in-guest.sh then reports no status and shows the
# console log.
/bin/busybox mkdir -p /proc /sys /dev /lower /rw /newroot
/bin/busybox --install -s /bin
export PATH=/bin

# Progress with the guest's uptime, on the console (the console log on the host).
trace() {
	read -r up _ </proc/uptime
	echo "tsrun-vm: $up $*" >/dev/console
}
fail() {
	echo "initramfs: $*" >&2
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /modules); do
	insmod "/lib/modules/$m" || fail "insmod $m"
done

trace "initramfs: modules loaded"
init=/sbin/init modules='' units='' expose=''
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	init=*) init=${arg#init=} ;;
	tsrun.modules=*) modules=${arg#tsrun.modules=} ;;
	tsrun.units=*) units=${arg#tsrun.units=} ;;
	tsrun.expose=*) expose="$expose ${arg#tsrun.expose=}" ;;
	esac
done

# 9p: msize as large as qemu's virtio transport takes; cache=loose since the host's files do not
# change under a run, which makes repeated reads (node_modules, the node binary) local.
p9='trans=virtio,version=9p2000.L,msize=512000,cache=loose'
mount -t 9p -o "ro,$p9,access=client" hostroot /lower || fail "mounting the host's root"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "overlay"

# The host may be a container image: its marker would make systemd (and other tools) believe the
# guest is a container too, and systemd would then ignore the kernel command line.
rm -f /newroot/.dockerenv /newroot/.containerenv
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/var/tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run
mkdir -p /newroot/run/tsrun-vm
# No cache for the results: what the guest writes there is on the host at once.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=client results /newroot/run/tsrun-vm ||
	fail "mounting the results directory"

# Host paths below those tmpfs mounts that the job needs (a working copy in /tmp): each gets an
# overlay of its own, the host's files under a tmpfs, as the root has.
n=0
for path in $expose; do
	n=$((n + 1))
	mkdir -p "/newroot$path" "/rw/expose$n/upper" "/rw/expose$n/work"
	mount -t overlay -o "lowerdir=/lower$path,upperdir=/rw/expose$n/upper,workdir=/rw/expose$n/work" overlay "/newroot$path" ||
		fail "exposing $path"
done

if [ -n "$modules" ]; then
	release=$(uname -r)
	mkdir -p "/newroot/lib/modules/$release"
	mount --bind "/newroot$modules" "/newroot/lib/modules/$release" || fail "binding $modules"
fi
if [ -n "$units" ]; then
	mkdir -p /newroot/run/systemd/system
	cp "/newroot$units"/* /newroot/run/systemd/system/ || fail "copying the units in $units"
fi

trace "initramfs: root ready, starting $init"
mount --move /dev /newroot/dev
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc
exec switch_root /newroot "$init"
