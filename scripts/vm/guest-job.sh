#!/bin/sh
# Runs the job that run-in-guest.sh wrote (/run/tsrun-vm/job.sh, a bash script) and records its exit
# status in /run/tsrun-vm/status. Its output goes, through a pipe (as under CI, the job's stdout is
# no terminal), to the guest's second serial port, which the host relays to its stdout. Started by
# guest-init.sh, or by tsrun-vm.service under systemd; run-in-guest.sh copies it next to the job.
out=/dev/ttyS1
dir=/run/tsrun-vm
/bin/busybox stty -F "$out" raw -echo 2>/dev/null
{
	/bin/bash "$dir/job.sh" </dev/null 2>&1
	echo "$?" >"$dir/status.tmp"
} | /bin/busybox cat >"$out"
# After the output has drained: the host takes a status as the end of the job.
mv "$dir/status.tmp" "$dir/status"
/bin/busybox sync
exit 0
