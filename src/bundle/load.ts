/** Reads a bundle's config.json: parse, validate against the schema, resolve the bundle path. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TsrunError, configError, fromSystemError } from '../errors.js';
import type { Spec } from './spec-types.js';
import { validateConfig } from './validate.js';

export interface LoadedBundle {
  /** absolute bundle directory */
  bundle: string;
  spec: Spec;
}

export function loadBundle(bundleDir: string): LoadedBundle {
  const bundle = resolve(bundleDir);
  const file = `${bundle}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TsrunError(`open ${file}: no such file or directory`, { kind: 'config', code: 'ENOENT', path: file });
    }
    throw fromSystemError(err, `read ${file}`, 'config');
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw configError('', `invalid JSON: ${(err as Error).message}`);
  }
  validateConfig(spec);
  return { bundle, spec: spec as Spec };
}
