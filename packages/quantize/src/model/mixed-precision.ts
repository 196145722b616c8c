import { tf, type Tensor } from '@nutshell/core';
import { Module, type Linear } from '@nutshell/nn';
import { PackedWeight } from './packed-weight.js';
import { RecipeError, checkSpec, matches, type LayerKind, type LayerQuantSpec, type NamePattern } from './recipe.js';
import { quantizableLayers } from './layers.js';
import { fanInFanOutWeightOutIn, isFanInFanOutLayer } from './fan-in-fan-out.js';

/** A candidate format: a weight spec, or `fp32` / `{ scheme: 'none' }` to keep the layer in float32. */
export type CandidateFormat = LayerQuantSpec | LayerQuantSpec['scheme'] | 'fp32';

/**
 * Mixed precision under a size budget: every quantizable layer gets one of `candidates`, chosen to
 * minimise the summed per-layer sensitivity while the layers' weight bytes stay within the budget.
 */
export interface MixedPrecisionRecipe {
  /** Budget for the weights of the considered layers, in bytes (packed codes + scales, float32 = 4/param). */
  budgetBytes?: number;
  /** Or a fraction of those weights' float32 bytes (e.g. 0.2). */
  budgetRatio?: number;
  /** Formats to choose from (default fp32, int8, int4 groups of 32, nf4 + double quant). */
  candidates?: CandidateFormat[];
  /** Inputs passed to `forward(model, input)` to measure sensitivity (at least one). */
  calibration: Iterable<unknown>;
  /** How to run the model on one calibration input (default `model.forward(input)`); must return a Tensor. */
  forward?: (model: Module, input: unknown) => Tensor;
  /**
   * A task score, lower is better (a loss, perplexity); when given, a layer's sensitivity is the score
   * increase with only that layer quantized. Default: the relative output error
   * Σ‖y_q − y‖² / Σ‖y‖² over the calibration inputs.
   */
  score?: (model: Module) => number;
  /** Layers never quantized (they stay float32 and count against the budget). */
  skip?: NamePattern[];
  /** Layer types considered (default linear and conv2d). */
  types?: LayerKind[];
}

export interface CandidateMeasure {
  label: string;
  spec: LayerQuantSpec;
  /** Exact bytes of the layer's weight in this format. */
  bytes: number;
  sensitivity: number;
}

export interface LayerPlan {
  name: string;
  kind: LayerKind;
  params: number;
  /** Every candidate measured on this layer (the chosen one included). */
  candidates: CandidateMeasure[];
  chosen: CandidateMeasure;
}

export interface MixedPrecisionPlan {
  layers: LayerPlan[];
  budgetBytes: number;
  /** Bytes of the chosen formats (≤ budgetBytes). */
  totalBytes: number;
  fp32Bytes: number;
  totalSensitivity: number;
  /** How sensitivity was measured. */
  measure: 'relative-output-mse' | 'score';
}

export function isMixedPrecisionRecipe(r: unknown): r is MixedPrecisionRecipe {
  return !!r && typeof r === 'object' && ('budgetBytes' in r || 'budgetRatio' in r);
}

const DEFAULT_CANDIDATES: CandidateFormat[] = ['fp32', 'int8', { scheme: 'int4', groupSize: 32 }, { scheme: 'nf4', groupSize: 64, doubleQuant: true }];

export function candidateLabel(s: LayerQuantSpec): string {
  if (s.scheme === 'none') return 'fp32';
  let l: string = s.scheme;
  if (s.groupSize !== undefined) l += `-g${s.groupSize}`;
  if (s.symmetric === false) l += '-asym';
  if ((s.scheme === 'nf4' || s.scheme === 'fp4') && s.doubleQuant === false) l += '-nodq';
  return l;
}

function normalizeCandidates(c: CandidateFormat[] | undefined): LayerQuantSpec[] {
  const list = c ?? DEFAULT_CANDIDATES;
  if (!Array.isArray(list) || list.length === 0) throw new RecipeError('mixed precision: candidates must be a non-empty array');
  const specs = list.map((x, i) => (x === 'fp32' ? { scheme: 'none' as const } : checkSpec(x, `candidates[${i}]`)));
  for (const s of specs) if (s.activation === 'dynamic') throw new RecipeError('mixed precision: candidates are weight-only formats (no activation quantization)');
  const labels = specs.map(candidateLabel);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new RecipeError(`mixed precision: candidate '${dup}' is listed twice`);
  return specs;
}

/** The float weight in the orientation PackedWeight uses ([out, …]); caller disposes. */
function weightOutFirst(m: Module): Tensor {
  return isFanInFanOutLayer(m) ? fanInFanOutWeightOutIn(m) : tf.clone((m as Linear).weight);
}

function packedFor(m: Module, spec: LayerQuantSpec): PackedWeight {
  const w = weightOutFirst(m);
  try {
    const c: Record<string, unknown> = { scheme: spec.scheme };
    for (const k of ['groupSize', 'symmetric', 'doubleQuant'] as const) if (spec[k] !== undefined) c[k] = spec[k];
    return PackedWeight.quantize(w, c as never);
  } finally {
    w.dispose();
  }
}

/** Writes a dequantized packed weight into the float layer's variable (in its own orientation). */
function assignDequantized(m: Module, pw: PackedWeight): void {
  const v = (m as Linear).weight as tf.Variable;
  tf.tidy(() => {
    const d = isFanInFanOutLayer(m) ? tf.transpose(pw.dequantize()) : pw.dequantize();
    v.assign(d);
  });
}

function checkBudget(r: MixedPrecisionRecipe, fp32Bytes: number): number {
  const hasBytes = r.budgetBytes !== undefined;
  const hasRatio = r.budgetRatio !== undefined;
  if (hasBytes === hasRatio) throw new RecipeError('mixed precision: give exactly one of budgetBytes and budgetRatio');
  if (hasBytes) {
    if (!Number.isFinite(r.budgetBytes) || r.budgetBytes! <= 0) throw new RecipeError(`mixed precision: budgetBytes must be a positive number, got ${r.budgetBytes}`);
    return Math.floor(r.budgetBytes!);
  }
  if (!Number.isFinite(r.budgetRatio) || r.budgetRatio! <= 0) throw new RecipeError(`mixed precision: budgetRatio must be a positive number, got ${r.budgetRatio}`);
  return Math.floor(r.budgetRatio! * fp32Bytes);
}

const KNOWN = new Set(['budgetBytes', 'budgetRatio', 'candidates', 'calibration', 'forward', 'score', 'skip', 'types']);

/**
 * Measures every candidate format on every considered layer (one layer quantized at a time, the
 * rest in float32) and picks formats by a multiple-choice knapsack DP over bytes. The model is
 * left as it was (weights are restored exactly). Deterministic for a deterministic forward.
 */
export function planMixedPrecision(model: Module, recipe: MixedPrecisionRecipe): MixedPrecisionPlan {
  if (!(model instanceof Module)) throw new RecipeError('mixed precision: expected an nn Module');
  for (const k of Object.keys(recipe)) if (!KNOWN.has(k)) throw new RecipeError(`mixed precision: unknown key '${k}' (expected ${[...KNOWN].join(', ')})`);
  const specs = normalizeCandidates(recipe.candidates);
  const inputs = recipe.calibration === undefined ? [] : [...recipe.calibration];
  if (inputs.length === 0) throw new RecipeError('mixed precision: calibration must hold at least one input');
  const types = recipe.types ?? ['linear', 'conv2d'];
  const skip = recipe.skip ?? [];
  const layers = quantizableLayers(model).filter(([name, , kind]) => types.includes(kind) && !skip.some((p) => matches(p, name)));
  if (layers.length === 0) throw new RecipeError('mixed precision: no layer to plan (check types and skip)');
  const forward = recipe.forward ?? ((m: Module, x: unknown) => (m.forward as (x: unknown) => Tensor)(x));

  const wasTraining = model.training;
  model.eval();
  const refs: Tensor[] = [];
  try {
    let baseScore = 0;
    if (recipe.score) baseScore = recipe.score(model);
    else for (const x of inputs) refs.push(tf.tidy(() => forward(model, x)));
    const refPower = refs.reduce((a, y) => a + tf.tidy(() => tf.sum(tf.square(y)).dataSync()[0]!), 0) || 1;
    const measure = (): number => {
      if (recipe.score) return recipe.score(model) - baseScore;
      let err = 0;
      inputs.forEach((x, i) => {
        err += tf.tidy(() => tf.sum(tf.squaredDifference(forward(model, x), refs[i]!)).dataSync()[0]!);
      });
      return err / refPower;
    };

    const plans: Omit<LayerPlan, 'chosen'>[] = [];
    for (const [name, m, kind] of layers) {
      const params = (m as Linear).weight.size;
      const original = tf.clone((m as Linear).weight);
      const candidates: CandidateMeasure[] = [];
      try {
        for (const spec of specs) {
          const label = candidateLabel(spec);
          if (spec.scheme === 'none') {
            candidates.push({ label, spec, bytes: 4 * params, sensitivity: 0 });
            continue;
          }
          let pw: PackedWeight;
          try {
            pw = packedFor(m, spec);
          } catch (e) {
            throw new RecipeError(`layer '${name}', candidate ${label}: ${(e as Error).message}`);
          }
          assignDequantized(m, pw);
          candidates.push({ label, spec, bytes: pw.storageBytes(), sensitivity: measure() });
          ((m as Linear).weight as tf.Variable).assign(original);
        }
      } finally {
        ((m as Linear).weight as tf.Variable).assign(original);
        original.dispose();
      }
      plans.push({ name, kind, params, candidates });
    }
    const fp32Bytes = plans.reduce((a, p) => a + 4 * p.params, 0);
    const budgetBytes = checkBudget(recipe, fp32Bytes);
    const choice = chooseFormats(plans.map((p) => p.candidates), budgetBytes);
    if (!choice) {
      const min = plans.reduce((a, p) => a + Math.min(...p.candidates.map((c) => c.bytes)), 0);
      throw new RecipeError(`mixed precision: a budget of ${budgetBytes} bytes is below the smallest plan (${min} bytes with the given candidates)`);
    }
    const out = plans.map((p, i) => ({ ...p, chosen: p.candidates[choice[i]!]! }));
    return {
      layers: out,
      budgetBytes,
      totalBytes: out.reduce((a, p) => a + p.chosen.bytes, 0),
      fp32Bytes,
      totalSensitivity: out.reduce((a, p) => a + p.chosen.sensitivity, 0),
      measure: recipe.score ? 'score' : 'relative-output-mse',
    };
  } finally {
    tf.dispose(refs);
    model.train(wasTraining);
  }
}

/**
 * Multiple-choice knapsack: one candidate per layer, Σ bytes ≤ budget, minimal Σ sensitivity.
 * Bytes are counted in units of ⌈budget / 4096⌉ rounded up, so a plan found always fits the exact
 * budget; when rounding hides every plan, the smallest-bytes plan is returned if it fits.
 * Ties go to the earlier candidate (deterministic). Returns the chosen index per layer, or null.
 */
export function chooseFormats(layers: { bytes: number; sensitivity: number }[][], budget: number): number[] | null {
  const unit = Math.max(1, Math.ceil(budget / 4096));
  const cap = Math.floor(budget / unit);
  const INF = Number.POSITIVE_INFINITY;
  // best[c]: minimal sensitivity using at most c units over the layers seen so far.
  let best = new Float64Array(cap + 1);
  const picks: Int32Array[] = [];
  for (const cands of layers) {
    const next = new Float64Array(cap + 1).fill(INF);
    const pick = new Int32Array(cap + 1).fill(-1);
    cands.forEach((c, k) => {
      const w = Math.ceil(c.bytes / unit);
      for (let b = w; b <= cap; b++) {
        const v = best[b - w]! + c.sensitivity;
        if (v < next[b]!) {
          next[b] = v;
          pick[b] = k;
        }
      }
    });
    best = next;
    picks.push(pick);
  }
  if (best[cap] === INF) {
    const smallest = layers.map((c) => c.reduce((bi, x, i) => (x.bytes < c[bi]!.bytes ? i : bi), 0));
    const total = smallest.reduce((a, k, i) => a + layers[i]![k]!.bytes, 0);
    return total <= budget ? smallest : null;
  }
  // Walk back from the full capacity.
  const out = new Array<number>(layers.length);
  let b = cap;
  for (let i = layers.length - 1; i >= 0; i--) {
    const k = picks[i]![b]!;
    out[i] = k;
    b -= Math.ceil(layers[i]![k]!.bytes / unit);
  }
  return out;
}
