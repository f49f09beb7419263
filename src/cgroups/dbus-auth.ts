/**
 * The authentication of a connection to a user's D-Bus (the systemd driver rootless), done by
 * tsrun itself rather than by the D-Bus library, which claims process.getuid(): inside a user
 * namespace (rootless podman runs its runtime as uid 0 of its own) that is not the uid the bus sees,
 * and the bus rejects it. runc finds the real uid by running `busctl --user status` (OwnerUID); here
 * nothing is run: SASL EXTERNAL is sent first without an identity, so the bus takes the uid the
 * kernel gives it for the socket (what sd-bus, and so busctl, does), then, should a bus refuse that,
 * with the caller's uid outside its namespace as /proc/self/uid_map says. The library then gets a
 * stream whose own handshake is answered here, and which carries the messages once it is done.
 */
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';

/** The uid of `uid` in the parent user namespace, from a uid_map text; undefined when unmapped. */
export function uidOutside(uidMap: string, uid: number): number | undefined {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, size] = line.trim().split(/\s+/).map(Number);
    if (Number.isInteger(size) && uid >= inside && uid < inside + size) return outside + (uid - inside);
  }
  return undefined;
}

/** A D-Bus address's first unix socket ("unix:path=..." or "unix:abstract=..."), as node's net takes it. */
export function unixSocketOf(address: string): string | undefined {
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (entry.slice(0, colon) !== 'unix') continue;
    const params = new Map(entry.slice(colon + 1).split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1))] as [string, string];
    }));
    const p = params.get('path');
    if (p) return p;
    const abstract = params.get('abstract');
    if (abstract) return `\0${abstract}`;
  }
  return undefined;
}

class LineReader {
  private buffered = '';
  private waiting?: { resolve: (line: string) => void; reject: (err: Error) => void };
  private failed?: Error;
  private readonly onData = (chunk: Buffer) => {
    this.buffered += chunk.toString('latin1');
    this.deliver();
  };
  private readonly onEnd = () => this.fail(new Error('the bus closed the connection during authentication'));
  private readonly onError = (err: Error) => this.fail(err);

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
  }

  next(): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Stops reading: the rest belongs to the library (nothing comes before BEGIN is answered). */
  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
  }

  private deliver(): void {
    const i = this.buffered.indexOf('\r\n');
    if (i < 0 || !this.waiting) return;
    const line = this.buffered.slice(0, i);
    this.buffered = this.buffered.slice(i + 2);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve(line);
  }

  private fail(err: Error): void {
    this.failed = err;
    this.waiting?.reject(err);
    this.waiting = undefined;
  }
}

const hex = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

/**
 * SASL EXTERNAL on a fresh connection, up to and including BEGIN; resolves with the server's guid.
 * Identities tried in turn: the socket's own (no identity sent), then each uid given.
 */
export async function authenticateExternal(socket: net.Socket, uids: readonly number[]): Promise<string> {
  const lines = new LineReader(socket);
  try {
    socket.write('\0');
    const answers: string[] = [];
    for (const identity of [undefined, ...uids]) {
      socket.write(identity === undefined ? 'AUTH EXTERNAL\r\n' : `AUTH EXTERNAL ${hex(String(identity))}\r\n`);
      let line = await lines.next();
      // no identity sent: the server asks for one with an empty challenge, and an empty answer means "as the socket says"
      if (identity === undefined && /^DATA\b/.test(line)) {
        socket.write('DATA\r\n');
        line = await lines.next();
      }
      if (line.startsWith('OK ')) {
        socket.write('BEGIN\r\n');
        return line.slice(3).trim();
      }
      answers.push(`${identity === undefined ? 'as the socket\'s owner' : `as uid ${identity}`}: ${line}`);
      if (line.startsWith('ERROR') || line.startsWith('DATA')) {
        socket.write('CANCEL\r\n');
        await lines.next();
      }
    }
    throw new Error(`the bus refused EXTERNAL authentication (${answers.join('; ')})`);
  } finally {
    lines.detach();
  }
}

/**
 * The stream the D-Bus library is given once tsrun has authenticated: the library's own SASL lines
 * (a NUL, AUTH, BEGIN) are answered "OK <guid>" here and never sent; everything after its BEGIN
 * goes to the bus, and all the bus sends goes to the library.
 */
export class AuthenticatedStream extends Duplex {
  private handshaking = true;
  private pending = '';

  constructor(private readonly socket: net.Socket, private readonly guid: string) {
    super();
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    if (!this.handshaking) {
      this.socket.write(data, callback);
      return;
    }
    this.pending += data.toString('latin1');
    for (;;) {
      this.pending = this.pending.replace(/^\0/, '');
      const i = this.pending.indexOf('\r\n');
      if (i < 0) break;
      const line = this.pending.slice(0, i);
      this.pending = this.pending.slice(i + 2);
      if (line.startsWith('AUTH')) this.push(Buffer.from(`OK ${this.guid}\r\n`, 'latin1'));
      else if (line === 'BEGIN') {
        this.handshaking = false;
        const rest = Buffer.from(this.pending, 'latin1');
        this.pending = '';
        if (rest.length) {
          this.socket.write(rest, callback);
          return;
        }
        break;
      } else this.push(Buffer.from('ERROR\r\n', 'latin1'));
    }
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}

/** The caller's uid outside its user namespace, when it is in one (else none to add). */
export function uidsToClaim(procRoot = '/proc'): number[] {
  const uid = process.getuid?.() ?? 0;
  try {
    const outside = uidOutside(readFileSync(`${procRoot}/self/uid_map`, 'utf8'), uid);
    return outside !== undefined && outside !== uid ? [outside, uid] : [uid];
  } catch {
    return [uid];
  }
}
