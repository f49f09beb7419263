#!/usr/bin/env bash
# systemd-lane.sh: CI's systemd lane. Boots the qemu guest with systemd as PID 1 on pure cgroup v2
# and runs systemd-check.sh there: the guest itself, then the systemd cgroup driver's tests for tsrun and
# runc. TSRUN_SYSTEMD_LANE=required makes a failure fatal; the default,
# advisory, reports it and exits 0.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=${TSRUN_SYSTEMD_LANE:-advisory}

echo "--- systemd lane: a qemu guest with systemd as PID 1 on pure cgroup v2 ($mode)"
"$here/run-in-guest.sh" --systemd --cwd "$repo" --timeout "${TSRUN_SYSTEMD_LANE_TIMEOUT:-600}" -- bash "$here/systemd-check.sh"
status=$?
if [ "$status" -eq 0 ]; then
	echo "systemd lane: passed"
elif [ "$mode" = required ]; then
	echo "systemd lane: FAILED (status $status)"
	exit "$status"
else
	echo "systemd lane: FAILED (status $status; advisory)"
fi
exit 0
