/**
 * Checks config.json against schemas/config.schema.json (precompiled into ./config-validator.js by
 * scripts/build-validator.js, so no schema is compiled at run time) plus the few structural MUSTs a
 * schema cannot say: major version 1, no duplicate namespace or rlimit types.
 */
import { TsrunError, configError } from '../errors.js';
import { validateConfig as configValidator, validateProcess as processValidator } from './config-validator.js';
import type { ConfigSchemaError } from './config-validator.js';
import type { Process, Spec } from './spec-types.js';

/** The runtime-spec version tsrun implements (for state and features output). */
export const SPEC_VERSION = '1.3.0';

// Same SemVer 2.0.0 grammar as #/definitions/OciVersion in the schema.
const SEMVER =
  /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/**
 * True for any SemVer 1.x.y, pre-releases included (clients still send 1.0.2-dev … 1.2.x; the spec keeps
 * compatibility within a major version and unknown properties are ignored).
 */
export function ociVersionSupported(v: unknown): boolean {
  return typeof v === 'string' && SEMVER.test(v) && v.startsWith('1.');
}

/** Throws a config TsrunError naming the first offending field; returns normally when config is valid. */
export function validateConfig(config: unknown): asserts config is Spec {
  // Before the schema: a config for another major version may be shaped differently, and its
  // version is the useful thing to report.
  const version = isObject(config) ? config.ociVersion : undefined;
  if (typeof version === 'string' && SEMVER.test(version) && !ociVersionSupported(version)) {
    throw configError('/ociVersion', `unsupported version ${quote(version)}: tsrun supports 1.x (up to ${SPEC_VERSION})`);
  }
  if (!configValidator(config)) {
    const { pointer, reason } = describeSchemaErrors(configValidator.errors ?? [], config);
    throw configError(pointer, reason);
  }
  const namespaces = config.linux?.namespaces ?? [];
  const dupNs = findDuplicate(namespaces.map((ns) => ns.type));
  if (dupNs) throw configError(...duplicateMessage('/linux/namespaces', 'namespace type', namespaces[dupNs[1]].type, dupNs));
  const rlimits = config.process?.rlimits ?? [];
  const dupRl = findDuplicate(rlimits.map((r) => r.type));
  if (dupRl) throw configError(...duplicateMessage('/process/rlimits', 'rlimit type', rlimits[dupRl[1]].type, dupRl));
}

/**
 * Checks a process object given on its own (`exec --process process.json`) against the same rules as
 * config.json's "process"; pointers are relative to that file, e.g. "/cwd".
 */
export function validateProcess(process: unknown, file = 'process.json'): asserts process is Process {
  const fail = (pointer: string, reason: string) =>
    new TsrunError(`${file} ${pointer || '/'}: ${reason}`, { kind: 'config', pointer });
  if (!processValidator(process)) {
    const { pointer, reason } = describeSchemaErrors(processValidator.errors ?? [], process);
    throw fail(pointer, reason);
  }
  const rlimits = process.rlimits ?? [];
  const dup = findDuplicate(rlimits.map((r) => r.type));
  if (dup) throw fail(...duplicateMessage('/rlimits', 'rlimit type', rlimits[dup[1]].type, dup));
}

/** [first index, repeated index] of the first value seen twice */
function findDuplicate(values: string[]): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const first = seen.get(values[i]);
    if (first !== undefined) return [first, i];
    seen.set(values[i], i);
  }
  return undefined;
}

function duplicateMessage(arrayPointer: string, what: string, value: string, [first, i]: [number, number]): [string, string] {
  return [`${arrayPointer}/${i}/type`, `duplicate ${what} ${quote(value)} (first at ${arrayPointer}/${first})`];
}

// Patterns of the schema, worded for people; anything else is shown as the pattern itself.
const PATTERN_REASONS: Record<string, string> = {
  '^/': 'must be an absolute path',
  [SEMVER.source]: 'must be a SemVer version such as 1.3.0',
  '^CAP_[A-Z0-9_]+$': 'must be a capability name such as CAP_CHOWN',
  '^[1-9][0-9]*[KMGTPE]?B$': 'must be a page size such as 64KB, 2MB or 1GB',
  '^MB:[^\\n]*$': 'must start with "MB:" and be one line',
  '^[^\\n]*$': 'must not contain a newline',
};

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

interface Described {
  pointer: string;
  reason: string;
}

/** Turns ajv's errors (allErrors off: one failure, plus the branches of an anyOf/if) into one message. */
export function describeSchemaErrors(errors: ConfigSchemaError[], config: unknown): Described {
  // anyOf: every branch failed; name the alternatives rather than the first branch.
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (anyOf) {
    const options = errors
      .filter((e) => e.keyword === 'required' && e.instancePath === anyOf.instancePath)
      .map((e) => String(e.params.missingProperty));
    return { pointer: anyOf.instancePath, reason: `must set at least one of ${options.join(', ')}` };
  }
  // propertyNames: the key is at fault, not the value; the inner error says why.
  const names = errors.find((e) => e.keyword === 'propertyNames');
  if (names) {
    const key = String(names.params.propertyName);
    const inner = errors.find((e) => e !== names);
    let reason = 'is not an allowed key';
    if (inner?.keyword === 'enum') reason = `is not an allowed key: must be one of ${list(inner.params.allowedValues)}`;
    else if (inner?.keyword === 'minLength') reason = 'key must not be empty';
    return { pointer: `${names.instancePath}/${escapePointer(key)}`, reason };
  }
  // An if/else failure may come with a trailing "if" error that adds nothing.
  const err = errors.find((e) => e.keyword !== 'if');
  if (!err) return { pointer: '', reason: 'is invalid' };
  const p = err.params;
  const got = () => describeValue(resolvePointer(config, err.instancePath));
  switch (err.keyword) {
    case 'required': {
      const pointer = `${err.instancePath}/${escapePointer(String(p.missingProperty))}`;
      // The only if/else of the schema: linux.devices major/minor, required unless type is "p".
      const inElse = err.schemaPath.includes('/else/');
      return { pointer, reason: inElse ? 'is required unless type is "p"' : 'is required' };
    }
    case 'dependencies':
      return {
        pointer: `${err.instancePath}/${escapePointer(String(p.missingProperty))}`,
        reason: `is required when ${String(p.property)} is set`,
      };
    case 'type':
      return { pointer: err.instancePath, reason: `must be ${TYPE_NAMES[String(p.type)] ?? String(p.type)}, got ${got()}` };
    case 'enum':
      return { pointer: err.instancePath, reason: `must be one of ${list(p.allowedValues)}, got ${got()}` };
    case 'pattern': {
      const known = PATTERN_REASONS[String(p.pattern)];
      return { pointer: err.instancePath, reason: `${known ?? `must match ${String(p.pattern)}`}, got ${got()}` };
    }
    case 'minimum':
      return { pointer: err.instancePath, reason: `must be >= ${String(p.limit)}, got ${got()}` };
    case 'maximum':
      return { pointer: err.instancePath, reason: `must be <= ${String(p.limit)}, got ${got()}` };
    case 'minItems':
      return { pointer: err.instancePath, reason: p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} items` };
    case 'maxItems':
      return { pointer: err.instancePath, reason: p.limit === 0 ? 'must be empty (no values are supported)' : `must have at most ${String(p.limit)} items` };
    case 'minLength':
      return { pointer: err.instancePath, reason: p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters` };
    default:
      return { pointer: err.instancePath, reason: `is invalid (${err.keyword})` };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(values: unknown): string {
  return Array.isArray(values) ? values.map(String).join(', ') : String(values);
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[token];
  }
  return cur;
}

/** Short rendering of a bad value for the message: strings quoted and cut, containers by kind. */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return quote(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}
