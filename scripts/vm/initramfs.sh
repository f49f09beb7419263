#!/usr/bin/env bash
# initramfs.sh KERNEL_DIR: builds (when missing or older than its inputs) the test guest's
# initramfs for the kernel unpacked in KERNEL_DIR (see kernel.sh) and prints its path. It holds a
# static busybox, /init (initramfs-init.sh) and what mounting the root needs of the kernel's
# modules: virtio-pci, 9p over virtio and overlayfs, with their dependencies, in load order. Every
# other module is loaded later from the real root (/lib/modules is bound there).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kdir=${1:?usage: initramfs.sh KERNEL_DIR}
release=$(cat "$kdir/release")
mods="$kdir/lib/modules/$release"
out="$kdir/initramfs.cpio.gz"
busybox=${BUSYBOX:-/bin/busybox}
wanted=(virtio_pci 9pnet_virtio 9p overlay)

if [ -s "$out" ] && [ "$out" -nt "$here/initramfs-init.sh" ] && [ "$out" -nt "$here/initramfs.sh" ] && [ "$out" -nt "$busybox" ]; then
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d "$kdir/.initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/bin" "$tmp/root/lib/modules"

# Load order: each module after what modules.dep says it needs (depth first, no repeats).
order=()
declare -A seen=()
visit() {
	local rel=$1 line dep
	[ -n "${seen[$rel]:-}" ] && return 0
	seen[$rel]=1
	line=$(grep -m1 "^$rel:" "$mods/modules.dep") || {
		echo "initramfs.sh: $rel not in modules.dep" >&2
		exit 1
	}
	for dep in ${line#*:}; do visit "$dep"; done
	order+=("$rel")
}
for m in "${wanted[@]}"; do
	# modules.dep names files; module names use _ where files may use -.
	rel=$(grep -m1 -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$mods/modules.dep" | cut -d: -f1) || {
		echo "initramfs.sh: no module $m in $mods" >&2
		exit 1
	}
	visit "$rel"
done
for rel in "${order[@]}"; do
	cp "$mods/$rel" "$tmp/root/lib/modules/"
	basename "$rel" >>"$tmp/root/modules"
done

cp "$busybox" "$tmp/root/bin/busybox"
cp "$here/initramfs-init.sh" "$tmp/root/init"
chmod 0755 "$tmp/root/init" "$tmp/root/bin/busybox"
(cd "$tmp/root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/initramfs.cpio.gz"
mv -f "$tmp/initramfs.cpio.gz" "$out"
echo "$out"
