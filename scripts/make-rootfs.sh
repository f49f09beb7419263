#!/usr/bin/env bash
# make-rootfs.sh DIR — build a tiny busybox rootfs in DIR (idempotent).
# DIR/bin/busybox plus a symlink per applet, /etc/passwd and /etc/group with root, a user 1000 and
# nobody (65534), and the empty mount points a runtime expects (proc sys dev tmp etc root).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1

busybox=${BUSYBOX:-/bin/busybox}
if [ ! -x "$busybox" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		echo "make-rootfs: $busybox missing, installing busybox-static" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2
	fi
fi
if [ ! -x "$busybox" ]; then
	echo "make-rootfs: $busybox not found (apt-get install busybox-static)" >&2
	exit 1
fi
# A dynamically linked busybox would need the host's libc inside the rootfs.
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
	echo "make-rootfs: $busybox is not statically linked (install busybox-static)" >&2
	exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp etc root home/user var/tmp run
chmod 1777 tmp var/tmp
chmod 0700 root

# Copy through a temp name so a rerun never writes into a busybox that is running in a container.
cp "$busybox" bin/.busybox.new
chmod 0755 bin/.busybox.new
mv -f bin/.busybox.new bin/busybox

"$busybox" --list-full | while read -r applet; do
	# --list-full gives paths such as "bin/ls" and "usr/sbin/chroot".
	[ "$applet" = "bin/busybox" ] && continue
	case "$applet" in
	bin/*) target=busybox ;;
	sbin/*) target=../bin/busybox ;;
	usr/bin/* | usr/sbin/*) target=../../bin/busybox ;;
	*) continue ;;
	esac
	# -n: replace an existing symlink instead of following it. busybox's own ln: a static binary
	# starts faster than coreutils' dynamic one, which counts over ~400 applets (6x in a TCG guest).
	"$busybox" ln -sfn "$target" "$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 home/user
echo tsrun >etc/hostname
: >etc/hosts
: >etc/resolv.conf
