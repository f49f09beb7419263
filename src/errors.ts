/**
 * The one error type of tsrun. Raise it where the facts are (the syscall, the path, the errno, the
 * JSON pointer); callers add context with `wrap(err, 'step')`, never by rebuilding the text.
 * Only src/cli/main.ts prints errors.
 */
export type ErrorKind = 'usage' | 'config' | 'state' | 'kernel' | 'hook' | 'internal';

export interface TsrunErrorOptions {
  kind?: ErrorKind;
  step?: string;
  /** errno name, e.g. "EPERM" */
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  /** RFC 6901 pointer into config.json */
  pointer?: string;
  cause?: unknown;
}

export class TsrunError extends Error {
  readonly kind: ErrorKind;
  readonly step?: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly pointer?: string;
  /** failures while undoing a failed operation; they never replace the cause */
  cleanupErrors: unknown[] = [];
  /** the exit status the CLI reports (1 unless a command says otherwise: exec's is 255, as runc) */
  exitCode = 1;

  constructor(message: string, options: TsrunErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsrunError';
    this.kind = options.kind ?? 'internal';
    this.step = options.step;
    this.code = options.code;
    this.errno = options.errno;
    this.syscall = options.syscall;
    this.path = options.path;
    this.pointer = options.pointer;
  }
}

export function configError(pointer: string, reason: string): TsrunError {
  return new TsrunError(`config.json ${pointer || '/'}: ${reason}`, { kind: 'config', pointer });
}

export function usageError(message: string): TsrunError {
  return new TsrunError(message, { kind: 'usage' });
}

/** `cause`, if given, is the system error that showed the state: its errno, code and path are kept. */
export function stateError(message: string, cause?: unknown): TsrunError {
  return new TsrunError(message, { kind: 'state', ...(cause === undefined ? {} : systemFacts(cause)) });
}

interface NodeSystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

/** The facts of a Node fs/child_process error (errno, code, syscall, path), with it as the cause. */
function systemFacts(err: unknown): TsrunErrorOptions {
  const e = err as NodeSystemError;
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    errno: e?.errno,
    syscall: e?.syscall,
    path: e?.path,
    cause: err,
  };
}

/** Turns a Node fs/child_process error (or anything thrown) into a TsrunError, keeping its facts. */
export function fromSystemError(err: unknown, what: string, kind: ErrorKind = 'kernel'): TsrunError {
  if (err instanceof TsrunError) return wrap(err, what);
  const facts = systemFacts(err);
  const detail = facts.code ?? (err instanceof Error ? err.message : String(err));
  return new TsrunError(`${what}: ${detail}`, { kind, ...facts });
}

/** Prefixes an error's message with the step the caller was doing; keeps every other fact. */
export function wrap(err: unknown, step: string): TsrunError {
  if (!(err instanceof TsrunError)) return fromSystemError(err, step, 'internal');
  const wrapped = new TsrunError(`${step}: ${err.message}`, {
    kind: err.kind,
    step: err.step ?? step,
    code: err.code,
    errno: err.errno,
    syscall: err.syscall,
    path: err.path,
    pointer: err.pointer,
    cause: err,
  });
  wrapped.cleanupErrors = err.cleanupErrors;
  return wrapped;
}

/** True for errors that mean "already gone", which reversals and delete --force accept. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeSystemError | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}
