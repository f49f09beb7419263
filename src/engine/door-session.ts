/**
 * The engine's side of one door's connection after the request (addon/door/wire.h): the answer
 * (FALLBACK, or SERVING and at the end EXIT), and what a served call needs its caller's own
 * process to do — start a child (create's tsrun-init, a hook), signal it, learn its exit status,
 * and hand over the signals the caller receives (a foreground run or exec forwards them). The
 * door's messages arrive on a net.Socket over the connection (libuv polls it: a call waiting for
 * minutes holds no thread); the engine's go out with sendmsg, its fds attached.
 */
import { constants } from 'node:os';
import { Socket } from 'node:net';
import { native } from '../native.js';
import type { ChildExit, FdSource, SpawnRequest, Spawned } from '../spawn.js';

/** addon/door/wire.h */
const Msg = {
  Exit: 1,
  Fallback: 2,
  Serving: 3,
  Spawn: 4,
  Kill: 5,
  Forward: 6,
  Spawned: 16,
  ChildExit: 17,
  Signal: 18,
} as const;
const HEADER = 8;

const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** A raw wait(2) status as child_process reports it. */
export function childExitOf(status: number): ChildExit {
  const signal = status & 0x7f;
  return signal === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: signalNames.get(signal) ?? null };
}

function callerGone(): Error {
  return Object.assign(new Error('the caller exited'), { code: 'ESRCH' });
}

interface Child {
  exited?: ChildExit;
  resolve(exit: ChildExit): void;
}

export class DoorSession {
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly starting = new Map<number, { resolve(pid: number): void; reject(err: Error): void }>();
  private readonly children = new Map<number, Child>();
  private signalHandler: ((signal: NodeJS.Signals) => void) | undefined;
  /** the door has exited (or closed its end) */
  gone = false;

  constructor(private readonly conn: number) {
    this.socket = new Socket({ fd: conn, readable: true, writable: false });
    this.socket.on('data', (data: Buffer) => this.receive(data));
    this.socket.on('end', () => this.lost());
    this.socket.on('error', () => this.lost());
  }

  fallback(): void {
    this.send(Msg.Fallback, Buffer.alloc(0));
  }

  serving(): void {
    this.send(Msg.Serving, Buffer.alloc(0));
  }

  /** The call's exit status: the door exits with it. Then the connection is closed. */
  exit(status: number): void {
    const payload = Buffer.alloc(4);
    payload.writeInt32LE(status, 0);
    this.send(Msg.Exit, payload);
  }

  close(): void {
    this.socket.destroy();
  }

  async spawn(req: SpawnRequest): Promise<Spawned> {
    if (this.gone) throw callerGone();
    const id = this.nextId++;
    const attached: number[] = [];
    const fdMap = req.fds.map((source: FdSource) => {
      if (typeof source !== 'number') return source.callerFd;
      attached.push(source);
      return -2 - (attached.length - 1);
    });
    const strings = [req.file, req.cwd ?? '', ...req.argv, ...Object.entries(req.env).map(([k, v]) => `${k}=${v}`)];
    const head = Buffer.alloc(16 + 4 * fdMap.length);
    head.writeUInt32LE(id, 0);
    head.writeUInt32LE(fdMap.length, 4);
    fdMap.forEach((fd, i) => head.writeInt32LE(fd, 8 + 4 * i));
    head.writeUInt32LE(req.argv.length, 8 + 4 * fdMap.length);
    head.writeUInt32LE(Object.keys(req.env).length, 12 + 4 * fdMap.length);
    const payload = Buffer.concat([head, ...strings.map((s) => Buffer.from(`${s}\0`))]);
    const pid = new Promise<number>((resolve, reject) => this.starting.set(id, { resolve, reject }));
    let resolveExit!: (exit: ChildExit) => void;
    const exit = new Promise<ChildExit>((resolve) => (resolveExit = resolve));
    const child: Child = {
      resolve: (e) => {
        child.exited = e;
        resolveExit(e);
      },
    };
    this.children.set(id, child);
    this.send(Msg.Spawn, payload, attached);
    let started: number;
    try {
      started = await pid;
    } catch (err) {
      this.children.delete(id);
      throw Object.assign(err as Error, { path: req.file, syscall: `spawn ${req.file}` });
    }
    return {
      pid: started,
      exit,
      get exited() {
        return child.exited;
      },
      kill: (signal) => {
        if (child.exited || this.gone) return;
        const msg = Buffer.alloc(8);
        msg.writeUInt32LE(id, 0);
        msg.writeInt32LE(constants.signals[signal], 4);
        this.send(Msg.Kill, msg);
      },
    };
  }

  /** The door blocks `signals` and sends them here, for `handler`, until the returned function. */
  onSignals(signals: NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
    this.signalHandler = handler;
    this.forward(signals.reduce((mask, sig) => mask | (1n << BigInt(constants.signals[sig] - 1)), 0n));
    return () => {
      if (this.signalHandler !== handler) return;
      this.signalHandler = undefined;
      this.forward(0n);
    };
  }

  private forward(mask: bigint): void {
    const payload = Buffer.alloc(8);
    payload.writeBigUInt64LE(mask, 0);
    if (!this.gone) this.send(Msg.Forward, payload);
  }

  private send(type: number, payload: Buffer, fds: number[] = []): void {
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(payload.length, 4);
    try {
      native.sendWithRights(this.conn, Buffer.concat([head, payload]), fds);
    } catch {
      // the door is gone: what it would have been told no longer matters
      this.lost();
    }
  }

  private receive(data: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32LE(4);
      if (this.pending.length < HEADER + len) return;
      const type = this.pending.readUInt32LE(0);
      const body = this.pending.subarray(HEADER, HEADER + len);
      this.pending = this.pending.subarray(HEADER + len);
      if (type === Msg.Spawned && len >= 8) {
        const id = body.readUInt32LE(0);
        const pid = body.readInt32LE(4);
        const waiter = this.starting.get(id);
        this.starting.delete(id);
        if (pid > 0) waiter?.resolve(pid);
        else {
          const code = errnoNames.get(-pid) ?? 'EUNKNOWN';
          waiter?.reject(Object.assign(new Error(`${code}: could not start the process`), { code, errno: pid }));
        }
      } else if (type === Msg.ChildExit && len >= 8) {
        const id = body.readUInt32LE(0);
        this.children.get(id)?.resolve(childExitOf(body.readInt32LE(4)));
        this.children.delete(id);
      } else if (type === Msg.Signal && len >= 4) {
        const name = signalNames.get(body.readInt32LE(0));
        if (name) this.signalHandler?.(name);
      }
    }
  }

  /** The door exited mid-call: nothing it started can be waited for or signalled through it any more. */
  private lost(): void {
    this.gone = true;
    for (const waiter of this.starting.values()) waiter.reject(callerGone());
    this.starting.clear();
    for (const child of this.children.values()) child.resolve({ code: null, signal: null });
    this.children.clear();
  }
}
