import type { CommandInput, TextTokenizer } from '@nutshell/core';
import { InvalidArgumentError, describe } from '@nutshell/core';
import { verbatimOverlap } from '../membership/verbatim.js';
import { readTextList } from './text-list.js';

/** `audit verbatim --corpus FILE --texts FILE`: verbatim spans of generated texts in a training corpus. */
export async function verbatimCommand(input: CommandInput, tokenizer: (name: string) => Promise<TextTokenizer>): Promise<unknown> {
  const { options: o, print } = input;
  const minLength = o['min-length'] ?? 50;
  if (typeof minLength !== 'number' || !Number.isInteger(minLength) || minLength < 1) throw new InvalidArgumentError(`option --min-length: expected a positive integer, got ${describe(minLength)}`);
  const corpus = readTextList(o.corpus, '--corpus', 'text');
  const texts = readTextList(o.texts, '--texts', 'text');
  const tok = typeof o.tokenizer === 'string' ? await tokenizer(o.tokenizer) : undefined;
  const r = verbatimOverlap(texts, corpus, { minLength, tokenizer: tok });
  print(`${r.extractedCount} of ${r.texts.length} texts contain a verbatim span of ≥ ${minLength} ${r.unit === 'char' ? 'characters' : 'tokens'} from the corpus (${r.corpusSize} ${r.unit}s); longest match ${r.longestMatch}`);
  for (const t of r.texts.filter((x) => x.extracted).slice(0, 20)) {
    const s = t.spans[0]!;
    print(`  text ${t.index}: ${t.spans.length} span(s), longest ${t.longest?.length}, e.g. ${JSON.stringify(s.text?.slice(0, 80) ?? '')}`);
  }
  return r;
}
