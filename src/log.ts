/**
 * Where tsrun's messages go: --log FILE (default stderr) in --log-format text or json. containerd
 * and podman read the json lines {"level","msg","time"} from the file to report a failure, so the
 * last error line must say what failed.
 */
import { appendFileSync } from 'node:fs';
import { callerPath, currentCall } from './call.js';
import { TsrunError } from './errors.js';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogConfig {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

/** Each call has its own (--log and --debug are per command line). */
export function configureLog(next: LogConfig): void {
  currentCall().log = { ...next, file: next.file === undefined ? undefined : callerPath(next.file) };
}

function line(level: Level, msg: string): string {
  const config = currentCall().log;
  const time = new Date().toISOString();
  if (config.format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function emit(level: Level, msg: string): void {
  const text = line(level, msg);
  const call = currentCall();
  if (call.log.file) {
    try {
      appendFileSync(call.log.file, text);
      return;
    } catch {
      // fall through to stderr: losing the message would be worse
    }
  }
  call.err(text);
}

export const log = {
  debug(msg: string): void {
    if (currentCall().log.debug) emit('debug', msg);
  },
  /**
   * With --debug, one line per phase: milliseconds since the process started. With
   * TSRUN_STOP_AT_PHASE=<name> tsrun stops itself (SIGSTOP) on reaching that phase, so a test can
   * kill -9 it at exactly that point; it only ever stops the process that was given it. A call
   * whose caller has gone (a door killed while the engine serves it) ends at its next phase, as
   * the caller's own process would have ended where it was killed: what create made is undone.
   */
  phase(name: string): void {
    const call = currentCall();
    if (call.log.debug) emit('debug', `phase ${name} at ${(performance.now() - call.startMs).toFixed(1)} ms`);
    if (call.callerGone?.()) throw new TsrunError(`the calling process exited (at ${name})`, { kind: 'internal' });
    // never the engine's own process: a call that asks for a stop is served in-process (src/engine/)
    if (!call.shared && process.env.TSRUN_STOP_AT_PHASE === name) process.kill(process.pid, 'SIGSTOP');
  },
  info(msg: string): void {
    emit('info', msg);
  },
  warn(msg: string): void {
    emit('warning', msg);
  },
  /**
   * The final error, as runc reports it: with --log, a line in the log file and the bare message
   * on stderr; without, the formatted line on stderr.
   */
  error(msg: string): void {
    emit('error', msg);
    const call = currentCall();
    if (call.log.file) call.err(`${msg}\n`);
  },
  get debugEnabled(): boolean {
    return currentCall().log.debug;
  },
};
