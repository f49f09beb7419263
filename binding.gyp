{
  "target_defaults": {
    "cflags": ["-O2", "-Wall", "-Wextra", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
    "cflags_cc": ["-O2", "-Wall", "-Wextra", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"]
  },
  "targets": [
    {
      "target_name": "tsrun_native",
      "sources": ["addon/binding.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "tsrun-init",
      "type": "executable",
      "sources": [
        "addon/init/main.c",
        "addon/init/selfexec.c",
        "addon/init/sync.c",
        "addon/init/plan.c",
        "addon/init/records.c",
        "addon/init/namespaces.c",
        "addon/init/mounts.c",
        "addon/init/inroot.c",
        "addon/init/procfs.c",
        "addon/init/lsm.c",
        "addon/init/process.c",
        "addon/init/hooks.c",
        "addon/init/terminal.c",
        "addon/init/sched.c",
        "addon/init/netdev.c",
        "addon/init/seccomp.c",
        "addon/init/unixsock.c",
        "addon/init/bindsrc.c"
      ],
      "cflags": ["-std=gnu11"],
      "ldflags": ["-static"],
      "libraries": ["-lseccomp"]
    }
  ]
}
