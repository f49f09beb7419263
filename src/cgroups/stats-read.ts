/**
 * Reading cgroup files for stats, as runc's fscommon does: one number ("max" is u64's maximum), flat
 * "key value" files, cpu lists, *.pressure files. Stats are best effort: a file the host lacks reads
 * as undefined (ENOENT, or ENOTSUP/EOPNOTSUPP for pressure files), anything else throws.
 */
import * as path from 'node:path';
import { errCode } from './common.js';
import type { CgroupFs } from './fs.js';
import type { PsiData, PsiStats } from './stats-types.js';

export const U64_MAX = 2n ** 64n - 1n;

export class StatsReader {
  constructor(private readonly fs: CgroupFs) {}

  /** The file's text, or undefined when the host has no such file. */
  text(dir: string, name: string): string | undefined {
    try {
      return this.fs.readFile(path.posix.join(dir, name));
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENODEV') return undefined;
      throw err;
    }
  }

  /** One u64: "max" is the maximum, a negative number 0 (runc's ParseUint). */
  uint(dir: string, name: string): bigint | undefined {
    const t = this.text(dir, name);
    return t === undefined ? undefined : parseUint(t.trim());
  }

  /** "key value" lines */
  keyValues(dir: string, name: string): Map<string, bigint> | undefined {
    const t = this.text(dir, name);
    if (t === undefined) return undefined;
    const out = new Map<string, bigint>();
    for (const line of t.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined && /^-?\d+$|^max$/.test(v)) out.set(k, parseUint(v));
    }
    return out;
  }

  /** "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and the "full" line */
  psi(dir: string, name: string): PsiStats | undefined {
    const t = this.text(dir, name);
    if (t === undefined) return undefined;
    const out: PsiStats = {};
    for (const line of t.split('\n')) {
      const [kind, ...fields] = line.trim().split(/\s+/);
      if (kind !== 'some' && kind !== 'full') continue;
      const data: PsiData = { avg10: 0, avg60: 0, avg300: 0, total: 0n };
      for (const f of fields) {
        const [k, v] = f.split('=');
        if (k === 'total') data.total = parseUint(v);
        else if (k === 'avg10' || k === 'avg60' || k === 'avg300') data[k] = Number(v);
      }
      out[kind] = data;
    }
    return out;
  }
}

export function parseUint(text: string): bigint {
  if (text === 'max') return U64_MAX;
  if (/^-\d+$/.test(text)) return 0n;
  if (!/^\d+$/.test(text)) throw new Error(`not a number: ${JSON.stringify(text)}`);
  const v = BigInt(text);
  return v > U64_MAX ? U64_MAX : v;
}

/** "0-2,4" → [0, 1, 2, 4] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Page sizes the kernel has, as hugetlb file names spell them ("2MB", "1GB"). */
export function hugePageSizes(fs: CgroupFs, sysRoot = '/sys/kernel/mm/hugepages'): string[] {
  let entries;
  try {
    entries = fs.readdir(sysRoot);
  } catch {
    return [];
  }
  const sizes: string[] = [];
  for (const e of entries) {
    const m = /^hugepages-(\d+)kB$/.exec(e.name);
    if (!m) continue;
    const kb = Number(m[1]);
    sizes.push(kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`);
  }
  return sizes.sort();
}
