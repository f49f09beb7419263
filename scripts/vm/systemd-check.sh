#!/usr/bin/env bash
# systemd-check.sh: run inside `run-in-guest.sh --systemd`; checks that the guest is a real systemd
# system on pure cgroup v2: systemd is PID 1 and finished booting, /run/systemd/system exists (what
# sd_booted() and runc's systemd driver look for), /sys/fs/cgroup is cgroup2 with nsdelegate, and
# this job runs in its own unit's cgroup. Prints what it sees; exits 1 if a check fails.
set -uo pipefail
bad=0
check() { # check DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; bad=1; fi
}
state=$(systemctl is-system-running --wait 2>&1)
echo "systemctl is-system-running: $state"
[ "$state" = running ] || systemctl --no-pager --failed
check "PID 1 is systemd ($(cat /proc/1/comm))" test "$(cat /proc/1/comm)" = systemd
check "the boot finished (running or degraded)" test "$state" = running -o "$state" = degraded
check "/run/systemd/system exists" test -d /run/systemd/system
check "/sys/fs/cgroup is cgroup2 ($(stat -fc %T /sys/fs/cgroup))" test "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs
check "cgroup2 is mounted with nsdelegate" grep -q '^cgroup2 /sys/fs/cgroup cgroup2 .*nsdelegate' /proc/mounts
check "no cgroup v1 hierarchy is mounted" bash -c '! grep -q " cgroup " /proc/mounts'
check "this job is in tsrun-vm.service ($(cat /proc/self/cgroup))" grep -qx '0::/system.slice/tsrun-vm.service' /proc/self/cgroup
check "systemd answers on D-Bus" busctl --system --no-pager get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version
exit $bad
