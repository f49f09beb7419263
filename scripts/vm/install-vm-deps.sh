#!/usr/bin/env bash
# install-vm-deps.sh: the host packages the qemu test guest needs (run-in-guest.sh): qemu-system-x86
# for TCG, kmod (depmod for the downloaded kernel; modprobe in the guest, whose root is this one),
# and systemd with dbus for the --systemd mode (dbus-user-session: a user's bus, for the rootless
# systemd tests). The kernel itself is fetched by kernel.sh.
#
# apt runs only for what is missing. When a candidate comes from a suite that cannot be reached
# (often the security suite, while the main one works), the install is retried with the release's
# main suite preferred (-t CODENAME); the network may also drop for a while: each step is retried.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(qemu-system-x86 kmod systemd dbus dbus-user-session)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ "${#missing[@]}" -eq 0 ] && exit 0

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
for attempt in 1 2 3; do
	echo "--- apt-get install ${missing[*]} (attempt $attempt)"
	apt-get update </dev/null || true
	if apt-get install -y --no-install-recommends "${missing[@]}" </dev/null; then
		exit 0
	fi
	if [ -n "$codename" ] && apt-get install -y --no-install-recommends -t "$codename" "${missing[@]}" </dev/null; then
		exit 0
	fi
	sleep $((attempt * 20))
done
echo "install-vm-deps.sh: could not install ${missing[*]}" >&2
exit 1
