import { InvalidArgumentError, type CommandInput, type CommandOption } from '@nutshell/core';
import { jsDivergence, klDivergence, mmd } from './distributions/divergences.js';
import { mnistFeatureExtractor } from './extractors/mnist.js';
import { fid } from './image/fid.js';
import { inceptionScore } from './image/inception-score.js';
import { slicedWasserstein } from './image/swd.js';
import { cohenKappa, fleissKappa, krippendorffAlpha } from './human/agreement.js';
import { bradleyTerry, eloRatings, winRate, type PairwiseOutcome } from './human/pairwise.js';
import { readFeatureFile, readLines, readText } from './io/read-inputs.js';
import { distinctN, exactMatch, selfBleu } from './text/diversity.js';

type Options = CommandInput['options'];

export const EXTRA_SUBCOMMANDS = ['swd', 'mmd', 'mnist-fid', 'mnist-is', 'distinct', 'self-bleu', 'exact-match', 'kl', 'js', 'kappa', 'krippendorff', 'pairwise'] as const;

const str = (o: Options, name: string): string | undefined => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
const num = (o: Options, name: string): number | undefined => {
  const v = o[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`option --${name}: expected a number, got ${String(v)}`);
  return n;
};
function need(o: Options, name: string, sub: string): string {
  const v = str(o, name);
  if (v === undefined) throw new InvalidArgumentError(`metrics ${sub}: --${name} is required`);
  return v;
}
async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${what}: ${path} is not valid JSON`);
  }
}
function numberArray(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new InvalidArgumentError(`${what}: expected a JSON array of numbers`);
  return v as number[];
}

export const EXTRA_OPTIONS: CommandOption[] = [
  { name: 'kernel', type: 'string', description: 'mmd: rbf (default) or polynomial' },
  { name: 'sigma', type: 'number', description: 'mmd: RBF bandwidth (default: median pairwise distance)' },
  { name: 'projections', type: 'number', description: 'swd: directions per repeat (default 128)' },
  { name: 'n', type: 'number', description: 'distinct: n-gram order (default: reports 1 and 2)' },
  { name: 'normalize', type: 'string', description: 'exact-match: none (default), trim or squad' },
  { name: 'p', type: 'string', description: 'kl/js: JSON array, the first distribution (counts are normalized)' },
  { name: 'q', type: 'string', description: 'kl/js: JSON array, the second distribution' },
  { name: 'epsilon', type: 'number', description: 'kl: smooth q as (q + ε)/(1 + kε) (default 0: exact, may be Infinity)' },
  { name: 'base', type: 'number', description: 'kl/js: logarithm base (default e)' },
  { name: 'ratings', type: 'string', description: 'kappa/krippendorff: JSON [[rater 1 labels…], [rater 2 labels…], …] (null = missing); kappa with --fleiss: subjects × categories counts' },
  { name: 'fleiss', type: 'boolean', description: "kappa: --ratings holds Fleiss' count matrix" },
  { name: 'weights', type: 'string', description: "kappa: Cohen's weights none (default), linear or quadratic" },
  { name: 'level', type: 'string', description: 'krippendorff: nominal (default), ordinal, interval or ratio' },
  { name: 'outcomes', type: 'string', description: 'pairwise: JSONL of {"a", "b", "winner": "a"|"b"|"tie"}' },
  { name: 'range', type: 'string', description: 'mnist-fid/mnist-is: pixel range lo,hi of the N×784 images (default 0,1)' },
  { name: 'splits', type: 'number', description: 'mnist-is: splits (default 1)' },
];

export async function runExtra(sub: string, input: CommandInput): Promise<unknown> {
  const o = input.options;
  switch (sub) {
    case 'swd':
    case 'mmd': {
      const a = await readFeatureFile(need(o, 'a', sub), `metrics ${sub} --a`, str(o, 'key'));
      const b = await readFeatureFile(need(o, 'b', sub), `metrics ${sub} --b`, str(o, 'key'));
      const r = sub === 'swd'
        ? slicedWasserstein(a, b, { projections: num(o, 'projections'), seed: num(o, 'seed') ?? 0 })
        : mmd(a, b, { kernel: str(o, 'kernel') as 'rbf' | 'polynomial' | undefined, sigma: num(o, 'sigma') });
      input.print(`${r.name} = ${r.value.toPrecision(6)}`);
      return { [sub]: r.value, ...r.details, signature: r.signature };
    }
    case 'mnist-fid':
    case 'mnist-is': {
      const range = (str(o, 'range') ?? '0,1').split(',').map(Number) as [number, number];
      const ex = await mnistFeatureExtractor({ range });
      try {
        const a = await readFeatureFile(need(o, 'a', sub), `metrics ${sub} --a`, str(o, 'key'));
        if (sub === 'mnist-is') {
          const r = inceptionScore(ex.probabilities({ data: a.data, count: a.rows }), { splits: num(o, 'splits') ?? 1 });
          input.print(`MNIST IS = ${r.value.toFixed(4)} (${a.rows} images)`);
          return { is: r.value, std: r.details!['std'], n: a.rows, extractor: ex.name, preprocessing: ex.preprocessing };
        }
        const b = await readFeatureFile(need(o, 'b', sub), `metrics ${sub} --b`, str(o, 'key'));
        const r = fid(ex.features({ data: a.data, count: a.rows }), ex.features({ data: b.data, count: b.rows }));
        input.print(`MNIST FID = ${r.value.toFixed(4)} (${a.rows} vs ${b.rows} images)`);
        return { fid: r.value, ...r.details, extractor: ex.name, preprocessing: ex.preprocessing, signature: `mnist-fid|${ex.name}|${r.signature}` };
      } finally {
        ex.dispose();
      }
    }
    case 'distinct':
    case 'self-bleu': {
      const texts = await readLines(need(o, 'hyp', sub), `metrics ${sub} --hyp`);
      if (sub === 'self-bleu') {
        const r = selfBleu(texts);
        input.print(`self-BLEU = ${r.value.toFixed(2)}`);
        return { self_bleu: r.value, signature: r.signature };
      }
      const orders = num(o, 'n') ? [num(o, 'n')!] : [1, 2];
      const out: Record<string, number> = {};
      for (const n of orders) out[`distinct_${n}`] = distinctN(texts, n).value;
      input.print(Object.entries(out).map(([k, v]) => `${k} = ${v.toFixed(4)}`).join(' '));
      return out;
    }
    case 'exact-match': {
      const hyps = await readLines(need(o, 'hyp', sub), 'metrics exact-match --hyp');
      const refs = await readLines(need(o, 'ref', sub), 'metrics exact-match --ref');
      const r = exactMatch(hyps, refs, { normalize: (str(o, 'normalize') ?? 'none') as 'none' });
      input.print(`exact match = ${r.value.toFixed(4)}`);
      return { exact_match: r.value, ...r.details, signature: r.signature };
    }
    case 'kl':
    case 'js': {
      const p = numberArray(await readJson(need(o, 'p', sub), `metrics ${sub} --p`), `metrics ${sub} --p`);
      const q = numberArray(await readJson(need(o, 'q', sub), `metrics ${sub} --q`), `metrics ${sub} --q`);
      const base = num(o, 'base');
      const value = sub === 'kl' ? klDivergence(p, q, { epsilon: num(o, 'epsilon'), base }) : jsDivergence(p, q, { base });
      input.print(`${sub.toUpperCase()} = ${value}`);
      return { [sub]: value === Infinity ? 'Infinity' : value };
    }
    case 'kappa':
    case 'krippendorff': {
      const ratings = (await readJson(need(o, 'ratings', sub), `metrics ${sub} --ratings`)) as unknown[][];
      if (!Array.isArray(ratings) || !ratings.every(Array.isArray)) throw new InvalidArgumentError(`metrics ${sub}: --ratings must be a JSON array of arrays`);
      if (sub === 'krippendorff') {
        const alpha = krippendorffAlpha(ratings as (string | number | null)[][], { level: (str(o, 'level') ?? 'nominal') as 'nominal' });
        input.print(`Krippendorff's alpha = ${alpha.toFixed(4)}`);
        return { alpha, level: str(o, 'level') ?? 'nominal' };
      }
      if (o['fleiss'] === true) {
        const r = fleissKappa(ratings as number[][]);
        input.print(`Fleiss' kappa = ${r.kappa.toFixed(4)}`);
        return { kappa: r.kappa, p_observed: r.pObserved, p_expected: r.pExpected };
      }
      if (ratings.length !== 2) throw new InvalidArgumentError(`metrics kappa: Cohen's kappa needs exactly 2 raters, got ${ratings.length} (use --fleiss with counts, or krippendorff)`);
      const kappa = cohenKappa(ratings[0] as (string | number)[], ratings[1] as (string | number)[], { weights: (str(o, 'weights') ?? 'none') as 'none' });
      input.print(`Cohen's kappa = ${kappa.toFixed(4)}`);
      return { kappa, weights: str(o, 'weights') ?? 'none' };
    }
    case 'pairwise': {
      const path = need(o, 'outcomes', sub);
      const outcomes: PairwiseOutcome[] = (await readLines(path, 'metrics pairwise --outcomes'))
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => line.trim())
        .map(({ line, i }) => {
          let v: PairwiseOutcome;
          try {
            v = JSON.parse(line) as PairwiseOutcome;
          } catch {
            throw new InvalidArgumentError(`metrics pairwise: line ${i + 1} of ${path} is not JSON`);
          }
          if (typeof v?.a !== 'string' || typeof v.b !== 'string' || !['a', 'b', 'tie'].includes(v.winner)) throw new InvalidArgumentError(`metrics pairwise: line ${i + 1} must be {"a", "b", "winner": "a"|"b"|"tie"}`);
          return v;
        });
      const systems = [...new Set(outcomes.flatMap((x) => [x.a, x.b]))].sort();
      const rates = Object.fromEntries(systems.map((s) => [s, winRate(outcomes, s)]));
      let bt: ReturnType<typeof bradleyTerry> | { error: string };
      try {
        bt = bradleyTerry(outcomes);
      } catch (e) {
        bt = { error: (e as Error).message };
      }
      for (const s of systems) input.print(`${s}: win rate ${(rates[s]!.winRate * 100).toFixed(1)}% [${(rates[s]!.low * 100).toFixed(1)}, ${(rates[s]!.high * 100).toFixed(1)}]`);
      return { win_rates: rates, bradley_terry: bt, elo: eloRatings(outcomes) };
    }
    default:
      return undefined;
  }
}
