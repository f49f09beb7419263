/**
 * Network interface counters of a container for `events`, read from /proc/<init>/net/dev (the
 * container's network namespace). runc only reports interfaces libcontainer itself set up, which a
 * runtime driven by config.json never has; tsrun reports what the container's namespace holds,
 * loopback left out, and nothing (null, as runc) when it shares the host's namespace.
 */
import { readFileSync, statSync } from 'node:fs';
import type { NetworkInterface } from '../cgroups/index.js';

export function parseNetDev(text: string): NetworkInterface[] {
  const out: NetworkInterface[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const n = line.slice(colon + 1).trim().split(/\s+/).map((v) => BigInt(v));
    if (n.length < 16 || name === 'lo') continue;
    out.push({
      Name: name,
      RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
      TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
    });
  }
  return out;
}

export function containerInterfaces(pid: number): NetworkInterface[] | null {
  try {
    if (statSync(`/proc/${pid}/ns/net`).ino === statSync('/proc/self/ns/net').ino) return null;
    const list = parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
    return list.length > 0 ? list : null;
  } catch {
    return null; // the init is gone, or not ours to look at
  }
}
