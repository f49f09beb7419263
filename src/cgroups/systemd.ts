/**
 * The systemd cgroup driver's D-Bus side (`--systemd-cgroup`): a transient unit per container,
 * started with the init's pid, its resources as unit properties, changed with SetUnitProperties
 * and stopped on delete, as runc does (libcontainer/cgroups/systemd). Each job is waited for
 * (JobRemoved with result "done", 30 s as runc); a unit that failed is reset so its name is free.
 * The cgroup files systemd has no property for are written by the cgroupfs drivers afterwards.
 */
import { existsSync } from 'node:fs';
import { TsrunError } from '../errors.js';
import { DbusConnection, DbusError, type DbusMessage } from './dbus.js';
import type { UnitProperty } from './systemd-props.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const JOB_TIMEOUT_MS = 30_000;
/** sd_booted(3): what says systemd is PID 1 */
export const SYSTEMD_RUNTIME_DIR = '/run/systemd/system';

export class SystemdUnits {
  private readonly removedJobs = new Map<string, string>();
  private readonly jobWaiters = new Map<string, (result: string) => void>();

  private constructor(private readonly conn: DbusConnection) {
    conn.onSignal((m: DbusMessage) => {
      if (m.interface !== MANAGER || m.member !== 'JobRemoved' || !m.body) return;
      // JobRemoved(u id, o job, s unit, s result)
      const job = String(m.body[1]);
      const result = String(m.body[3]);
      const waiter = this.jobWaiters.get(job);
      if (waiter) waiter(result);
      else this.removedJobs.set(job, result);
    });
  }

  /**
   * Connects and subscribes to job signals; a clear error when systemd is not running or not
   * reachable. `user`: the caller's own systemd instance, over its user bus (rootless).
   */
  static async connect(user = false): Promise<SystemdUnits> {
    if (!existsSync(SYSTEMD_RUNTIME_DIR)) {
      throw new TsrunError(`systemd cgroup driver: systemd is not running as init (no ${SYSTEMD_RUNTIME_DIR}); run without --systemd-cgroup`, { kind: 'kernel' });
    }
    return SystemdUnits.subscribe(user ? await DbusConnection.connectUser() : await DbusConnection.connectSystem());
  }

  private static async subscribe(conn: DbusConnection): Promise<SystemdUnits> {
    try {
      await conn.addMatch(`type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`);
      await conn.call(manager('Subscribe'));
    } catch (err) {
      conn.close();
      throw new TsrunError(`systemd cgroup driver: subscribe to systemd's job signals: ${(err as Error).message}`, { kind: 'kernel', cause: err });
    }
    return new SystemdUnits(conn);
  }

  close(): void {
    this.conn.close();
  }

  /** The uid the bus sees for tsrun (its uid outside a user namespace tsrun runs in). */
  peerUid(): Promise<number> {
    return this.conn.peerUid();
  }

  /** The manager's own cgroup: "/" for the system's, e.g. "/user.slice/user-1000.slice/user@1000.service" for a user's. */
  async managerControlGroup(): Promise<string> {
    try {
      const [v] = await this.conn.call({
        destination: SYSTEMD, path: MANAGER_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [MANAGER, 'ControlGroup'],
      });
      return String(variantValue(v)) || '/';
    } catch (err) {
      throw new TsrunError(`systemd cgroup driver: read the manager's ControlGroup: ${(err as Error).message}`, { kind: 'kernel', cause: err });
    }
  }

  /** systemd's version number (e.g. 252 of "252.36-1~deb12u1"); 0 if it cannot be read */
  async version(): Promise<number> {
    try {
      const [v] = await this.conn.call({
        destination: SYSTEMD, path: MANAGER_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [MANAGER, 'Version'],
      });
      const text = variantValue(v);
      const m = /^v?(\d+)/.exec(String(text));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /**
   * StartTransientUnit(name, "replace", properties, []) and the wait for its job. A unit of that
   * name left failed by an earlier container is reset and the start tried once more (runc).
   */
  async startUnit(unit: string, properties: UnitProperty[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const [job] = await this.conn.call(manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', properties, []]));
        const result = await this.waitForJob(String(job), `create systemd unit ${unit}`);
        if (result !== 'done') {
          await this.resetFailed(unit);
          throw new TsrunError(`systemd cgroup driver: create unit ${unit}: systemd's job ended "${result}"`, { kind: 'kernel' });
        }
        return;
      } catch (err) {
        if (err instanceof DbusError && err.dbusName === 'org.freedesktop.systemd1.UnitExists' && attempt === 0) {
          await this.resetFailed(unit);
          continue;
        }
        if (err instanceof TsrunError) throw err;
        throw new TsrunError(`systemd cgroup driver: create unit ${unit}: ${(err as Error).message}`, { kind: 'kernel', pointer: '/linux/cgroupsPath', cause: err });
      }
    }
  }

  /** SetUnitProperties(name, runtime=true, properties), as `update` does. */
  async setProperties(unit: string, properties: UnitProperty[]): Promise<void> {
    if (properties.length === 0) return;
    try {
      await this.conn.call(manager('SetUnitProperties', 'sba(sv)', [unit, true, properties]));
    } catch (err) {
      throw new TsrunError(`systemd cgroup driver: set properties of unit ${unit}: ${(err as Error).message}`, { kind: 'kernel', cause: err });
    }
  }

  /** StopUnit(name, "replace") and the wait for it; a unit systemd does not know is already stopped. */
  async stopUnit(unit: string): Promise<void> {
    let job: string;
    try {
      [job] = (await this.conn.call(manager('StopUnit', 'ss', [unit, 'replace']))) as string[];
    } catch (err) {
      if (err instanceof DbusError && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return;
      throw new TsrunError(`systemd cgroup driver: stop unit ${unit}: ${(err as Error).message}`, { kind: 'kernel', cause: err });
    }
    const result = await this.waitForJob(job, `stop systemd unit ${unit}`);
    if (result !== 'done') throw new TsrunError(`systemd cgroup driver: stop unit ${unit}: systemd's job ended "${result}"`, { kind: 'kernel' });
    await this.resetFailed(unit);
  }

  /** The unit's ControlGroup (e.g. "/system.slice/tsrun-x.scope"); undefined when systemd has none for it. */
  async controlGroup(unit: string): Promise<string | undefined> {
    try {
      const [unitPath] = await this.conn.call(manager('GetUnit', 's', [unit]));
      const iface = unit.endsWith('.slice') ? 'org.freedesktop.systemd1.Slice' : 'org.freedesktop.systemd1.Scope';
      const [v] = await this.conn.call({
        destination: SYSTEMD, path: String(unitPath), interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, 'ControlGroup'],
      });
      const cg = String(variantValue(v));
      return cg || undefined;
    } catch {
      return undefined;
    }
  }

  private async resetFailed(unit: string): Promise<void> {
    try {
      await this.conn.call(manager('ResetFailedUnit', 's', [unit]));
    } catch {
      // not failed, or already gone: nothing to reset
    }
  }

  private waitForJob(job: string, what: string): Promise<string> {
    const done = this.removedJobs.get(job);
    if (done !== undefined) {
      this.removedJobs.delete(job);
      return Promise.resolve(done);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobWaiters.delete(job);
        reject(new TsrunError(`systemd cgroup driver: ${what}: no answer from systemd within ${JOB_TIMEOUT_MS / 1000} s`, { kind: 'kernel' }));
      }, JOB_TIMEOUT_MS);
      this.jobWaiters.set(job, (result) => {
        clearTimeout(timer);
        this.jobWaiters.delete(job);
        resolve(result);
      });
    });
  }
}

function manager(member: string, signature?: string, body?: unknown[]) {
  return { destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member, signature, body };
}

/** dbus-native gives a variant as [[signature tree], [value]] */
function variantValue(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 2 && Array.isArray(v[1])) return v[1][0];
  return v;
}
