import { InvalidArgumentError } from '@nutshell/core';
import { codePoints, pySplit } from './python-strings.js';

/** sacreBLEU's tokenizers that need no external resources. */
export type BleuTokenizerName = '13a' | 'none' | 'intl' | 'char';

export const BLEU_TOKENIZERS: readonly BleuTokenizerName[] = ['13a', 'none', 'intl', 'char'];

// mteval-v13a's language-dependent rules, in sacreBLEU's order (TokenizerRegexp).
const RE_13A: [RegExp, string][] = [
  // Punctuation and symbols of ASCII: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  // period and comma unless preceded by a digit
  [/([^0-9])([.,])/g, '$1 $2 '],
  // period and comma unless followed by a digit
  [/([.,])([^0-9])/g, ' $1 $2'],
  // dash when preceded by a digit
  [/([0-9])(-)/g, '$1 $2 '],
];

/** sacreBLEU `13a` (mteval-v13a.pl): unescapes a few entities and splits ASCII punctuation. */
export function tokenize13a(line: string): string {
  let s = line
    .replaceAll('<skipped>', '')
    .replaceAll('-\n', '')
    .replaceAll('\n', ' ')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');
  s = ` ${s} `;
  for (const [re, repl] of RE_13A) s = s.replace(re, repl);
  return pySplit(s).join(' ');
}

// mteval-v14 "international": Unicode punctuation next to a non-digit, and all symbols.
const RE_INTL: [RegExp, string][] = [
  [/(\P{N})(\p{P})/gu, '$1 $2 '],
  [/(\p{P})(\P{N})/gu, ' $1 $2'],
  [/(\p{S})/gu, ' $1 '],
];

/** sacreBLEU `intl` (mteval-v14 international tokenization). */
export function tokenizeIntl(line: string): string {
  let s = line;
  for (const [re, repl] of RE_INTL) s = s.replace(re, repl);
  return pySplit(s).join(' ');
}

/** sacreBLEU `char`: every code point is a token (whitespace disappears when split). */
export function tokenizeChar(line: string): string {
  return codePoints(line).join(' ');
}

export function bleuTokenizer(name: BleuTokenizerName): (line: string) => string {
  switch (name) {
    case '13a':
      return tokenize13a;
    case 'intl':
      return tokenizeIntl;
    case 'char':
      return tokenizeChar;
    case 'none':
      return (line) => line;
    default:
      throw new InvalidArgumentError(`bleu: tokenize must be one of ${BLEU_TOKENIZERS.join(', ')}, got ${JSON.stringify(name)}`);
  }
}
