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
export { trainWordPiece, type TrainWordPieceOptions } from './tokenizers/wordpiece-trainer.js';
export { bertConfig, bertConfigFromHf, bertConfigToHf, type BertConfig, type BertConfigInput, type BertActivation } from './models/bert/config.js';
export { BertModel, BertPooler, type BertModelOutput, type BertModelOptions } from './models/bert/model.js';
export { BertEmbeddings } from './models/bert/embeddings.js';
export { BertAttention, BertSelfAttention, BertSelfOutput } from './models/bert/attention.js';
export { BertEncoder, BertIntermediate, BertLayer, BertOutput } from './models/bert/encoder.js';
export { BertForMaskedLM, BertLMPredictionHead, BertOnlyMLMHead, BertPredictionHeadTransform } from './models/bert/mlm.js';
export { BertForSequenceClassification } from './models/bert/classification.js';
export { padBertBatch, type BertInputs } from './models/bert/inputs.js';
export { bertFromBytes, bertToBytes, bertKindOf, loadBert, saveBert, type BertKind, type AnyBert } from './models/bert/hf.js';
export { maskTokens, type MaskTokensOptions, type MaskedBatch } from './models/bert/masking.js';
export {
  trainBertMlm,
  fineTuneBertClassifier,
  predictBertClassifier,
  evaluateMlm,
  type TrainBertMlmOptions,
  type TrainBertMlmResult,
  type FineTuneBertClassifierOptions,
  type FineTuneBertClassifierResult,
  type BertTrainLoopOptions,
} from './models/bert/train.js';
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
export { t5Config, t5ConfigFromHf, t5ConfigToHf, parseFeedForwardProj, type T5Config, type T5ConfigInput, type T5Activation } from './models/seq2seq/config.js';
export { relativePositionBucket, relativePositionBuckets, positionBias } from './models/seq2seq/relative-position.js';
export { T5LayerNorm } from './models/seq2seq/layer-norm.js';
export { T5Dense } from './models/seq2seq/dense.js';
export { T5Attention, type T5AttentionStep, type T5AttentionInputs } from './models/seq2seq/attention.js';
export { T5DenseActDense, t5Activation } from './models/seq2seq/feed-forward.js';
export { T5Block, T5LayerSelfAttention, T5LayerCrossAttention, T5LayerFF } from './models/seq2seq/block.js';
export { T5Stack } from './models/seq2seq/stack.js';
export { Seq2seqCache } from './models/seq2seq/cache.js';
export { T5, IGNORE_INDEX, type IdsInput, type T5DecodeOptions } from './models/seq2seq/model.js';
export { loadT5, saveT5, t5FromBytes, t5ToBytes } from './models/seq2seq/hf.js';
export { generateSeq2seq, generateSeq2seqBatch, padBatch, type Seq2seqGenerateOptions, type Seq2seqGenerateResult } from './models/seq2seq/generate.js';
export { Seq2seqVocab, type Seq2seqVocabJson } from './models/seq2seq/vocab.js';
export { randomSpansNoiseMask, spanCorruption, roundHalfEven, type NoiseMaskOptions, type SpanCorruptionOptions, type SpanCorruptionExample } from './models/seq2seq/span-corruption.js';
export { TOY_TASKS, toyTaskPair, toyTaskData, type ToyTask, type ToyTaskOptions, type TextPair } from './models/seq2seq/tasks.js';
export { trainSeq2seq, exactMatch, encodePairs, collateSeq2seq, type IdPair, type Seq2seqBatch, type TrainSeq2seqOptions, type TrainSeq2seqResult, type ExactMatchResult } from './models/seq2seq/train.js';
export { SlimmableGPT, SlimmableAttention, SlimmableMlp, SLIMMABLE_WIDTHS, widthCount } from './models/variants/slimmable.js';
export { sandwichStep, sandwichWidths, trainSlimmable, stopGradient, type SandwichOptions, type SandwichStepResult, type TrainSlimmableOptions } from './models/variants/slimmable-train.js';
export { AdaptiveSpanGPT, AdaptiveSpanAttention, AdaptiveMask, SpanKVCache, spanMask, type AdaptiveSpanOptions } from './models/variants/adaptive-span.js';
