/**
 * GPT-2's pre-tokenization pattern, exactly as in OpenAI's encoder.py (and tiktoken's r50k_base):
 * contractions, optional-space + letters, optional-space + numbers, optional-space + other symbols,
 * whitespace not followed by a non-space (so the last space sticks to the next word), whitespace.
 */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/**
 * Compiles a Python-`regex`-style pattern for JavaScript. `\s` and `\S` become `\p{White_Space}`
 * and `\P{White_Space}`: that is what `\s` means in Python's `regex` module (used by GPT-2) and in
 * Rust's regex (tiktoken), whereas JavaScript's `\s` also matches U+FEFF and misses U+0085.
 */
export function compilePattern(pattern: string): RegExp {
  const translated = pattern.replace(/\\\\|\\s|\\S/g, (m) => (m === '\\s' ? '\\p{White_Space}' : m === '\\S' ? '\\P{White_Space}' : m));
  return new RegExp(translated, 'gu');
}

/**
 * Splits text into pre-tokens with a compiled global pattern. GPT-2's pattern matches every
 * character; for custom patterns, text between matches becomes a piece of its own so that no input
 * is ever dropped (decode∘encode stays the identity).
 */
export function pretokenize(text: string, regex: RegExp = GPT2_REGEX): string[] {
  const out: string[] = [];
  let end = 0;
  for (const m of text.matchAll(regex)) {
    if (m.index > end) out.push(text.slice(end, m.index));
    if (m[0].length > 0) out.push(m[0]);
    end = m.index + m[0].length;
  }
  if (end < text.length) out.push(text.slice(end));
  return out;
}

/** GPT2_PATTERN, compiled. */
export const GPT2_REGEX: RegExp = compilePattern(GPT2_PATTERN);
