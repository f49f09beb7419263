/** list output: runc's aligned table (minimum width 12, padding 3), -q ids, or a JSON array (null when
 *  empty, as runc's); both name the owner ("root" for the state dirs root made). */
import type { StateReport } from './status.js';

export function formatList(reports: StateReport[], format: 'table' | 'json', quiet: boolean): string {
  if (quiet) return reports.map((r) => `${r.id}\n`).join('');
  if (format === 'json') return JSON.stringify(reports.length ? reports.map((r) => ({ ...r, owner: r.owner || 'root' })) : null) + '\n';
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const r of reports) rows.push([r.id, String(r.pid), r.status, r.bundle, r.created, r.owner || 'root']);
  const widths = rows[0].map((_, col) => Math.max(12, ...rows.map((row) => row[col].length + 3)));
  return rows.map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]))).join('') + '\n').join('');
}
