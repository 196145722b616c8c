import { FormatError } from '@nutshell/core';

/** Parses RFC 4180 CSV (quoted fields, "" escapes, CRLF or LF) into header → column values. */
export function parseCsv(text: string): { header: string[]; columns: Record<string, string[]> } {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false, i = 0;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < s.length) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += ch; i++; continue;
    }
    if (ch === '"' && field === '') { quoted = true; i++; continue; }
    if (ch === ',') { row.push(field); field = ''; i++; continue; }
    if (ch === '\n' || ch === '\r') {
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      i += ch === '\r' && s[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += ch; i++;
  }
  if (quoted) throw new FormatError('csv', 'unterminated quoted field');
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  if (rows.length === 0) throw new FormatError('csv', 'no header row');
  const header = rows[0]!.map((h) => h.trim());
  const columns: Record<string, string[]> = Object.fromEntries(header.map((h) => [h, [] as string[]]));
  for (let r = 1; r < rows.length; r++) {
    if (rows[r]!.length !== header.length) throw new FormatError('csv', `line ${r + 1} has ${rows[r]!.length} fields, the header has ${header.length}`);
    header.forEach((h, k) => columns[h]!.push(rows[r]![k]!));
  }
  return { header, columns };
}

/** Numbers stay numbers ("1" → 1), everything else stays text. */
export function autoValue(v: string): string | number {
  const t = v.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}
