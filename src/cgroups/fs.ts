/**
 * Every kernel touch of src/cgroups goes through CgroupFs, so unit tests can run the drivers on a
 * temp tree (optionally wrapped by a recorder that logs writes or fails a named call N times).
 */
import * as fs from 'node:fs';

export interface CgroupDirent {
  name: string;
  isDirectory: boolean;
}

export interface CgroupFs {
  readFile(path: string): string;
  /** One write of `data` to an existing file; must not create it (cgroupfs files cannot be created). */
  writeFile(path: string, data: string): void;
  /** One level; throws EEXIST when it is there already. */
  mkdir(path: string): void;
  rmdir(path: string): void;
  exists(path: string): boolean;
  readdir(path: string): CgroupDirent[];
  /** statfs(2) f_type of the file system holding `path` (CGROUP2_SUPER_MAGIC = 0x63677270). */
  statfsType(path: string): number;
}

export const CGROUP2_SUPER_MAGIC = 0x63677270;

export const realCgroupFs: CgroupFs = {
  readFile: (path) => fs.readFileSync(path, 'utf8'),
  writeFile: (path, data) => {
    // No O_CREAT: a missing control file means "not supported here" and must stay an ENOENT.
    // O_TRUNC is ignored by cgroupfs and keeps temp trees honest.
    const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir: (path) => fs.mkdirSync(path, { mode: 0o755 }),
  rmdir: (path) => fs.rmdirSync(path),
  exists: (path) => fs.existsSync(path),
  readdir: (path) =>
    fs.readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, isDirectory: d.isDirectory() })),
  statfsType: (path) => fs.statfsSync(path).type,
};

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** The manager's API is synchronous (it runs between sync-protocol steps), so waits block. */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}
