#!/usr/bin/env bash
# extract-vmlinux.sh VMLINUZ OUT: writes the uncompressed ELF kernel inside a bzImage to OUT.
# A bzImage is a setup stub plus a compressed payload; the payload is found by its compressor's
# magic bytes, decompressed (trailing bytes after the stream are expected and ignored) and kept
# only if it is an ELF file. An ELF vmlinux with a PVH note boots under qemu without the stub's
# in-guest decompression, which under TCG takes seconds.
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: $0 VMLINUZ OUT" >&2
	exit 2
fi
in=$1
out=$2
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

# "magic as printf escapes" "decompressor"
formats=(
	'\3757zXZ\000|xz -dc'
	'\037\213\010|gzip -dc'
	'\050\265\057\375|zstd -dcq'
	'\002\041\114\030|lz4 -dc'
	'\135\000\000|xz -dc --format=lzma'
	'BZh|bzip2 -dc'
)
for f in "${formats[@]}"; do
	magic=${f%%|*}
	cmd=${f#*|}
	# Byte offsets of every occurrence of the magic (grep -b on binary data, one match per line).
	# shellcheck disable=SC2059
	for off in $(LC_ALL=C grep -obUaP "$(printf "$magic" | od -An -tx1 | tr -d ' \n' | sed 's/../\\x&/g')" "$in" 2>/dev/null | cut -d: -f1); do
		tail -c +"$((off + 1))" "$in" | $cmd >"$tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
			mv -f "$tmp" "$out"
			exit 0
		fi
	done
done
echo "extract-vmlinux.sh: no compressed ELF kernel found in $in" >&2
exit 1
