/**
 * @nutshell/transformer — tokenizers and the GPT decoder (src/models/gpt); encoder and
 * encoder–decoder models will join them in src/models/…, all exported from here.
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
export { generateCommand } from './cli/generate-command.js';
export { scoreCommand } from './cli/score-command.js';
export { trainCommand } from './cli/train-command.js';
export { PACKAGE_VERSION } from './version.js';
export { gptConfig, configFromHf, configToHf, type GptConfig, type GptConfigInput, type GptActivation, type PositionEmbedding } from './models/gpt/config.js';
export { GPT, GptTrunk, type GptForwardOptions } from './models/gpt/model.js';
export { Block, CausalSelfAttention, Mlp, type AttentionStep } from './models/gpt/block.js';
export { Conv1D } from './models/gpt/conv1d.js';
export { applyRope } from './models/gpt/rope.js';
export { KVCache } from './models/gpt/kv-cache.js';
export { loadGpt2, saveGpt2, gpt2FromBytes, gpt2ToBytes } from './models/gpt/hf.js';
export { generate, type GenerateOptions, type GenerateResult, type GeneratedToken } from './models/gpt/generate.js';
export {
  repetitionPenaltyProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  repetitionPenaltyRow,
  temperatureRow,
  topKRow,
  topPRow,
  softmaxRow,
  logSoftmaxRow,
} from './models/gpt/processors.js';
export { trainGpt, NANOGPT_CPU_RECIPE, type TrainGptOptions, type TrainGptResult } from './models/gpt/train.js';
export { lossCurveSvg } from './models/gpt/loss-curve.js';
export { mm, mmT, embed, geluNew } from './models/gpt/ops.js';
