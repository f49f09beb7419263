#!/usr/bin/env bash
# kernel.sh: makes sure a Debian kernel for the test guest is unpacked in the cache and prints its
# directory. That directory holds vmlinuz (the bzImage), vmlinux (the same kernel uncompressed, for
# a PVH boot), lib/modules/<release> with modules.dep, and release (the `uname -r` it boots with).
#
# The kernel is the one linux-image-amd64 points at (the -cloud flavour has no 9p). When the suite
# that candidate comes from cannot be reached (e.g. the security suite), the versions that other
# suites offer are tried, newest first, then any kernel already in the cache.
#
# Environment: TSRUN_VM_CACHE (default /var/cache/tsrun-vm); TSRUN_VM_KERNEL_PKG=linux-image-...
# to pick a package by name.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TSRUN_VM_CACHE:-/var/cache/tsrun-vm}
mkdir -p "$cache/kernels"

log() { echo "kernel.sh: $*" >&2; }

# Unpacks one downloaded .deb into $cache/kernels/<package>; prints the directory.
unpack() {
	local deb=$1 pkg=$2 dir tmp release
	dir="$cache/kernels/$pkg"
	tmp=$(mktemp -d "$cache/kernels/.unpack.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	dpkg-deb -x "$deb" "$tmp/root"
	release=$(basename "$(ls -d "$tmp/root/lib/modules/"*)")
	mkdir -p "$tmp/out/lib/modules"
	mv "$tmp/root/lib/modules/$release" "$tmp/out/lib/modules/"
	mv "$tmp/root/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
	mv "$tmp/root/boot/config-$release" "$tmp/out/config"
	depmod -b "$tmp/out" "$release"
	"$here/extract-vmlinux.sh" "$tmp/out/vmlinuz" "$tmp/out/vmlinux"
	echo "$release" >"$tmp/out/release"
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	echo "$dir"
}

# Downloads and unpacks package $1 at version $2 (empty: the candidate) unless it is cached.
fetch() {
	local pkg=$1 version=${2:-} dl
	if [ -s "$cache/kernels/$pkg/release" ]; then
		echo "$cache/kernels/$pkg"
		return 0
	fi
	dl=$(mktemp -d "$cache/.download.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$dl'" RETURN
	log "downloading $pkg${version:+=$version}"
	if (cd "$dl" && timeout 120 apt-get download -q -o APT::Sandbox::User=root "$pkg${version:+=$version}" </dev/null >&2); then
		unpack "$dl"/*.deb "$pkg"
	else
		return 1
	fi
}

if [ -n "${TSRUN_VM_KERNEL_PKG:-}" ]; then
	fetch "$TSRUN_VM_KERNEL_PKG"
	exit
fi

# The apt-cache look-ups below take seconds under load: their answer is kept until the package
# lists change (apt-get update).
lists=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo none)
if [ -f "$cache/kernels/chosen" ]; then
	read -r chosen_lists chosen_dir <"$cache/kernels/chosen" || true
	if [ "${chosen_lists:-}" = "$lists" ] && [ -s "${chosen_dir:-/nonexistent}/release" ]; then
		echo "$chosen_dir"
		exit 0
	fi
fi
choose() {
	echo "$lists $1" >"$cache/kernels/chosen"
	echo "$1"
}

# The ABI packages linux-image-amd64 depends on, candidate first, then the other suites' versions.
mapfile -t versions < <({ apt-cache policy linux-image-amd64 | awk '/Candidate:/ {print $2}'; apt-cache madison linux-image-amd64 | awk '{print $3}'; } | awk 'NF && $0 != "(none)" && !seen[$0]++')
for v in "${versions[@]}"; do
	pkg=$(apt-cache depends "linux-image-amd64=$v" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
	[ -n "$pkg" ] || continue
	# The ABI package's own candidate may come from an unreachable suite: then ask for the version
	# this linux-image-amd64 was built with.
	if dir=$(fetch "$pkg") || dir=$(fetch "$pkg" "$v"); then
		choose "$dir"
		exit 0
	fi
	log "could not fetch $pkg; trying the next version"
done

# No repository reachable: any kernel unpacked earlier.
for d in "$cache"/kernels/*/; do
	if [ -s "$d/release" ]; then
		log "using the cached ${d%/}"
		echo "${d%/}"
		exit 0
	fi
done
log "no kernel could be downloaded (is 'apt-get update' done and a Debian suite reachable?)"
exit 1
