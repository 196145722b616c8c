import { InvalidArgumentError, NutshellError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Dropout, Identity, Module } from '@nutshell/nn';
import { loraScaling, type LoraConfig } from './config.js';
import { AdapterDict, ParamDict, WeightOnly } from './containers.js';

/** What a layer keeps per adapter besides its tensors. */
export interface AdapterSettings {
  r: number;
  loraAlpha: number;
  scaling: number;
  useDora: boolean;
}

/** The LoRA tensors of one adapter in one layer, named as PEFT saves them (no adapter name). */
export type AdapterTensors = [suffix: string, value: Variable][];

/**
 * A layer's per-adapter A and B under PEFT's child names. Style 'layer' keeps each as a bias-free
 * layer (an nn.ModuleDict: `lora_A.<adapter>.weight`, saved as `lora_A.weight`); style 'parameter'
 * as a bare parameter (an nn.ParameterDict: `lora_embedding_A.<adapter>`, saved as
 * `lora_embedding_A`). nn's Module cannot unregister a child, so removing an adapter builds new
 * dicts that the owning layer swaps in.
 */
export class LoraPair {
  a: AdapterDict<WeightOnly> | ParamDict;
  b: AdapterDict<WeightOnly> | ParamDict;
  constructor(readonly style: 'layer' | 'parameter', readonly roles: [a: string, b: string]) {
    this.a = this.empty();
    this.b = this.empty();
  }

  private empty(): AdapterDict<WeightOnly> | ParamDict {
    return this.style === 'layer' ? new AdapterDict<WeightOnly>() : new ParamDict();
  }

  /** Adds an adapter's A and B (ownership taken). */
  set(name: string, A: Tensor, B: Tensor): void {
    const put = (d: AdapterDict<WeightOnly> | ParamDict, t: Tensor) => (d instanceof ParamDict ? d.create(name, t) : d.set(name, new WeightOnly(t)));
    put(this.a, A);
    put(this.b, B);
  }

  get(name: string): { A: Variable; B: Variable } | undefined {
    const read = (d: AdapterDict<WeightOnly> | ParamDict) => (d instanceof ParamDict ? d.get(name) : d.get(name)?.weight);
    const A = read(this.a);
    const B = read(this.b);
    return A && B ? { A, B } : undefined;
  }

  /** PEFT's key suffixes of A and B (no adapter name). */
  get suffixes(): [string, string] {
    const [a, b] = this.roles;
    return this.style === 'layer' ? [`${a}.weight`, `${b}.weight`] : [a, b];
  }

  /** Disposes the adapter's A and B and rebuilds both dicts without it. */
  remove(name: string): void {
    const t = this.get(name);
    if (t) tf.dispose([t.A, t.B]);
    this.a = this.a.without(name);
    this.b = this.b.without(name);
  }
}

/**
 * Base of the LoRA wrappers (PEFT's LoraLayer): the wrapped module is the child `base_layer`; the
 * adapters' tensors live in per-role dicts keyed by adapter name (`lora_A.<name>.weight`). Output =
 * base(x) + Σ over active adapters of scaling · B(A(dropout(x))). `merge` folds the active adapters
 * into the base weight and `unmerge` takes them out again.
 */
export abstract class LoraLayer extends Module {
  readonly settings = new Map<string, AdapterSettings>();
  activeAdapters: string[] = [];
  /** True while the owner's `disableAdapters` is in effect: the layer is its base. */
  disabled = false;
  /** Adapters folded into the base weight, in merge order. */
  readonly merged: string[] = [];
  /** DoRA merges divide by a weight norm that unmerge must reuse. */
  protected readonly mergeCache = new Map<string, Tensor>();
  protected dropouts = new AdapterDict<Module>();
  /** DoRA magnitudes per adapter (PEFT's lora_magnitude_vector). */
  protected magnitude = new ParamDict();
  /** The adapters' A and B. */
  protected readonly pair: LoraPair;

  constructor(readonly baseLayer: Module, pair: LoraPair) {
    super();
    this.registerModule('base_layer', baseLayer);
    this.registerModule('lora_dropout', this.dropouts);
    this.pair = pair;
    this.registerModule(pair.roles[0], pair.a);
    this.registerModule(pair.roles[1], pair.b);
    this.registerModule('lora_magnitude_vector', this.magnitude);
  }

  /** Shape of the stored base weight, in the layer's canonical orientation. */
  abstract get kind(): 'linear' | 'conv2d' | 'embedding';

  /** A new adapter's initial A and B (B = 0 unless init_lora_weights is false; embeddings: A = 0). */
  protected abstract initPair(config: LoraConfig, seed: string): { A: Tensor; B: Tensor };
  /**
   * DoRA's weight norm (PEFT's get_weight_norm) of a canonical-orientation weight, in the magnitude
   * vector's shape: per output row (linear), per output channel over in×kh×kw (conv, [1, out, 1, 1]),
   * per embedding dimension (embedding: PEFT treats the table as fan_in_fan_out).
   */
  protected abstract weightNorm(w: Tensor): Tensor;
  /** Shape that broadcasts magnitude / norm against the canonical weight. */
  protected abstract get weightFactorShape(): number[];
  /** Shape that broadcasts magnitude / norm against the layer's output. */
  protected abstract get outputFactorShape(): number[];
  /** The update scaling·B·A in the canonical weight orientation (caller owns it). */
  abstract deltaWeight(name: string): Tensor;
  /** This adapter's contribution to the output for input x (inside a tidy). */
  protected abstract adapterOutput(name: string, x: Tensor): Tensor;
  /** The base weight in canonical orientation (caller owns it). */
  abstract readWeight(): Tensor;
  /** Writes a canonical-orientation weight back into the base (re-quantizes a 4-bit base). */
  abstract writeWeight(w: Tensor): void;

  /** Adds (or replaces nothing: names must be new) an adapter from a config. */
  addAdapter(name: string, config: LoraConfig, seed: string): void {
    if (this.settings.has(name)) throw new InvalidArgumentError(`${this.constructor.name}: adapter '${name}' already exists`);
    this.settings.set(name, { r: config.r, loraAlpha: config.lora_alpha, scaling: loraScaling(config), useDora: config.use_dora });
    const dropout = config.lora_dropout > 0 ? new Dropout(config.lora_dropout, { seed: `${seed}/dropout` }) : new Identity();
    dropout.train(this.training); // follow the model's train/eval mode
    this.dropouts.set(name, dropout);
    const { A, B } = this.initPair(config, seed);
    this.pair.set(name, A, B);
    if (config.use_dora) {
      // m starts as the norm of W0 + ΔW, so the DoRA layer equals its LoRA layer at init.
      const m = tf.tidy(() => this.weightNorm(tf.add(this.readWeight(), this.deltaWeight(name))));
      this.magnitude.create(name, m);
    }
  }

  /** The adapter's A, B and (DoRA) magnitude; InvalidArgumentError for an unknown adapter. */
  tensorsOf(name: string): { A: Variable; B: Variable; m?: Variable } {
    const t = this.pair.get(name);
    if (!t) throw new InvalidArgumentError(`${this.constructor.name}: no adapter '${name}'`);
    return { ...t, m: this.magnitude.get(name) };
  }

  /** The adapter's tensors with PEFT's key suffixes: A, B, then lora_magnitude_vector for DoRA. */
  adapterTensors(name: string): AdapterTensors {
    const { A, B, m } = this.tensorsOf(name);
    const [ka, kb] = this.pair.suffixes;
    const out: AdapterTensors = [[ka, A], [kb, B]];
    if (m) out.push(['lora_magnitude_vector', m]);
    return out;
  }

  /** Frees the adapter's A and B and swaps in the dicts without it. */
  private dropPair(name: string): void {
    this.pair.remove(name);
    this.setModule(this.pair.roles[0], this.pair.a);
    this.setModule(this.pair.roles[1], this.pair.b);
  }

  /** The DoRA magnitude of an adapter, if it has one. */
  magnitudeOf(name: string): Variable | undefined {
    return this.magnitude.get(name);
  }

  /**
   * DoRA's output scale m / ‖W0 + ΔW‖ shaped for the output, the norm detached as the paper and PEFT
   * do (section 4.3); null for a plain LoRA adapter. Call inside a tidy.
   */
  protected doraScale(name: string): Tensor | null {
    const m = this.magnitude.get(name);
    if (!m) return null;
    const n = detach(this.weightNorm(tf.add(this.readWeight(), this.deltaWeight(name))));
    return tf.reshape(tf.div(m, n), this.outputFactorShape);
  }

  /** Frees the adapter's magnitude, if any, and rebuilds the dict without it. */
  private dropMagnitude(name: string): void {
    const m = this.magnitude.get(name);
    if (!m) return;
    m.dispose();
    this.magnitude = this.magnitude.without(name);
    this.setModule('lora_magnitude_vector', this.magnitude);
  }

  hasAdapter(name: string): boolean {
    return this.settings.has(name);
  }

  adapterNames(): string[] {
    return [...this.settings.keys()];
  }

  /** Deletes an adapter (which must not be merged) and frees its tensors. */
  deleteAdapter(name: string): void {
    if (!this.settings.has(name)) return;
    if (this.merged.includes(name)) throw new InvalidArgumentError(`${this.constructor.name}: unmerge adapter '${name}' before deleting it`);
    this.dropPair(name);
    this.dropMagnitude(name);
    const d = this.dropouts;
    this.dropouts = d.without(name);
    this.setModule('lora_dropout', this.dropouts);
    this.settings.delete(name);
    this.activeAdapters = this.activeAdapters.filter((a) => a !== name);
  }

  /** Folds the given adapters (default: the active ones not yet merged) into the base weight. */
  merge(names: string[] = this.activeAdapters): void {
    for (const name of names) {
      if (!this.settings.has(name) || this.merged.includes(name)) continue;
      const w = this.readWeight();
      const next = this.mergedWeight(name, w);
      this.writeWeight(next);
      tf.dispose([w, next]);
      this.merged.push(name);
    }
  }

  /** Takes every merged adapter back out, last merged first. */
  unmerge(): void {
    while (this.merged.length) {
      const name = this.merged.pop()!;
      const w = this.readWeight();
      const prev = this.unmergedWeight(name, w);
      this.writeWeight(prev);
      tf.dispose([w, prev]);
    }
  }

  /** W + ΔW; DoRA: m / ‖W + ΔW‖ · (W + ΔW), the factor kept for unmerge (PEFT's weight_norm cache). */
  protected mergedWeight(name: string, w: Tensor): Tensor {
    const m = this.magnitude.get(name);
    if (!m) return tf.tidy(() => tf.add(w, this.deltaWeight(name)));
    const factor = tf.tidy(() => tf.reshape(tf.div(m, this.weightNorm(tf.add(w, this.deltaWeight(name)))), this.weightFactorShape));
    this.mergeCache.get(name)?.dispose();
    this.mergeCache.set(name, factor);
    return tf.tidy(() => tf.mul(factor, tf.add(w, this.deltaWeight(name))));
  }

  protected unmergedWeight(name: string, w: Tensor): Tensor {
    const factor = this.mergeCache.get(name);
    if (!factor) return tf.tidy(() => tf.sub(w, this.deltaWeight(name)));
    const out = tf.tidy(() => tf.sub(tf.div(w, factor), this.deltaWeight(name)));
    factor.dispose();
    this.mergeCache.delete(name);
    return out;
  }

  forward(x: Tensor): Tensor {
    if (this.disabled) {
      if (this.merged.length) this.unmerge();
      return this.baseLayer.forward(x);
    }
    if (this.merged.length) return this.baseLayer.forward(x);
    return tf.tidy(() => {
      let y: Tensor = this.baseLayer.forward(x);
      for (const name of this.activeAdapters) if (this.settings.has(name)) y = tf.add(y, this.adapterOutput(name, x));
      return y;
    });
  }

  /** Number of LoRA parameters of an adapter. */
  adapterSize(name: string): number {
    return this.adapterTensors(name).reduce((n, [, v]) => n + v.size, 0);
  }

  protected dropoutFor(name: string): Module {
    const d = this.dropouts.get(name);
    if (!d) throw new NutshellError('E_LORA', `no adapter '${name}'`);
    return d;
  }

  protected scaling(name: string): number {
    return this.settings.get(name)!.scaling;
  }

  /** Frees every adapter's tensors and forgets merges (the base keeps its current weight). */
  releaseAdapters(): void {
    this.merged.length = 0;
    for (const t of this.mergeCache.values()) t.dispose();
    this.mergeCache.clear();
    for (const name of [...this.settings.keys()]) {
      this.dropPair(name);
      this.dropMagnitude(name);
      this.settings.delete(name);
    }
    this.activeAdapters = [];
  }

  override dispose(): void {
    for (const t of this.mergeCache.values()) t.dispose();
    this.mergeCache.clear();
    super.dispose();
  }
}

/** A gradient barrier: the value of x, with zero gradient (PyTorch's .detach()). */
export function detach(x: Tensor): Tensor {
  const f = (...inputs: unknown[]) => ({ value: tf.clone(inputs[0] as Tensor), gradFunc: (dy: Tensor) => tf.zerosLike(dy) });
  return tf.customGrad(f as Parameters<typeof tf.customGrad>[0])(x);
}
