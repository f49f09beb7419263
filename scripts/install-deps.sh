#!/usr/bin/env bash
# install-deps.sh [PACKAGE...]: what building and running tsrun needs on a bare Debian/Ubuntu
# machine (busybox-static for the rootfs, a compiler, make, python3, libc.a and libseccomp.a for the
# addon and the static helper, Node.js >= 20.19, uidmap for rootless use and its tests), plus any
# extra apt packages named. Used by .ci/run
# and demo.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# libseccomp-dev: libseccomp.a, linked into the helper (seccomp filters are built with it).
# uidmap (newuidmap/newgidmap, for rootless id ranges), passwd (useradd for the rootless tests'
# user), util-linux (setpriv) and bsdutils (script): test/integration/rootless.test.js.
pkgs=(busybox-static libseccomp-dev uidmap passwd util-linux bsdutils "$@")
command -v make >/dev/null || pkgs+=(make)
command -v g++ >/dev/null || pkgs+=(g++)
command -v python3 >/dev/null || pkgs+=(python3)
# The helper links statically: it needs libc.a.
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] || pkgs+=(libc6-dev)
command -v node >/dev/null || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# The network to the mirrors can drop for a while: retry before giving up.
retry() {
	local n
	for n in 1 2 3 4 5; do
		"$@" && return 0
		echo "install-deps.sh: '$*' failed (try $n of 5); retrying in $((n * 10)) s" >&2
		sleep $((n * 10))
	done
	return 1
}
if [ "${#missing[@]}" -gt 0 ]; then
	echo "--- apt-get install ${missing[*]}"
	retry apt-get update </dev/null
	retry apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
fi

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)')
if [ "$node_ok" != 1 ]; then
	echo "install-deps.sh: Node $(node --version) is too old; tsrun needs Node >= 20.19" >&2
	exit 1
fi
