/** mount(8)-style options of config.json mounts, as mount(2) flags, propagation and data. */
import { MOUNT_ATTR as A, MS } from '../kernel-tables.js';

/** mount(8) option → [flags to set, flags to clear] */
const mountFlagOptions: Record<string, [number, number]> = {
  defaults: [0, 0],
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
  symfollow: [0, MS.NOSYMFOLLOW],
  silent: [MS.SILENT, 0],
  loud: [0, MS.SILENT],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
};

export const propagationOptions: Record<string, number> = {
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/**
 * Recursive attributes (runc's "rro" family): [MOUNT_ATTR_* to set, to clear] on the mount and every
 * mount below it, by mount_setattr(AT_RECURSIVE). Setting an atime mode clears the whole atime field,
 * as the kernel requires.
 */
const recursiveAttrOptions: Record<string, [number, number]> = {
  rro: [A.RDONLY, 0],
  rrw: [0, A.RDONLY],
  rnosuid: [A.NOSUID, 0],
  rsuid: [0, A.NOSUID],
  rnodev: [A.NODEV, 0],
  rdev: [0, A.NODEV],
  rnoexec: [A.NOEXEC, 0],
  rexec: [0, A.NOEXEC],
  rnodiratime: [A.NODIRATIME, 0],
  rdiratime: [0, A.NODIRATIME],
  rrelatime: [A.RELATIME, A.ATIME_MASK],
  rnorelatime: [0, A.RELATIME],
  rnoatime: [A.NOATIME, A.ATIME_MASK],
  ratime: [0, A.NOATIME],
  rstrictatime: [A.STRICTATIME, A.ATIME_MASK],
  rnostrictatime: [0, A.STRICTATIME],
  rnosymfollow: [A.NOSYMFOLLOW, 0],
  rsymfollow: [0, A.NOSYMFOLLOW],
};

/** Options runc accepts that change nothing here (tmpcopyup is a runc extension). */
const ignoredMountOptions = new Set(['tmpcopyup', 'idmap', 'ridmap']);

/** Splits mount(8) options into mount(2) flags, propagation flags and the filesystem data string. */
export function parseMountOptions(options: string[] | undefined) {
  let flags = 0;
  let propagation = 0;
  let recAttrSet = 0;
  let recAttrClr = 0;
  const data: string[] = [];
  (options ?? []).forEach((opt) => {
    const flag = mountFlagOptions[opt];
    const rec = recursiveAttrOptions[opt];
    if (flag) {
      flags = (flags | flag[0]) & ~flag[1];
    } else if (rec) {
      // the later option wins, as for the plain flags
      recAttrSet = (recAttrSet & ~rec[1]) | rec[0];
      recAttrClr = (recAttrClr & ~rec[0]) | rec[1];
    } else if (opt in propagationOptions) {
      propagation |= propagationOptions[opt];
    } else if (!ignoredMountOptions.has(opt) && !opt.startsWith('x-')) {
      data.push(opt);
    }
  });
  return { flags, propagation, recAttrSet, recAttrClr, data: data.join(',') };
}
