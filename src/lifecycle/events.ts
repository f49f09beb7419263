/**
 * events: runc's JSON lines on stdout. `{"type":"stats","id":ID,"data":{...}}` with runc's stats
 * (src/cgroups/stats-*.ts), once with --stats, otherwise every interval; `{"type":"oom","id":ID}` for
 * each OOM kill in the container's cgroup, as the kernel reports it. The stream ends when the
 * container stops (runc 1.1 on v1 waits for the cgroup to be removed). A stopped container is an
 * error, as with runc.
 */
import { stateError, usageError } from '../errors.js';
import { log } from '../log.js';
import { isSameLiveProcess } from '../state/proc.js';
import { readRecord, type ContainerRecord } from '../state/store.js';
import { toJson, type CgroupManager, type Stats } from '../cgroups/index.js';
import { recordedCgroup } from './cgroup.js';
import { containerInterfaces } from './net-stats.js';
import { containerStatus } from './status.js';

export interface EventsOptions {
  /** one stats event, then return */
  stats: boolean;
  intervalMs: number;
  /** one JSON line (default: stdout) */
  write?: (line: string) => void;
  /** how often the stream looks whether the container still runs; default 200 ms */
  livenessMs?: number;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "1m30s", "250ms", "1.5h") in milliseconds, as runc's --interval takes it. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  const t = text.trim();
  if (t === '0') return 0;
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (!m) throw usageError(`invalid duration ${JSON.stringify(text)}: like 5s, 500ms or 1m30s`);
    ms += Number(m[1]) * UNITS[m[2]];
    at = re.lastIndex;
  }
  if (t.length === 0) throw usageError('invalid duration ""');
  return ms;
}

function collect(record: ContainerRecord, cgroup: CgroupManager): Stats {
  const stats = cgroup.stats();
  stats.network_interfaces = containerInterfaces(record.pid);
  return stats;
}

export async function containerEvents(root: string, id: string, opts: EventsOptions): Promise<void> {
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  if (!(opts.intervalMs > 0)) throw usageError('duration interval must be greater than 0');
  const record = readRecord(root, id);
  if ((await containerStatus(root, record)) === 'stopped') throw stateError(`container with id ${id} is not running`);
  const cgroup = recordedCgroup(record);
  const emit = (event: { type: string; id: string; data?: Stats }): void => write(`${toJson(event)}\n`);
  if (opts.stats) {
    emit({ type: 'stats', id, data: collect(record, cgroup) });
    return;
  }
  const alive = (): boolean => isSameLiveProcess(record.pid, record.pidStartTime);
  const oom = cgroup.watchOom(() => emit({ type: 'oom', id }));
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearInterval(statsTimer);
      clearInterval(livenessTimer);
      oom.check();
      oom.close();
      resolve();
    };
    const statsTimer = setInterval(() => {
      oom.check();
      try {
        emit({ type: 'stats', id, data: collect(record, cgroup) });
      } catch (err) {
        // as runc: a failed read is logged, and the stream goes on
        log.error(`events: ${(err as Error).message}`);
      }
    }, opts.intervalMs);
    const livenessTimer = setInterval(() => {
      if (!alive()) stop();
    }, Math.min(opts.livenessMs ?? 200, opts.intervalMs));
  });
}
