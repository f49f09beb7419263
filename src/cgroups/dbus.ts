/**
 * A D-Bus connection to systemd, over @homebridge/dbus-native (loaded only when the systemd cgroup
 * driver is used: src/lazy.ts). The system bus (DBUS_SYSTEM_BUS_ADDRESS, else
 * /run/dbus/system_bus_socket), and for root systemd's private socket /run/systemd/private when
 * there is no bus daemon, as runc (go-systemd) falls back; rootless, the user's own bus. Calls are promises with a deadline;
 * signals are seen raw, so a signal that comes before the reply of the call that caused it is
 * not lost.
 */
import { currentCall } from '../call.js';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { TsrunError } from '../errors.js';
import { authenticateExternal, AuthenticatedStream, uidsToClaim, unixSocketOf } from './dbus-auth.js';
import { loadDbus } from '../lazy.js';

export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';
const CONNECT_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 30_000;

export interface DbusMessage {
  type: number;
  path?: string;
  interface?: string;
  member?: string;
  signature?: string;
  body?: unknown[];
}

export interface DbusCall {
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  destination?: string;
}

/** The error a D-Bus peer replied with (name e.g. "org.freedesktop.systemd1.NoSuchUnit"). */
export class DbusError extends Error {
  constructor(readonly dbusName: string, message: string) {
    super(`${dbusName}: ${message}`);
  }
}

const SIGNAL = 4;

interface NativeBus {
  connection: { on(ev: string, f: (x: never) => void): void; once(ev: string, f: (x: never) => void): void; end(): void; stream?: { destroy(): void } };
  invoke(msg: DbusCall, cb: (err: { name?: string; message?: string } | null, ...body: unknown[]) => void): void;
  /** the unique name Hello gave this connection */
  name?: string | null;
}

export class DbusConnection {
  private readonly signalHandlers = new Set<(m: DbusMessage) => void>();
  private closed = false;

  private constructor(private readonly bus: NativeBus, readonly address: string, readonly direct: boolean) {
    bus.connection.on('message', (m: DbusMessage) => {
      if (m.type === SIGNAL) for (const h of this.signalHandlers) h(m);
    });
    // after connect, a dropped connection fails the calls in flight through their deadline
    bus.connection.on('error', () => {});
  }

  /** The system bus, else (root only) systemd's private socket; the error names both when neither answers. */
  static async connectSystem(env: NodeJS.ProcessEnv = currentCall().env): Promise<DbusConnection> {
    const fromEnv = env.DBUS_SYSTEM_BUS_ADDRESS;
    const busAddress = fromEnv || `unix:path=${SYSTEM_BUS_SOCKET}`;
    const tried: string[] = [];
    try {
      return await DbusConnection.open({ busAddress }, busAddress, false);
    } catch (err) {
      tried.push(`${busAddress}: ${(err as Error).message}`);
    }
    if (process.geteuid?.() === 0) {
      try {
        return await DbusConnection.open({ socket: SYSTEMD_PRIVATE_SOCKET, direct: true }, `unix:path=${SYSTEMD_PRIVATE_SOCKET}`, true);
      } catch (err) {
        tried.push(`${SYSTEMD_PRIVATE_SOCKET}: ${(err as Error).message}`);
      }
    }
    throw new TsrunError(`systemd cgroup driver: cannot reach systemd over D-Bus (${tried.join('; ')})`, { kind: 'kernel' });
  }

  /**
   * The caller's own bus, where its systemd user manager is (runc's rootless systemd driver):
   * $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when it exists. Authenticated by tsrun
   * itself (dbus-auth.ts), so that a caller inside a user namespace is the user the bus knows.
   */
  static async connectUser(env: NodeJS.ProcessEnv = currentCall().env): Promise<DbusConnection> {
    const userBus = env.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/bus` : undefined;
    const address = env.DBUS_SESSION_BUS_ADDRESS || (userBus && existsSync(userBus) ? `unix:path=${userBus}` : undefined);
    if (!address) {
      throw new TsrunError(
        `systemd cgroup driver (rootless): no user bus: DBUS_SESSION_BUS_ADDRESS is not set and ${userBus ? `"${userBus}" does not exist` : 'neither is XDG_RUNTIME_DIR'}; ` +
          'the user\'s systemd instance must run (loginctl enable-linger, or a login) with its D-Bus (dbus-user-session)',
        { kind: 'kernel' },
      );
    }
    const socketPath = unixSocketOf(address);
    if (!socketPath) throw new TsrunError(`systemd cgroup driver (rootless): DBUS_SESSION_BUS_ADDRESS ${JSON.stringify(address)} names no unix socket`, { kind: 'usage' });
    try {
      const stream = await new Promise<AuthenticatedStream>((resolve, reject) => {
        const socket = net.createConnection(socketPath);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error('no answer'));
        }, CONNECT_TIMEOUT_MS);
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        socket.once('connect', () => {
          authenticateExternal(socket, uidsToClaim()).then(
            (guid) => {
              clearTimeout(timer);
              resolve(new AuthenticatedStream(socket, guid));
            },
            (err: Error) => {
              clearTimeout(timer);
              socket.destroy();
              reject(err);
            },
          );
        });
      });
      return await DbusConnection.open({ stream }, address, false);
    } catch (err) {
      throw new TsrunError(`systemd cgroup driver (rootless): cannot reach the user's systemd over D-Bus (${address}: ${(err as Error).message})`, { kind: 'kernel', cause: err });
    }
  }

  /** The uid the bus daemon sees for this connection (runc's DetectUID: OwnerUID of the bus). */
  async peerUid(): Promise<number> {
    const dbus = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
    // the reply to Hello, which names this connection, comes before that of any later call
    if (!this.bus.name) await this.call({ ...dbus, member: 'GetId' });
    const [uid] = await this.call({ ...dbus, member: 'GetConnectionUnixUser', signature: 's', body: [this.bus.name] });
    return Number(uid);
  }

  private static open(opts: Record<string, unknown>, address: string, direct: boolean): Promise<DbusConnection> {
    const dbus = loadDbus();
    return new Promise((resolve, reject) => {
      let bus: NativeBus;
      try {
        bus = dbus.createClient(opts) as NativeBus;
      } catch (err) {
        reject(err);
        return;
      }
      const timer = setTimeout(() => fail(new Error('no answer')), CONNECT_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        try {
          bus.connection.end();
          bus.connection.stream?.destroy();
        } catch {
          // already gone
        }
        reject(err);
      };
      bus.connection.once('error', (err: Error) => fail(err));
      bus.connection.once('connect', () => {
        clearTimeout(timer);
        resolve(new DbusConnection(bus, address, direct));
      });
    });
  }

  call(msg: DbusCall, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new Error('D-Bus connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${msg.interface}.${msg.member} within ${timeoutMs} ms`)), timeoutMs);
      this.bus.invoke(msg, (err, ...body) => {
        clearTimeout(timer);
        if (err) reject(new DbusError(err.name ?? 'org.freedesktop.DBus.Error.Failed', err.message ?? ''));
        else resolve(body);
      });
    });
  }

  /** Asks the bus daemon to route matching signals here (a direct connection gets them unasked). */
  async addMatch(rule: string): Promise<void> {
    if (this.direct) return;
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
  }

  onSignal(handler: (m: DbusMessage) => void): () => void {
    this.signalHandlers.add(handler);
    return () => this.signalHandlers.delete(handler);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.bus.connection.end();
      this.bus.connection.stream?.destroy();
    } catch {
      // already gone
    }
  }
}
