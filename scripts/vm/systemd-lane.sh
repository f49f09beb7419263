#!/usr/bin/env bash
# systemd-lane.sh: CI's systemd lane. Boots the qemu guest with systemd as PID 1 and runs
# systemd-check.sh there: the guest itself, then the systemd cgroup driver's integration tests for
# tsrun and, to check the tests, for runc (a test that skips fails the lane). One guest per layout
# in TSRUN_SYSTEMD_LANE_LAYOUTS: "v2" (default; pure cgroup v2) and "hybrid" (booted with
# systemd.unified_cgroup_hierarchy=0: v1 controllers); each guest takes some minutes under TCG on an
# idle host (v2, which also runs the rootless tests under a user session, the longer) and several
# times that on a busy one; .ci/run asks for both. TSRUN_SYSTEMD_LANE=required makes a failure fatal; the default, advisory, reports
# it and exits 0. TSRUN_SYSTEMD_LANE_TIMEOUT (seconds, default 900) bounds each guest.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=${TSRUN_SYSTEMD_LANE:-advisory}

final=0
for layout in ${TSRUN_SYSTEMD_LANE_LAYOUTS:-v2}; do
	case "$layout" in
	v2) append='' ;;
	hybrid) append='systemd.unified_cgroup_hierarchy=0' ;;
	*) echo "systemd lane: unknown layout $layout (v2 or hybrid)" >&2; exit 2 ;;
	esac
	echo "--- systemd lane: a qemu guest with systemd as PID 1 on cgroup $layout ($mode)"
	TSRUN_VM_APPEND="$append ${TSRUN_VM_APPEND:-}" "$here/run-in-guest.sh" --systemd --cwd "$repo" \
		--env TSRUN_SYSTEMD_LAYOUT="$layout" --timeout "${TSRUN_SYSTEMD_LANE_TIMEOUT:-900}" -- bash "$here/systemd-check.sh"
	status=$?
	if [ "$status" -eq 0 ]; then
		echo "systemd lane ($layout): passed"
	else
		echo "systemd lane ($layout): FAILED (status $status$([ "$mode" = required ] || echo '; advisory'))"
		final=$status
	fi
done
[ "$mode" = required ] && exit "$final"
exit 0
