#!/bin/sh
# crun on a hybrid cgroup host: crun picks cgroup v2 when /sys/fs/cgroup/unified is a cgroup2 mount,
# which fails for v1 controllers. Hide it with a tmpfs in a private mount namespace (the real mount
# is untouched) and run crun there.
exec unshare -m --propagation private sh -c 'mount -t tmpfs tsrun-hide-unified /sys/fs/cgroup/unified && exec crun "$@"' crun "$@"
