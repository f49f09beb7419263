/**
 * Node's end of the sync socket to tsrun-init: sends frames, waits for an expected one. Error and
 * Log frames are handled whenever they arrive; every wait has a deadline; on EOF the helper's exit
 * status is part of the error so the cause is never a bare "connection closed".
 */
import type { Socket } from 'node:net';
import { TsrunError } from '../errors.js';
import { FieldReader, FrameReader, encodeFrame, type Frame } from './codec.js';
import { LogLevel, Msg, type MsgType } from './protocol.js';

const msgNames = new Map<number, string>(Object.entries(Msg).map(([k, v]) => [v, k]));

export function msgName(type: number): string {
  return msgNames.get(type) ?? `unknown message ${type}`;
}

/** Translates errno numbers from the helper into names (the ones mount/exec paths produce). */
const errnoNames: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 18: 'EXDEV',
  19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 26: 'ETXTBSY',
  28: 'ENOSPC', 30: 'EROFS', 36: 'ENAMETOOLONG', 38: 'ENOSYS', 40: 'ELOOP', 95: 'EOPNOTSUPP',
  110: 'ETIMEDOUT', 111: 'ECONNREFUSED',
};

const errnoText: Record<string, string> = {
  EPERM: 'operation not permitted', ENOENT: 'no such file or directory', ESRCH: 'no such process',
  EINVAL: 'invalid argument', EACCES: 'permission denied', EBUSY: 'device or resource busy',
  EEXIST: 'file exists', ENOTDIR: 'not a directory', EISDIR: 'is a directory', EROFS: 'read-only file system',
  ENOSPC: 'no space left on device', ENOSYS: 'function not implemented', ELOOP: 'too many levels of symbolic links',
  ENOEXEC: 'exec format error', ENODEV: 'no such device', EXDEV: 'invalid cross-device link',
  ENOMEM: 'cannot allocate memory', ETIMEDOUT: 'timed out', ECONNREFUSED: 'connection refused',
  ETXTBSY: 'text file busy', EOPNOTSUPP: 'operation not supported', ENAMETOOLONG: 'file name too long',
};

export function describeErrno(errno: number): { code?: string; text?: string } {
  const code = errnoNames[errno];
  return { code, text: code ? errnoText[code] ?? code : errno ? `errno ${errno}` : undefined };
}

export interface ChannelOptions {
  /** called for Log frames */
  onLog?: (level: 'debug' | 'info' | 'warn', message: string) => void;
  /** describes how the helper ended, for EOF errors (e.g. "exit status 1") */
  exitDescription?: () => Promise<string | undefined>;
}

export class Channel {
  private readonly reader = new FrameReader();
  private readonly queue: Frame[] = [];
  private waiter?: () => void;
  private failure?: TsrunError;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: ChannelOptions = {},
  ) {
    socket.on('data', (data: Buffer) => {
      try {
        for (const frame of this.reader.push(data)) this.accept(frame);
      } catch (err) {
        this.fail(new TsrunError(`sync socket: ${(err as Error).message}`, { kind: 'internal' }));
      }
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err) => this.fail(new TsrunError(`sync socket: ${err.message}`, { kind: 'internal' })));
  }

  send(type: MsgType, payload?: Buffer): void {
    this.socket.write(encodeFrame(type, payload));
  }

  /** Waits for the next frame, which must be `type`; Error frames become a thrown TsrunError. */
  async expect(type: MsgType, step: string, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const frame = this.queue.shift();
      if (frame) {
        if (frame.type !== type) {
          throw new TsrunError(`expected ${msgName(type)} during ${step}, got ${msgName(frame.type)}`, {
            kind: 'internal',
            step,
          });
        }
        return frame.payload;
      }
      if (this.ended) {
        const how = (await this.options.exitDescription?.()) ?? 'closed the sync socket';
        throw new TsrunError(`${step}: container init ended before ${msgName(type)} (${how})`, {
          kind: 'kernel',
          step,
        });
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TsrunError(`${step}: timed out waiting for ${msgName(type)}`, { kind: 'internal', step });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private accept(frame: Frame): void {
    if (frame.type === Msg.Log) {
      const r = new FieldReader(frame.payload);
      const level = r.u32();
      const text = r.str();
      this.options.onLog?.(level === LogLevel.Warn ? 'warn' : level === LogLevel.Info ? 'info' : 'debug', text);
      return;
    }
    if (frame.type === Msg.Error) {
      const r = new FieldReader(frame.payload);
      const errno = r.i32();
      const step = r.str();
      const message = r.str();
      const { code, text } = describeErrno(errno);
      this.fail(
        new TsrunError(text ? `${message}: ${text}` : message, { kind: 'kernel', step, code, errno: errno ? -errno : undefined }),
      );
      return;
    }
    this.queue.push(frame);
    this.wake();
  }

  private fail(err: TsrunError): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
