#!/usr/bin/env bash
# install-e2e-deps.sh: the clients the e2e suite (test/e2e/) drives, from the distribution: dockerd
# and the docker CLI (docker.io), containerd with containerd-shim-runc-v2 and ctr, podman with
# conmon, runc (the suite's reference runtime), the CNI plugins podman loads, and util-linux's
# `script` (a terminal for ctr -t). The tests start their own daemons with private sockets and
# dirs, so none of these services may start at install: a policy-rc.d that refuses (exit 101) is
# put in place for the install if there is none, and removed after only if this script made it.
# Used by .ci/run after install-deps.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

pkgs=(docker.io containerd podman conmon runc containernetworking-plugins bsdutils)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-e2e-deps.sh: ${pkgs[*]}: installed"
	exit 0
fi

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# made by tsrun scripts/install-e2e-deps.sh: no service starts during its install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# install-deps.sh: apt-get update and install with retries (the mirrors can drop for a while).
bash scripts/install-deps.sh "${missing[@]}"
