import { InvalidArgumentError, disposeAll, tf, type Tensor } from '@nutshell/core';
import { Module, valueAndGrads, type Callback, type EpochLog, type ParamGroupSpec, type Parameter } from '@nutshell/nn';
import { LoraLayer } from './lora-layer.js';
import { isLinearLike } from './lora-linear.js';
import { walkModules } from './targets.js';

/** An ordered group of parameters: a block of a ModuleList/Sequential, or one named module. */
export interface LayerGroup {
  name: string;
  params: Parameter[];
}

/**
 * The model's layer groups, input side first: a parameter belongs to the path up to its first
 * numeric component (`transformer.h.3`, `0`), else to its module (`transformer.wte`, `lm_head`).
 */
export function layerGroups(model: Module): LayerGroup[] {
  const groups = new Map<string, Parameter[]>();
  for (const [path, p] of model.namedParameters()) {
    const parts = path.split('.');
    const idx = parts.findIndex((s) => /^\d+$/.test(s));
    const key = idx >= 0 ? parts.slice(0, idx + 1).join('.') : parts.slice(0, -1).join('.') || parts[0]!;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(p);
  }
  return [...groups].map(([name, params]) => ({ name, params }));
}

/** Full fine-tuning: every parameter trainable. */
export function fullFineTune(model: Module): Module {
  return model.requiresGrad(true);
}

/** Freezes the first n layer groups and unfreezes the rest; returns the frozen group names. */
export function freezeFirst(model: Module, n: number): string[] {
  const groups = layerGroups(model);
  if (!Number.isInteger(n) || n < 0 || n > groups.length) throw new InvalidArgumentError(`freezeFirst: n must be an integer in [0, ${groups.length}], got ${n}`);
  groups.forEach((g, i) => g.params.forEach((p) => (p.trainable = i >= n)));
  return groups.slice(0, n).map((g) => g.name);
}

/** Trains only the head (default: the last layer group); everything else frozen. */
export function trainOnlyHead(model: Module, headPath?: string): void {
  model.requiresGrad(false);
  if (headPath) model.getModule(headPath).requiresGrad(true);
  else layerGroups(model).at(-1)?.params.forEach((p) => (p.trainable = true));
}

/** Swaps the module at `path` for a new head (e.g. a Linear with a new class count) and frees the old one. */
export function replaceHead(model: Module, path: string, head: Module): void {
  model.setModule(path, head).dispose();
}

/**
 * Discriminative learning rates (ULMFiT): the last group gets `lr`, each earlier group lr / factor^k
 * (default factor 2.6). Only trainable parameters; groups with none are left out. Pass the result
 * to any nn optimizer as its parameter groups.
 */
export function discriminativeParamGroups(model: Module, lr: number, factor = 2.6): ParamGroupSpec<object>[] {
  if (!(lr > 0) || !(factor >= 1)) throw new InvalidArgumentError(`discriminativeParamGroups: lr must be > 0 and factor ≥ 1, got ${lr}, ${factor}`);
  const groups = layerGroups(model);
  const out: ParamGroupSpec<object>[] = [];
  groups.forEach((g, i) => {
    const params = g.params.filter((p) => p.trainable);
    if (params.length) out.push({ params, options: { lr: lr / factor ** (groups.length - 1 - i) } });
  });
  if (!out.length) throw new InvalidArgumentError('discriminativeParamGroups: the model has no trainable parameters');
  return out;
}

/**
 * Gradual unfreezing (ULMFiT): starts with only the last group trainable and unfreezes one more
 * group (from the top) every `every` epochs. Use as a Trainer callback, or call `apply(epoch)`.
 * Note the optimizer must have been given all parameters (frozen ones are skipped until thawed).
 */
export class GradualUnfreezing implements Callback {
  private readonly groups: LayerGroup[];
  constructor(model: Module, readonly every = 1) {
    if (!Number.isInteger(every) || every < 1) throw new InvalidArgumentError(`GradualUnfreezing: every must be a positive integer, got ${every}`);
    this.groups = layerGroups(model);
    this.apply(0);
  }
  /** Sets trainable flags for the given (0-based) epoch; returns how many groups are trainable. */
  apply(epoch: number): number {
    const k = Math.min(this.groups.length, 1 + Math.floor(epoch / this.every));
    this.groups.forEach((g, i) => g.params.forEach((p) => (p.trainable = i >= this.groups.length - k)));
    return k;
  }
  onEpochEnd(_trainer: unknown, log: EpochLog): void {
    this.apply(log.epoch + 1);
  }
}

export interface LayerImportance {
  path: string;
  /** Mean |w · ∂L/∂w| over the layer's weight: a first-order Taylor estimate of the loss change if removed. */
  score: number;
}

/**
 * Ranks adaptable (linear) layers by gradient-based importance on a batch, highest first. Pick LoRA
 * targets from the top of the list (`ranking.slice(0, k).map((l) => l.path)`). Trainable flags
 * are restored afterwards.
 */
export function rankLayersByGradient(model: Module, loss: () => Tensor): LayerImportance[] {
  const layers = walkModules(model).filter(([, m]) => isLinearLike(m) && !(m instanceof LoraLayer) && (m as { weight?: unknown }).weight !== undefined);
  const weights = layers.map(([, m]) => (m as unknown as { weight: Parameter }).weight);
  const flags = weights.map((w) => w.trainable);
  weights.forEach((w) => (w.trainable = true));
  try {
    const { value, grads } = valueAndGrads(loss, weights);
    const scores = layers.map(([path], i) => {
      const g = grads.get(weights[i]!);
      const s = g ? tf.tidy(() => tf.mean(tf.abs(tf.mul(weights[i]!, g))).dataSync()[0]!) : 0;
      return { path, score: s };
    });
    disposeAll([value, [...grads.values()]]);
    return scores.sort((a, b) => b.score - a.score);
  } finally {
    weights.forEach((w, i) => (w.trainable = flags[i]!));
  }
}
