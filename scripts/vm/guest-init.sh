#!/bin/sh
# PID 1 of the test guest without systemd (init= on the kernel command line; initramfs-init.sh has
# mounted the root, /tmp, /run and the results at /run/tsrun-vm). It sets up what a distribution's
# init would — pure cgroup v2 at /sys/fs/cgroup with nsdelegate, devpts, /dev/shm, loopback, a
# hostname — runs the job (guest-job.sh) and powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
trace() {
	read -r up _ </proc/uptime
	echo "tsrun-vm: $up $*" >/dev/console
}
trace "guest-init: started"
# The static busybox starts much faster under TCG than the root's dynamically linked tools.
bb=/bin/busybox

$bb mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
	$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
$bb mkdir -p /dev/pts /dev/shm /dev/mqueue
$bb mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
$bb ln -sf pts/ptmx /dev/ptmx 2>/dev/null
$bb mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
$bb mount -t mqueue mqueue /dev/mqueue
$bb mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
$bb mount -t bpf bpf /sys/fs/bpf 2>/dev/null
[ -e /dev/fd ] || $bb ln -s /proc/self/fd /dev/fd
$bb ln -sf /proc/self/fd/0 /dev/stdin 2>/dev/null
$bb ln -sf /proc/self/fd/1 /dev/stdout 2>/dev/null
$bb ln -sf /proc/self/fd/2 /dev/stderr 2>/dev/null
$bb hostname tsrun-vm
$bb ip link set lo up

# As under systemd, processes live in leaf cgroups, not in the root: this init in init.scope, the
# job in its own. Every controller is enabled for the root's children.
$bb mkdir -p /sys/fs/cgroup/init.scope /sys/fs/cgroup/tsrun-vm.scope
echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
read -r controllers </sys/fs/cgroup/cgroup.controllers
for c in $controllers; do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control
done

trace "guest-init: starting the job"
(
	echo 0 >/sys/fs/cgroup/tsrun-vm.scope/cgroup.procs
	exec /bin/sh /run/tsrun-vm/guest-job.sh
) &
wait $!

trace "guest-init: the job ended; powering off"
$bb sync
# busybox (static, already in memory) powers off at once, before the 9p root goes away.
exec /bin/busybox poweroff -f
