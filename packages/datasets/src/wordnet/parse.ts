import { FormatError } from '@nutshell/core';
import { LEXNAMES } from './lexnames.js';

export type WordNetPos = 'noun' | 'verb' | 'adj' | 'adv';

/** One synset (a set of synonyms with one meaning) from a WordNet `data.*` file. */
export interface WordNetSynset {
  /** Stable id: part-of-speech letter + 8-digit byte offset, e.g. "n02086723". */
  id: string;
  pos: WordNetPos;
  /** Adjective satellite (ss_type "s"), e.g. "abounding" clustered around "abundant". */
  satellite: boolean;
  /** Lemmas, most frequent sense first; underscores turned into spaces, adjective markers removed. */
  words: string[];
  /** Lexicographer file, e.g. "noun.animal", "noun.food", "verb.motion". */
  domain: string;
  /** The definition part of the gloss. */
  gloss: string;
  /** Example sentences from the gloss (the quoted parts), without quotes. */
  examples: string[];
}

const POS_OF_TYPE: Record<string, WordNetPos> = { n: 'noun', v: 'verb', a: 'adj', s: 'adj', r: 'adv' };

/**
 * Splits a gloss into its definition and its quoted example sentences. WordNet separates parts with
 * "; " and quotes examples; a few glosses are malformed (a missing opening quote, or an example
 * introduced by ": \"" inside the definition), which are repaired here.
 */
export function splitGloss(text: string): { gloss: string; examples: string[] } {
  const definition: string[] = [];
  const examples: string[] = [];
  const quoteCount = (t: string) => t.split('"').length - 1;
  text.trim().split(/;\s+/).forEach((raw, k) => {
    const part = raw.trim();
    if (!part) return;
    if (part.startsWith('"')) {
      const end = part.lastIndexOf('"');
      examples.push((end > 0 ? part.slice(1, end) : part.slice(1)).trim());
      return;
    }
    if (k > 0 && part.endsWith('"') && quoteCount(part) === 1) {
      examples.push(part.slice(0, -1).trim()); // opening quote missing in the source
      return;
    }
    const inline = /^(.*?)[:,]?\s+"([^"]+)"?$/.exec(part);
    if (inline && quoteCount(part) <= 2 && inline[1]!.trim()) {
      definition.push(inline[1]!.trim());
      examples.push(inline[2]!.trim());
      return;
    }
    definition.push(part);
  });
  return { gloss: definition.join('; '), examples };
}

/**
 * Parses one line of a WordNet data file (format wndb(5WN)):
 * `offset lex_filenum ss_type w_cnt (word lex_id)… p_cnt (ptr)… [frames] | gloss`.
 * Returns undefined for the license header lines (they start with spaces).
 */
export function parseDataLine(line: string, file = 'data'): WordNetSynset | undefined {
  if (line.length === 0 || line.charCodeAt(0) === 0x20) return undefined;
  const bar = line.indexOf(' | ');
  const head = (bar < 0 ? line : line.slice(0, bar)).split(' ');
  const fail = (why: string) => new FormatError('wordnet data', `${file}: ${why} in line ${JSON.stringify(line.slice(0, 60))}`);
  const offset = head[0]!;
  if (!/^\d{8}$/.test(offset)) throw fail('bad synset offset');
  const lexNum = Number.parseInt(head[1]!, 10);
  const domain = LEXNAMES[lexNum];
  if (domain === undefined) throw fail(`unknown lexicographer file number ${head[1]}`);
  const type = head[2]!;
  const pos = POS_OF_TYPE[type];
  if (!pos) throw fail(`unknown synset type ${JSON.stringify(type)}`);
  const wordCount = Number.parseInt(head[3]!, 16);
  if (!(wordCount > 0) || head.length < 4 + 2 * wordCount) throw fail('bad word count');
  const words: string[] = [];
  for (let k = 0; k < wordCount; k++) {
    words.push(head[4 + 2 * k]!.replace(/\((?:a|p|ip)\)$/, '').replace(/_/g, ' '));
  }
  const { gloss, examples } = bar < 0 ? { gloss: '', examples: [] } : splitGloss(line.slice(bar + 3));
  return { id: `${type === 's' ? 'a' : type}${offset}`, pos, satellite: type === 's', words, domain, gloss, examples };
}
