/**
 * Where tsrun's messages go: --log FILE (default stderr) in --log-format text or json. containerd
 * and podman read the json lines {"level","msg","time"} from the file to report a failure, so the
 * last error line must say what failed.
 */
import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogConfig {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

let config: LogConfig = { format: 'text', debug: false };

export function configureLog(next: LogConfig): void {
  config = next;
}

function line(level: Level, msg: string): string {
  const time = new Date().toISOString();
  if (config.format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function emit(level: Level, msg: string): void {
  const text = line(level, msg);
  if (config.file) {
    try {
      appendFileSync(config.file, text);
      return;
    } catch {
      // fall through to stderr: losing the message would be worse
    }
  }
  process.stderr.write(text);
}

export const log = {
  debug(msg: string): void {
    if (config.debug) emit('debug', msg);
  },
  /**
   * With --debug, one line per phase: milliseconds since the process started. With
   * TSRUN_STOP_AT_PHASE=<name> tsrun stops itself (SIGSTOP) on reaching that phase, so a test can
   * kill -9 it at exactly that point; it only ever stops the process that was given it.
   */
  phase(name: string): void {
    if (config.debug) emit('debug', `phase ${name} at ${performance.now().toFixed(1)} ms`);
    if (process.env.TSRUN_STOP_AT_PHASE === name) process.kill(process.pid, 'SIGSTOP');
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
    if (config.file) process.stderr.write(`${msg}\n`);
  },
  get debugEnabled(): boolean {
    return config.debug;
  },
};
