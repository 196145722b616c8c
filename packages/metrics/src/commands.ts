import { InvalidArgumentError, type CommandInput, type CommandSpec } from '@nutshell/core';
import { EXTRA_OPTIONS, EXTRA_SUBCOMMANDS, runExtra } from './commands-extra.js';
import { fid } from './image/fid.js';
import { kid } from './image/kid.js';
import { precisionRecall } from './image/prdc.js';
import { readFeatureFile, readLines, readText } from './io/read-inputs.js';
import { perplexityFromLogprobs } from './lm/perplexity.js';
import { bootstrap } from './stats/bootstrap.js';
import { bleuFromStats, corpusBleu, corpusBleuStats, sentenceBleu, type BleuOptions, type BleuSmoothing } from './text/bleu.js';
import { chrfFromStats, corpusChrf, corpusChrfStats, sentenceChrf, type ChrfOptions } from './text/chrf.js';
import { aggregateRouge, rougeCorpus } from './text/rouge-aggregate.js';
import { DEFAULT_ROUGE_TYPES } from './text/rouge.js';
import { BLEU_TOKENIZERS, type BleuTokenizerName } from './text/tokenizers.js';

type Options = CommandInput['options'];

const SUBCOMMANDS = ['bleu', 'chrf', 'rouge', 'fid', 'kid', 'precision-recall', 'perplexity', ...EXTRA_SUBCOMMANDS] as const;

function str(options: Options, name: string): string | undefined {
  const v = options[name];
  if (v === undefined || v === false) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`option --${name}: expected a value, got ${String(v)}`);
  return v;
}

function need(options: Options, name: string, sub: string): string {
  const v = str(options, name);
  if (v === undefined) throw new InvalidArgumentError(`metrics ${sub}: --${name} is required`);
  return v;
}

function num(options: Options, name: string): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`option --${name}: expected a number, got ${String(v)}`);
  return n;
}

/** Reference files: --ref (repeatable where the CLI collects repeats into an array) and/or --refs a,b. */
function refPaths(options: Options, sub: string): string[] {
  const out: string[] = [];
  const ref = options['ref'] as unknown;
  if (Array.isArray(ref)) out.push(...ref.map(String));
  else if (typeof ref === 'string') out.push(ref);
  const refs = str(options, 'refs');
  if (refs) out.push(...refs.split(',').filter((s) => s.length > 0));
  if (out.length === 0) throw new InvalidArgumentError(`metrics ${sub}: give reference files with --ref R.txt (or --refs R1.txt,R2.txt)`);
  return out;
}

async function textInputs(options: Options, sub: string): Promise<{ hyps: string[]; refs: string[][] }> {
  const hyps = await readLines(need(options, 'hyp', sub), `metrics ${sub} --hyp`);
  const refs = await Promise.all(refPaths(options, sub).map((p) => readLines(p, `metrics ${sub} --ref`)));
  refs.forEach((r, k) => {
    if (r.length !== hyps.length) {
      throw new InvalidArgumentError(`metrics ${sub}: reference file ${k + 1} has ${r.length} lines but the hypothesis file has ${hyps.length} (files must be line-aligned)`);
    }
  });
  return { hyps, refs };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

async function runBleu(input: CommandInput) {
  const o = input.options;
  const tokenize = (str(o, 'tokenize') ?? '13a') as BleuTokenizerName;
  if (!BLEU_TOKENIZERS.includes(tokenize)) throw new InvalidArgumentError(`metrics bleu: --tokenize must be one of ${BLEU_TOKENIZERS.join(', ')}, got ${tokenize}`);
  const smooth = (str(o, 'smooth') ?? 'exp') as BleuSmoothing;
  const options: BleuOptions = { tokenize, lowercase: o['lowercase'] === true, smooth, smoothValue: num(o, 'smooth-value') };
  const { hyps, refs } = await textInputs(o, 'bleu');
  let result;
  if (o['sentence'] === true) {
    if (hyps.length !== 1) throw new InvalidArgumentError(`metrics bleu --sentence: expected exactly one hypothesis line, got ${hyps.length}`);
    result = sentenceBleu(hyps[0]!, refs.map((r) => r[0]!), options);
  } else result = corpusBleu(hyps, refs, options);
  const out: Record<string, unknown> = {
    score: result.score,
    precisions: result.precisions,
    bp: result.bp,
    ratio: result.ratio,
    sys_len: result.sys_len,
    ref_len: result.ref_len,
    counts: result.counts,
    totals: result.totals,
    signature: result.signature,
  };
  const resamples = num(o, 'bootstrap');
  if (resamples && o['sentence'] !== true) {
    const stats = corpusBleuStats(hyps, refs, options);
    const ci = bootstrap(stats.length, (idx) => {
      const sum = new Array<number>(stats[0]!.length).fill(0);
      for (const i of idx) stats[i]!.forEach((v, j) => (sum[j]! += v));
      return bleuFromStats(sum, options).score;
    }, { samples: resamples, seed: (o['seed'] as number | undefined) ?? 12345 });
    out['interval'] = ci;
  }
  const prec = result.precisions.map((p) => p.toFixed(1)).join('/');
  input.print(`BLEU|${result.signature} = ${result.score.toFixed(2)} ${prec} (BP = ${result.bp.toFixed(3)} ratio = ${result.ratio.toFixed(3)} hyp_len = ${result.sys_len} ref_len = ${result.ref_len})`);
  return out;
}

async function runChrf(input: CommandInput) {
  const o = input.options;
  const options: ChrfOptions = { wordOrder: num(o, 'word-order') ?? 0, lowercase: o['lowercase'] === true, charOrder: num(o, 'char-order'), beta: num(o, 'beta') };
  const { hyps, refs } = await textInputs(o, 'chrf');
  let result;
  if (o['sentence'] === true) {
    if (hyps.length !== 1) throw new InvalidArgumentError(`metrics chrf --sentence: expected exactly one hypothesis line, got ${hyps.length}`);
    result = sentenceChrf(hyps[0]!, refs.map((r) => r[0]!), options);
  } else result = corpusChrf(hyps, refs, options);
  const out: Record<string, unknown> = { score: result.score, name: result.name, signature: result.signature };
  const resamples = num(o, 'bootstrap');
  if (resamples && o['sentence'] !== true) {
    const stats = corpusChrfStats(hyps, refs, options);
    out['interval'] = bootstrap(stats.length, (idx) => {
      const sum = new Array<number>(stats[0]!.length).fill(0);
      for (const i of idx) stats[i]!.forEach((v, j) => (sum[j]! += v));
      return chrfFromStats(sum, options).score;
    }, { samples: resamples, seed: (o['seed'] as number | undefined) ?? 12345 });
  }
  input.print(`${result.name}|${result.signature} = ${result.score.toFixed(2)}`);
  return out;
}

async function runRouge(input: CommandInput) {
  const o = input.options;
  const path = need(o, 'pairs', 'rouge');
  const pairs = (await readText(path, 'metrics rouge --pairs'))
    .split(/\r?\n/)
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => line.trim().length > 0)
    .map(({ line, i }) => {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new InvalidArgumentError(`metrics rouge: line ${i + 1} of ${path} is not JSON`);
      }
      const p = v as { target?: unknown; prediction?: unknown };
      if (!p || typeof p.target !== 'string' || typeof p.prediction !== 'string') {
        throw new InvalidArgumentError(`metrics rouge: line ${i + 1} of ${path} must be {"target": string, "prediction": string}`);
      }
      return { target: p.target, prediction: p.prediction };
    });
  const types = (str(o, 'types') ?? DEFAULT_ROUGE_TYPES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const { perExample, mean } = rougeCorpus(pairs, { types, stem: o['stem'] === true });
  const out: Record<string, unknown> = { per_example: perExample, mean };
  const resamples = num(o, 'bootstrap');
  if (resamples) out['intervals'] = aggregateRouge(perExample, { samples: resamples, seed: (o['seed'] as number | undefined) ?? 12345 });
  for (const t of types) input.print(`${t}: P = ${mean[t]!.precision.toFixed(4)} R = ${mean[t]!.recall.toFixed(4)} F = ${mean[t]!.fmeasure.toFixed(4)}`);
  return out;
}

async function featurePair(o: Options, sub: string) {
  const a = await readFeatureFile(need(o, 'a', sub), `metrics ${sub} --a`, str(o, 'key'));
  const b = await readFeatureFile(need(o, 'b', sub), `metrics ${sub} --b`, str(o, 'key'));
  return { a, b };
}

async function runFid(input: CommandInput) {
  const { a, b } = await featurePair(input.options, 'fid');
  const r = fid(a, b, { offset: num(input.options, 'offset') });
  input.print(`FID = ${r.value.toFixed(4)} (${a.rows} vs ${b.rows} samples, d = ${a.cols})`);
  return { fid: r.value, ...r.details, signature: r.signature };
}

async function runKid(input: CommandInput) {
  const o = input.options;
  const { a, b } = await featurePair(o, 'kid');
  const r = kid(a, b, { subsets: num(o, 'subsets'), subsetSize: num(o, 'subset-size'), seed: (o['seed'] as number | undefined) ?? 0 });
  input.print(`KID = ${r.value.toExponential(4)} ± ${(r.details!['std'] as number).toExponential(2)}`);
  return { kid: r.value, ...r.details, signature: r.signature };
}

async function runPrdc(input: CommandInput) {
  const o = input.options;
  const { a, b } = await featurePair(o, 'precision-recall');
  const r = precisionRecall(a, b, { k: num(o, 'k') });
  input.print(`precision = ${round(r.precision, 4)} recall = ${round(r.recall, 4)} density = ${round(r.density, 4)} coverage = ${round(r.coverage, 4)} (k = ${r.k})`);
  return r;
}

async function runPerplexity(input: CommandInput) {
  const path = need(input.options, 'logprobs', 'perplexity');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(path, 'metrics perplexity --logprobs'));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`metrics perplexity: ${path} is not valid JSON`);
  }
  const doc = parsed as { token_logprobs?: unknown; mask?: unknown };
  if (!doc || !Array.isArray(doc.token_logprobs)) throw new InvalidArgumentError(`metrics perplexity: ${path} must hold {"token_logprobs": [[...], ...], "mask"?: [[1|0, ...], ...]}`);
  const r = perplexityFromLogprobs(doc.token_logprobs as number[][], doc.mask as number[][] | undefined);
  input.print(`perplexity = ${r.perplexity.toFixed(4)} (mean NLL ${r.mean_nll.toFixed(4)} nats over ${r.token_count} tokens)`);
  return r;
}

/** `nutshell metrics <bleu|chrf|rouge|fid|kid|precision-recall|perplexity> …` */
export const metricsCommand: CommandSpec = {
  summary: 'score text (BLEU, chrF, ROUGE, diversity), feature sets and MNIST images (FID, KID, precision/recall, SWD, MMD), distributions, rater agreement, pairwise preferences and perplexity',
  description:
    'BLEU and chrF follow sacreBLEU (signature included), ROUGE follows rouge-score, FID/KID run in float64. ' +
    'Text files are line-aligned; feature files are N×d .npy or safetensors matrices.',
  args: [{ name: 'metric', description: SUBCOMMANDS.join(' | '), required: true }],
  options: [
    { name: 'hyp', type: 'string', description: 'bleu/chrf: hypothesis file, one segment per line' },
    { name: 'ref', type: 'string', description: 'bleu/chrf: reference file (line-aligned with --hyp)' },
    { name: 'refs', type: 'string', description: 'bleu/chrf: several reference files, comma-separated' },
    { name: 'tokenize', type: 'string', description: 'bleu: 13a (default), none, intl or char' },
    { name: 'lowercase', type: 'boolean', description: 'bleu/chrf: case-insensitive' },
    { name: 'smooth', type: 'string', description: 'bleu: exp (default), floor, add-k or none' },
    { name: 'smooth-value', type: 'number', description: 'bleu: value for floor (0.1) or add-k (1)' },
    { name: 'sentence', type: 'boolean', description: 'bleu/chrf: score one line as sentence_bleu / sentence_chrf' },
    { name: 'word-order', type: 'number', description: 'chrf: word n-gram order (2 = chrF++)' },
    { name: 'char-order', type: 'number', description: 'chrf: character n-gram order (default 6)' },
    { name: 'beta', type: 'number', description: 'chrf: recall weight (default 2)' },
    { name: 'bootstrap', type: 'number', description: 'bleu/chrf/rouge: bootstrap resamples for a 95% interval (seeded by --seed)' },
    { name: 'pairs', type: 'string', description: 'rouge: JSONL file of {"target", "prediction"}' },
    { name: 'types', type: 'string', description: 'rouge: comma-separated types (default rouge1,rouge2,rougeL,rougeLsum)' },
    { name: 'stem', type: 'boolean', description: 'rouge: Porter-stem tokens' },
    { name: 'a', type: 'string', description: 'fid/kid/precision-recall: first (real) N×d feature file (.npy or .safetensors)' },
    { name: 'b', type: 'string', description: 'fid/kid/precision-recall: second (generated) feature file' },
    { name: 'key', type: 'string', description: 'safetensors tensor name (default: the first)' },
    { name: 'offset', type: 'number', description: "fid: add offset·I to both covariances (pytorch-fid's eps fallback)" },
    { name: 'subsets', type: 'number', description: 'kid: number of subsets (default 100)' },
    { name: 'subset-size', type: 'number', description: 'kid: samples per subset (default 1000)' },
    { name: 'k', type: 'number', description: 'precision-recall: neighbourhood size (default 5)' },
    { name: 'logprobs', type: 'string', description: 'perplexity: JSON {"token_logprobs": [[...]], "mask"?: [[...]]}' },
    ...EXTRA_OPTIONS,
  ],
  async run(input) {
    const sub = input.args[0];
    switch (sub) {
      case 'bleu':
        return runBleu(input);
      case 'chrf':
        return runChrf(input);
      case 'rouge':
        return runRouge(input);
      case 'fid':
        return runFid(input);
      case 'kid':
        return runKid(input);
      case 'precision-recall':
        return runPrdc(input);
      case 'perplexity':
        return runPerplexity(input);
      default:
        if ((EXTRA_SUBCOMMANDS as readonly string[]).includes(sub ?? '')) return runExtra(sub!, input);
        throw new InvalidArgumentError(`metrics: unknown metric ${JSON.stringify(sub)}; choose one of ${SUBCOMMANDS.join(', ')}`);
    }
  },
};
