import { InvalidArgumentError } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module } from '@nutshell/nn';
import { QuantizedConv2d, QuantizedEmbedding, QuantizedLinear, type ActivationQuant } from './modules.js';
import { RecipeError, normalizeRecipe, specFor, unmatchedExactNames, type LayerKind, type LayerQuantSpec, type RecipeInput } from './recipe.js';
import type { WeightQuantConfig } from './packed-weight.js';
import { fanInFanOutWeightOutIn, isFanInFanOutLayer } from './fan-in-fan-out.js';
import { quantizableLayers } from './layers.js';
import { isMixedPrecisionRecipe, planMixedPrecision, type MixedPrecisionPlan, type MixedPrecisionRecipe } from './mixed-precision.js';

export { layerKind, quantizableLayers } from './layers.js';

/** One layer quantizeModel replaced. */
export interface ReplacedLayer {
  name: string;
  kind: LayerKind;
  scheme: string;
  params: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface QuantizeModelResult {
  replaced: ReplacedLayer[];
  /** Quantizable layers left in float32 (skipped or unmatched). */
  kept: string[];
  /** With a mixed-precision recipe: the measured sensitivities and the chosen format per layer. */
  plan?: MixedPrecisionPlan;
}

function weightConfig(spec: LayerQuantSpec): WeightQuantConfig {
  const c: WeightQuantConfig = { scheme: spec.scheme as WeightQuantConfig['scheme'] };
  if (spec.groupSize !== undefined) c.groupSize = spec.groupSize;
  if (spec.symmetric !== undefined) c.symmetric = spec.symmetric;
  if (spec.doubleQuant !== undefined) c.doubleQuant = spec.doubleQuant;
  return c;
}

/** Swaps the submodule at `path` (nn's `setModule` also re-points the parent's fields). Returns the old module. */
export function replaceModule(model: Module, path: string, module: Module): Module {
  return model.setModule(path, module);
}

/** The quantized replacement of one float layer. */
export function quantizeLayer(m: Module, spec: LayerQuantSpec, activation: ActivationQuant = { mode: spec.activation === 'dynamic' ? 'dynamic' : 'none' }): Module {
  const config = weightConfig(spec);
  if (m instanceof Linear) return QuantizedLinear.fromLinear(m, config, { activation });
  if (m instanceof Conv2d) return QuantizedConv2d.fromConv2d(m, config, { activation });
  if (m instanceof Embedding) {
    if (activation.mode !== 'none') throw new RecipeError('embeddings have integer inputs; activation quantization does not apply');
    return QuantizedEmbedding.fromEmbedding(m, config);
  }
  if (isFanInFanOutLayer(m)) {
    // Packed as [out, in] like any QuantizedLinear; the layer remembers its source layout for export.
    const w = fanInFanOutWeightOutIn(m);
    try {
      return QuantizedLinear.fromWeight(w, m.bias ?? null, config, { activation, fromFanInFanOut: true });
    } finally {
      w.dispose();
    }
  }
  throw new InvalidArgumentError(`cannot quantize a ${m.constructor.name}`);
}

/**
 * Replaces layers of an nn Module tree, in place, by quantized ones that keep packed weights
 * (torchao's `quantize_(model, config)`). Rules match dotted module paths exactly or by RegExp;
 * `skip` wins over rules; the first matching rule wins; `default` covers the rest of `types`.
 * Exact names that match no layer throw a RecipeError. The replaced float layers are disposed.
 *
 * A mixed-precision recipe (`budgetBytes` or `budgetRatio`, `candidates`, `calibration`) first
 * measures each layer's sensitivity to each candidate format and picks formats under the budget
 * (`planMixedPrecision`); the plan comes back in the result.
 */
export function quantizeModel(model: Module, recipe: RecipeInput | MixedPrecisionRecipe): QuantizeModelResult {
  if (!(model instanceof Module)) throw new InvalidArgumentError('quantizeModel: expected an nn Module');
  if (isMixedPrecisionRecipe(recipe)) {
    const plan = planMixedPrecision(model, recipe);
    const rules = plan.layers.map((l) => ({ ...l.chosen.spec, match: l.name, types: [l.kind] }));
    return { ...quantizeModel(model, { rules, default: 'none', types: ['linear', 'conv2d', 'embedding'] }), plan };
  }
  const r = normalizeRecipe(recipe);
  const layers = quantizableLayers(model);
  const missing = unmatchedExactNames(r, layers.map(([n]) => n));
  if (missing.length) throw new RecipeError(`no quantizable layer named ${missing.map((m) => `'${m}'`).join(', ')}; layers: ${layers.map(([n]) => n).join(', ') || '(none)'}`);
  // Build every replacement first, so a failing rule leaves the model unchanged.
  const plan: [string, Module, Module, LayerKind, LayerQuantSpec][] = [];
  const kept: string[] = [];
  try {
    for (const [name, m, kind] of layers) {
      const spec = specFor(r, name, kind);
      if (!spec) {
        kept.push(name);
        continue;
      }
      try {
        plan.push([name, m, quantizeLayer(m, spec), kind, spec]);
      } catch (e) {
        throw e instanceof RecipeError ? e : new RecipeError(`layer '${name}': ${(e as Error).message}`);
      }
    }
  } catch (e) {
    for (const [, , q] of plan) q.dispose();
    throw e;
  }
  const replaced: ReplacedLayer[] = [];
  for (const [name, old, q, kind, spec] of plan) {
    const w = (old as Linear).weight;
    replaced.push({
      name, kind, scheme: spec.scheme, params: w.size,
      bytesBefore: 4 * w.size, bytesAfter: (q as QuantizedLinear).packedWeight.storageBytes(),
    });
    replaceModule(model, name, q);
    old.dispose();
  }
  return { replaced, kept };
}
