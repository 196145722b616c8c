import type { ParityTable } from './run.js';

const num = (x: number) => (Number.isNaN(x) ? '-' : x === 0 ? '0' : x.toExponential(1));

/** A plain-text table of a parity run, one line per backend × op × check. */
export function formatParityTable(table: ParityTable): string {
  const header = ['backend', 'op', 'check', 'result', 'max |err|', 'max rel', 'atol', 'rtol', 'detail'];
  const lines = table.rows.map((r) => [
    r.backend, r.op, r.check, r.ok ? 'ok' : 'FAIL', num(r.maxAbsError), num(r.maxRelError), num(r.atol), num(r.rtol), r.detail ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)];
  for (const u of table.unavailable) out.push(`${u.backend}: unavailable — ${u.reason}`);
  const failed = table.rows.filter((r) => !r.ok).length;
  out.push(`${table.rows.length - failed}/${table.rows.length} checks within tolerance against ${table.reference}`);
  return out.join('\n');
}
