import { InvalidArgumentError, NutshellError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Dropout, Identity, Module } from '@nutshell/nn';
import { loraScaling, type LoraConfig } from './config.js';
import { AdapterDict } from './containers.js';

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

  constructor(readonly baseLayer: Module) {
    super();
    this.registerModule('base_layer', baseLayer);
    this.registerModule('lora_dropout', this.dropouts);
  }

  /** Shape of the stored base weight, in the layer's canonical orientation. */
  abstract get kind(): 'linear' | 'conv2d' | 'embedding';

  /** Creates the adapter's tensors (B = 0 unless init_lora_weights is false). */
  protected abstract createTensors(name: string, config: LoraConfig, seed: string): void;
  /** The adapter's LoRA tensors with PEFT's key suffixes. */
  abstract adapterTensors(name: string): AdapterTensors;
  /** Removes the adapter's tensors from the per-role dicts and disposes them. */
  protected abstract dropTensors(name: string): void;
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
    if (config.use_dora && !this.supportsDora) throw new InvalidArgumentError(`${this.constructor.name}: DoRA is only supported on linear layers here`);
    this.settings.set(name, { r: config.r, loraAlpha: config.lora_alpha, scaling: loraScaling(config), useDora: config.use_dora });
    const dropout = config.lora_dropout > 0 ? new Dropout(config.lora_dropout, { seed: `${seed}/dropout` }) : new Identity();
    dropout.train(this.training); // follow the model's train/eval mode
    this.dropouts.set(name, dropout);
    this.createTensors(name, config, seed);
  }

  protected get supportsDora(): boolean {
    return false;
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
    this.dropTensors(name);
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

  /** W + ΔW (DoRA layers override). */
  protected mergedWeight(name: string, w: Tensor): Tensor {
    return tf.tidy(() => tf.add(w, this.deltaWeight(name)));
  }

  protected unmergedWeight(name: string, w: Tensor): Tensor {
    return tf.tidy(() => tf.sub(w, this.deltaWeight(name)));
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
      this.dropTensors(name);
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
