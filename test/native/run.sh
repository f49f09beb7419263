#!/bin/sh
# Builds and runs the helper's C unit tests (no root, no namespaces). Exits non-zero on failure.
# CC and CFLAGS may be overridden; SANITIZE=1 adds ASan/UBSan.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../addon/init"
out=$(mktemp -d "${TMPDIR:-/tmp}/c-helper-native-build-XXXXXX")
trap 'rm -rf "$out"' EXIT
CC=${CC:-gcc}
CFLAGS=${CFLAGS:--std=gnu11 -O1 -g -Wall -Wextra -Werror}
if [ "${SANITIZE:-0}" = 1 ]; then CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer"; fi
# Everything but main.c: the tests call the helper's functions directly.
lib="$src/sync.c $src/plan.c $src/records.c $src/inroot.c $src/procfs.c $src/lsm.c $src/namespaces.c $src/mounts.c $src/process.c $src/hooks.c $src/terminal.c $src/unixsock.c $src/bindsrc.c"
status=0
# Names on the command line pick tests (lsm_test); none: all.
tests=${*:-plan_test inroot_test lsm_test}
for t in $tests; do
  # shellcheck disable=SC2086
  $CC $CFLAGS -I"$src" -o "$out/$t" "$here/$t.c" $lib
  if "$out/$t"; then echo "ok   $t"; else echo "FAIL $t"; status=1; fi
done
exit $status
