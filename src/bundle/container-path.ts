import { posix } from 'node:path';

/** Normalises a container path: absolute, no "..", no trailing slash (relative means from "/"). */
export function containerPath(path: string): string {
  return posix.resolve('/', path);
}
