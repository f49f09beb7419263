#!/usr/bin/env bash
# demo.sh: run a container with tsrun on a fresh machine: installs what is missing (apt packages via
# install-deps.sh, the npm packages), builds a busybox bundle in a temp dir (make-rootfs.sh + `tsrun spec`), runs a
# container that prints what it sees from inside, and removes everything again.
#   sudo bash scripts/demo.sh            (TSRUN="runc" bash scripts/demo.sh runs it with runc)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: containers need root: sudo bash scripts/demo.sh" >&2
	exit 1
fi

bash "$repo/scripts/install-deps.sh"
if [ -z "${TSRUN:-}" ] && { [ ! -d "$repo/node_modules" ] || [ ! -d "$repo/dist" ] || [ ! -d "$repo/build/Release" ]; }; then
	echo "--- npm ci (builds the addon and dist/)"
	(cd "$repo" && npm ci --no-audit --no-fund </dev/null)
fi

read -r -a tsrun <<<"${TSRUN:-node $repo/bin/tsrun.cjs}"
work=$(mktemp -d /tmp/tsrun-demo-XXXXXX)
root=$work/state
id=tsrun-demo-$$
cleanup() {
	"${tsrun[@]}" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "--- bundle in $work/bundle"
bash "$repo/scripts/make-rootfs.sh" "$work/bundle/rootfs"
(cd "$work/bundle" && "${tsrun[@]}" spec)
# The generated config asks for a terminal and runs sh; make it print instead.
node - "$work/bundle/config.json" <<'JS'
const fs = require('node:fs');
const file = process.argv[2];
const c = JSON.parse(fs.readFileSync(file, 'utf8'));
c.process.terminal = false;
c.hostname = 'tsrun-demo';
c.process.args = ['sh', '-c', [
	'echo "hello from inside a tsrun container"',
	'echo "hostname: $(hostname)"',
	'echo "id:       $(id)"',
	'echo "pid:      $$ (pid 1 of its own pid namespace)"',
	'echo "root:     "$(ls /)',
	'echo "ps:"; ps',
	'exit 0',
].join('; ')];
fs.writeFileSync(file, JSON.stringify(c, null, '\t'));
JS

echo "--- ${tsrun[*]} run $id"
status=0
"${tsrun[@]}" --root "$root" run --bundle "$work/bundle" "$id" || status=$?
echo "--- container exited with status $status; cleaning up"
exit "$status"
