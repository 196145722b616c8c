export interface BasicTokenizerOptions {
  /** Lower-case the text. Default true (bert-base-uncased). */
  lowerCase?: boolean;
  /** Remove accents (NFD, then drop combining marks). Default: same as lowerCase, as in BERT. */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs so each is its own word. Default true. */
  tokenizeChineseChars?: boolean;
  /** Words never lower-cased or split (e.g. "[CLS]"). */
  neverSplit?: readonly string[];
}

const CONTROL = /\p{C}/u;
const SPACE_SEPARATOR = /\p{Zs}/u;
const MARK_NONSPACING = /\p{Mn}/gu;
const PUNCT = /\p{P}/u;

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEPARATOR.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return CONTROL.test(ch);
}

/** BERT counts all non-letter/number ASCII symbols ('$', '^', '`', …) as punctuation, plus Unicode P*. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return PUNCT.test(ch);
}

/** The CJK Unified Ideographs blocks BERT treats as single-character words (not Hangul or kana). */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function splitOnPunctuation(word: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of word) {
    if (isPunctuation(ch)) {
      if (current) out.push(current);
      out.push(ch);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

/**
 * BERT's BasicTokenizer: drop control characters and U+FFFD, map whitespace to spaces, isolate CJK
 * ideographs, NFC-normalize, split on whitespace, optionally lower-case and strip accents, then
 * split off every punctuation character.
 */
export function bertBasicTokenize(text: string, options: BasicTokenizerOptions = {}): string[] {
  const lowerCase = options.lowerCase ?? true;
  const stripAccents = options.stripAccents ?? lowerCase;
  const chinese = options.tokenizeChineseChars ?? true;
  const neverSplit = new Set(options.neverSplit ?? []);
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) cleaned += ' ';
    else if (chinese && isCjkIdeograph(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const words = cleaned.normalize('NFC').split(/\s+/u).filter(Boolean);
  const out: string[] = [];
  for (let word of words) {
    if (neverSplit.has(word)) {
      out.push(word);
      continue;
    }
    if (lowerCase) word = word.toLowerCase();
    if (stripAccents) word = word.normalize('NFD').replace(MARK_NONSPACING, '');
    if (word) out.push(...splitOnPunctuation(word));
  }
  return out;
}
