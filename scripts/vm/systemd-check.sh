#!/usr/bin/env bash
# systemd-check.sh: run inside `run-in-guest.sh --systemd`; checks that the guest is a real systemd
# system on pure cgroup v2: systemd is PID 1 and finished booting, /run/systemd/system exists (what
# sd_booted() and runc's systemd driver look for), /sys/fs/cgroup is cgroup2 with nsdelegate (or,
# with TSRUN_SYSTEMD_LAYOUT=hybrid, systemd's hybrid layout of v1 hierarchies), and
# this job runs in its own unit's cgroup. Then the systemd cgroup driver's integration tests
# (test/integration/systemd-cgroup.test.js) and, on v2, the rootless ones under a user session
# (rootless-systemd.test.js), for tsrun and, to check the tests, for runc; a test that skips there
# fails the lane, as one that fails does. Prints what it sees; exits 1 if a check
# or a test fails.
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
if [ "${TSRUN_SYSTEMD_LAYOUT:-v2}" = hybrid ]; then
	# systemd.unified_cgroup_hierarchy=0: v1 controllers, systemd's own tree on cgroup2 at unified/
	check "/sys/fs/cgroup is a tmpfs of v1 hierarchies ($(stat -fc %T /sys/fs/cgroup))" test "$(stat -fc %T /sys/fs/cgroup)" = tmpfs
	check "the memory controller is a v1 hierarchy" grep -q '^cgroup /sys/fs/cgroup/memory cgroup ' /proc/mounts
	check "this job is in tsrun-vm.service ($(grep memory /proc/self/cgroup))" grep -qx '[0-9]*:memory:/system.slice/tsrun-vm.service' /proc/self/cgroup
else
	check "/sys/fs/cgroup is cgroup2 ($(stat -fc %T /sys/fs/cgroup))" test "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs
	check "cgroup2 is mounted with nsdelegate" grep -q '^cgroup2 /sys/fs/cgroup cgroup2 .*nsdelegate' /proc/mounts
	check "no cgroup v1 hierarchy is mounted" bash -c '! grep -q " cgroup " /proc/mounts'
	check "this job is in tsrun-vm.service ($(cat /proc/self/cgroup))" grep -qx '0::/system.slice/tsrun-vm.service' /proc/self/cgroup
fi
check "systemd answers on D-Bus" busctl --system --no-pager get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version
[ "$bad" -eq 0 ] || exit 1

# The files: the systemd driver's, and on v2 the rootless ones under a user session (a user's
# systemd instance delegates nothing on v1: they skip there by design).
files=(test/integration/systemd-cgroup.test.js)
[ "${TSRUN_SYSTEMD_LAYOUT:-v2}" = v2 ] && files+=(test/integration/rootless-systemd.test.js)

# TAP: every test's line, "# SKIP" on a skipped one (node's summary does not count a skipped suite)
suite() { # suite NAME FILE [VAR=VALUE...]
	local name=$1 file=$2 log status=0
	shift 2
	log=$(mktemp /tmp/systemd-check.XXXXXX)
	echo "--- $file with $name"
	env "$@" node --test --test-reporter=tap --test-timeout=600000 "$file" >"$log" 2>&1 || status=$?
	sed 's/^/  /' "$log"
	local passed failed skipped
	passed=$(grep -cE '^ *ok [0-9]+ - ' "$log")
	failed=$(grep -cE '^ *not ok [0-9]+ - ' "$log")
	skipped=$(grep -cE '^ *ok [0-9]+ - .*# SKIP' "$log")
	rm -f "$log"
	echo "$(basename "$file") ($name): ok $passed (skipped $skipped), not ok $failed, status $status"
	if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then echo "FAIL $file with $name"; bad=1; fi
	if [ "$skipped" -ne 0 ]; then echo "FAIL $skipped test(s) of $file skipped with $name: under systemd none may"; bad=1; fi
	if [ "$passed" -eq 0 ]; then echo "FAIL no test of $file ran with $name"; bad=1; fi
}
runc=$(command -v runc || true)
for file in "${files[@]}"; do
	suite tsrun "$file"
	if [ -n "$runc" ]; then
		suite "runc ($("$runc" --version | head -1))" "$file" TSRUN_TEST_RUNTIME="$runc"
	else
		echo "FAIL runc is not installed: $file cannot be checked against it"
		bad=1
	fi
done
exit $bad
