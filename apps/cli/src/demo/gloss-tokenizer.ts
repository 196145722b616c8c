import { CharTokenizer, trainByteLevelBPE, type ByteLevelBPETokenizer } from '@nutshell/transformer';

/** The demo's tokenizer: a byte-level BPE trained on the glosses, or one id per character. */
export type GlossTokenizer = ByteLevelBPETokenizer | CharTokenizer;

/** 'char' or the BPE vocabulary size (256 byte ids + merges). */
export type GlossTokenizerSpec = 'char' | { bpeVocab: number };

/** Training text the BPE counts pairs on: the head of the corpus is enough and keeps it to ~1 s. */
const BPE_TRAIN_CHARS = 1_000_000;

/**
 * Builds the tokenizer for the gloss corpus. The BPE is GPT-2's byte-level scheme (every string
 * stays encodable, so held-out words and the bias probe's templates need no extra alphabet) trained
 * on the training lines only; the character tokenizer covers `coverText` (everything it must encode).
 */
export function buildGlossTokenizer(spec: GlossTokenizerSpec, trainText: string, coverText: string): GlossTokenizer {
  if (spec === 'char') return CharTokenizer.fromText(coverText);
  const text = trainText.length > BPE_TRAIN_CHARS ? trainText.slice(0, trainText.lastIndexOf('\n', BPE_TRAIN_CHARS) + 1) : trainText;
  return trainByteLevelBPE(text, { vocabSize: spec.bpeVocab, minFrequency: 2 });
}

/** "2000-token BPE" / "97 characters", for messages. */
export function describeTokenizer(t: GlossTokenizer): string {
  return t instanceof CharTokenizer ? `${t.vocabSize} characters` : `byte-level BPE, ${t.vocabSize} tokens (${t.merges.length} merges)`;
}
