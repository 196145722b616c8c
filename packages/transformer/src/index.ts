/**
 * @nutshell/transformer — tokenizers now; the GPT decoder, encoder and encoder–decoder models
 * will join them in this package (src/models/…), all exported from here.
 */
export type { DecodeOptions, EncodeOptions, TokenInfo, Tokenizer } from './tokenizers/types.js';
export type { AllowedSpecial } from './tokenizers/special-tokens.js';
export { BYTE_TO_UNICODE, UNICODE_TO_BYTE, GPT2_BYTE_ORDER, bytesToUnicode, unicodeToBytes } from './tokenizers/byte-unicode.js';
export { GPT2_PATTERN, GPT2_REGEX, compilePattern, pretokenize } from './tokenizers/pretokenize.js';
export { assertWellFormed, findLoneSurrogate } from './tokenizers/unicode.js';
export { ByteLevelBPETokenizer, type ByteLevelBPEOptions } from './tokenizers/bpe.js';
export { trainByteLevelBPE, type TrainBPEOptions } from './tokenizers/bpe-trainer.js';
export {
  bpeFromTokenizerJson,
  bpeFromVocabMerges,
  formatMergesTxt,
  formatTokenizerJson,
  formatVocabJson,
  parseMergesTxt,
  parseVocabJson,
} from './tokenizers/bpe-files.js';
export { bpeFromRanks, parseTiktokenRanks, vocabMergesFromRanks } from './tokenizers/ranks.js';
export { CharTokenizer, type CharTokenizerOptions } from './tokenizers/char.js';
export { bertBasicTokenize, isCjkIdeograph, type BasicTokenizerOptions } from './tokenizers/bert-basic.js';
export { WordPieceTokenizer, type EncodedPair, type WordPieceOptions } from './tokenizers/wordpiece.js';
export { loadBPEFiles, loadTokenizer, loadTokenizerJson, loadWordPieceVocab, saveTokenizer } from './tokenizers/files.js';
export { TOKENIZER_FACTORIES, type TokenizerFactory } from './tokenizers/registry.js';
export { tokenizeCommand } from './command.js';
export { PACKAGE_VERSION } from './version.js';
