/**
 * Where a container's state lives. Ids are validated before any join with --root, and state paths
 * come only from statePaths(), so "../x" can never name a directory outside the root.
 */
import { join } from 'node:path';
import { usageError } from '../errors.js';

export const DEFAULT_ROOT = '/run/tsrun';

const validId = /^[\w+\-.]+$/;

export function validateId(id: string | undefined): string {
  if (!id) throw usageError('container id cannot be empty');
  if (!validId.test(id) || id === '.' || id === '..') {
    throw usageError(`invalid container ID format: ${id}`);
  }
  if (id.length > 1024) throw usageError('container id is too long');
  return id;
}

export interface StatePaths {
  dir: string;
  stateFile: string;
  fifo: string;
}

export function statePaths(root: string, id: string): StatePaths {
  const dir = join(root, validateId(id));
  return { dir, stateFile: join(dir, 'state.json'), fifo: join(dir, 'exec.fifo') };
}
