/**
 * Python's `str.split()` / `str.isspace()` notion of whitespace, so that tokenization matches the
 * Python reference tools (sacreBLEU, rouge-score) character for character. JavaScript's `\s` differs:
 * it lacks U+001C–U+001F and U+0085 and includes U+FEFF.
 */
const PY_WS_CLASS = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS_CLASS}]+`, 'g');

/** `s.split()` in Python: split on runs of whitespace, dropping empty strings. */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(PY_WS_RUN)) if (part.length > 0) out.push(part);
  return out;
}

/** `s.rstrip()` in Python. */
export function pyRstrip(s: string): string {
  return s.replace(new RegExp(`[${PY_WS_CLASS}]+$`), '');
}

/** `''.join(s.split())`: drops every whitespace character. */
export function removeWhitespace(s: string): string {
  return s.replace(PY_WS_RUN, '');
}

/** Code points of a string (Python indexes strings by code point, JavaScript by UTF-16 unit). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}
