import { FormatError, InvalidArgumentError, ShapeError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module } from '@nutshell/nn';
import { hasPatterns, layerConfig, loraConfig, type LoraConfig, type LoraConfigInput } from './config.js';
import { LoraConv2d } from './lora-conv2d.js';
import { LoraEmbedding } from './lora-embedding.js';
import { LoraLayer } from './lora-layer.js';
import { LoraLinear, isLinearLike } from './lora-linear.js';
import { lowRankSvd } from './svd.js';
import { matchesPattern, resolveTargets, walkModules } from './targets.js';
import { isQuantizedLinear } from './quantized-base.js';

/** PEFT's prefix of every key in adapter_model.safetensors. */
export const PEFT_PREFIX = 'base_model.model.';

export interface LoraModelOptions {
  adapterName?: string;
  /** Seed of the adapters' initialisation (each adapter and layer forks from it). */
  seed?: number | string;
}

export type CombinationType = 'linear' | 'cat' | 'svd';

interface SavedModule {
  module: Module;
  original: Map<string, Tensor>;
  copies: Map<string, Map<string, Tensor>>;
  /** Whose values the module holds now: an adapter name, or null for the original. */
  live: string | null;
}

const NAME_RE = /^[A-Za-z_]\w*$/;

/**
 * A model with LoRA adapters injected in place (PEFT's LoraModel / PeftModel): targeted layers are
 * swapped for LoRA wrappers, base parameters are frozen, and named adapters can be added, switched,
 * disabled, combined, merged, saved and deleted without touching the base weights.
 */
export class LoraModel<M extends Module = Module> {
  readonly peftConfig = new Map<string, LoraConfig>();
  private active: string[] = [];
  private disabled = false;
  private readonly saved = new Map<string, SavedModule>();
  private readonly seed: string;

  /** Wraps `model` (frozen) and injects `config` as adapter 'default'; `null` injects nothing yet. */
  constructor(readonly model: M, config: LoraConfigInput | null, options: LoraModelOptions = {}) {
    this.seed = String(options.seed ?? 0);
    model.requiresGrad(false);
    if (config) {
      const name = options.adapterName ?? 'default';
      this.addAdapter(name, config);
      this.setAdapter(name);
    }
  }

  /** Runs the wrapped model. */
  forward(...args: unknown[]): any {
    return (this.model.forward as (...a: unknown[]) => unknown)(...args);
  }

  get activeAdapter(): string {
    if (!this.active.length) throw new InvalidArgumentError('LoRA: no active adapter');
    return this.active[0]!;
  }

  get activeAdapters(): string[] {
    return [...this.active];
  }

  /** The LoRA layers with their paths. */
  loraLayers(): [string, LoraLayer][] {
    return walkModules(this.model).filter((e): e is [string, LoraLayer] => e[1] instanceof LoraLayer);
  }

  /** Injects a new (inactive) adapter; `setAdapter` activates it. */
  addAdapter(name: string, input: LoraConfigInput): void {
    if (!NAME_RE.test(name)) throw new InvalidArgumentError(`LoRA: adapter names must be identifiers, got ${JSON.stringify(name)}`);
    if (this.peftConfig.has(name)) throw new InvalidArgumentError(`LoRA: adapter '${name}' already exists`);
    const config = loraConfig(input);
    const paths = resolveTargets(this.model, config);
    if (config.target_modules === 'all-linear') config.target_modules = paths;
    const added: LoraLayer[] = [];
    try {
      for (const path of paths) {
        let layer = this.model.getModule(path);
        if (!(layer instanceof LoraLayer)) {
          const wrapped = wrap(layer, config);
          wrapped.train(layer.training);
          this.model.setModule(path, wrapped);
          layer = wrapped;
        }
        (layer as LoraLayer).addAdapter(name, layerConfig(config, path), `${this.seed}/${name}/${path}`);
        added.push(layer as LoraLayer);
      }
      this.trackModulesToSave(name, config);
    } catch (e) {
      for (const l of added) l.deleteAdapter(name);
      throw e;
    }
    this.peftConfig.set(name, config);
    this.refresh();
  }

  /** Makes `names` the active adapters (their parameters trainable, the rest frozen). */
  setAdapter(names: string | string[]): void {
    const list = Array.isArray(names) ? names : [names];
    for (const n of list) if (!this.peftConfig.has(n)) throw new InvalidArgumentError(`LoRA: no adapter '${n}' (have ${[...this.peftConfig.keys()].join(', ')})`);
    for (const [, l] of this.loraLayers()) if (l.merged.length) throw new InvalidArgumentError('LoRA: unmerge before switching adapters');
    this.active = [...list];
    this.refresh();
  }

  /** Turns every adapter off (the model computes its base) until `enableAdapters`. */
  disableAdapters(): void {
    this.disabled = true;
    this.refresh();
  }

  enableAdapters(): void {
    this.disabled = false;
    this.refresh();
  }

  /** Runs fn with the adapters off (PEFT's `with model.disable_adapter():`), then turns them back on. */
  withAdaptersDisabled<T>(fn: () => T): T {
    const was = this.disabled;
    this.disableAdapters();
    try {
      return fn();
    } finally {
      if (!was) this.enableAdapters();
    }
  }

  /** Deletes an adapter and frees its tensors; the active set drops it. */
  deleteAdapter(name: string): void {
    if (!this.peftConfig.has(name)) throw new InvalidArgumentError(`LoRA: no adapter '${name}'`);
    for (const [, l] of this.loraLayers()) l.deleteAdapter(name);
    for (const s of this.saved.values()) {
      if (s.live === name) this.loadSaved(s, null);
      const c = s.copies.get(name);
      if (c) for (const t of c.values()) t.dispose();
      s.copies.delete(name);
    }
    this.peftConfig.delete(name);
    this.active = this.active.filter((a) => a !== name);
    if (!this.active.length && this.peftConfig.size) this.active = [[...this.peftConfig.keys()][0]!];
    this.refresh();
  }

  /** Folds adapters (default: the active ones) into the base weights; outputs stay the same. */
  merge(adapterNames: string[] = this.active): void {
    for (const n of adapterNames) if (!this.peftConfig.has(n)) throw new InvalidArgumentError(`LoRA: no adapter '${n}'`);
    for (const [, l] of this.loraLayers()) l.merge(adapterNames);
  }

  unmerge(): void {
    for (const [, l] of this.loraLayers()) l.unmerge();
  }

  /**
   * Merges the adapters into the base and removes the LoRA layers, returning the plain model.
   * `dequantize` turns quantized (NF4) bases into fp32 Linear layers (an exact merge) instead of re-quantizing.
   */
  mergeAndUnload(options: { adapterNames?: string[]; dequantize?: boolean } = {}): M {
    const names = options.adapterNames ?? this.active;
    for (const [path, l] of this.loraLayers()) {
      if (options.dequantize && isQuantizedLinear(l.baseLayer)) {
        const q = l.baseLayer;
        const lin = new Linear(q.inFeatures, q.outFeatures, { bias: q.bias !== null });
        const w = q.dequantizeWeight();
        lin.weight.assign(w);
        w.dispose();
        if (q.bias && lin.bias) lin.bias.assign(q.bias);
        // Fold the deltas into the fp32 weight: no re-quantization error.
        for (const n of names) if (l.hasAdapter(n)) {
          const d = l.deltaWeight(n);
          tf.tidy(() => lin.weight.assign(tf.add(lin.weight, d)));
          d.dispose();
        }
        l.releaseAdapters();
        q.dispose();
        this.model.setModule(path, lin);
        continue;
      }
      l.merge(names.filter((n) => l.hasAdapter(n)));
      l.releaseAdapters();
      this.model.setModule(path, l.baseLayer);
    }
    this.dropSaved(true);
    this.peftConfig.clear();
    this.active = [];
    return this.model;
  }

  /** Removes the LoRA layers without merging: the original base model back. */
  unload(): M {
    for (const [path, l] of this.loraLayers()) {
      l.unmerge();
      l.releaseAdapters();
      this.model.setModule(path, l.baseLayer);
    }
    this.dropSaved(false);
    this.peftConfig.clear();
    this.active = [];
    return this.model;
  }

  /** Trainable and total parameter counts (NF4 weights count as parameters too). */
  trainableParameters(): { trainable: number; total: number; percent: number } {
    const trainable = this.model.numParameters({ trainableOnly: true });
    let total = this.model.numParameters();
    for (const [, m] of this.model.namedModules()) if (isQuantizedLinear(m)) total += m.inFeatures * m.outFeatures;
    return { trainable, total, percent: (100 * trainable) / total };
  }

  /**
   * The adapter's tensors under PEFT's key names (`base_model.model.<path>.lora_A.weight`, …, no
   * adapter name), plus biases (bias 'all' / 'lora_only') and modules_to_save. The values are the
   * live variables (or stored copies): do not dispose them.
   */
  adapterStateDict(name: string = this.activeAdapter): Record<string, Tensor> {
    const config = this.peftConfig.get(name);
    if (!config) throw new InvalidArgumentError(`LoRA: no adapter '${name}'`);
    const out: Record<string, Tensor> = {};
    for (const [path, l] of this.loraLayers()) {
      if (!l.hasAdapter(name)) continue;
      for (const [suffix, v] of l.adapterTensors(name)) out[`${PEFT_PREFIX}${path}.${suffix}`] = v;
    }
    if (config.bias === 'all') {
      for (const [k, v] of this.model.namedParameters()) if (/(^|\.)bias$/.test(k)) out[`${PEFT_PREFIX}${k}`] = v;
    } else if (config.bias === 'lora_only') {
      for (const [path, l] of this.loraLayers()) {
        const b = l.hasAdapter(name) ? (l.baseLayer as { bias?: Variable | null }).bias : null;
        if (b) out[`${PEFT_PREFIX}${path}.base_layer.bias`] = b;
      }
    }
    for (const [path, s] of this.saved) {
      const values = s.live === name ? new Map(s.module.namedParameters()) : s.copies.get(name);
      if (!values) continue;
      for (const [k, v] of values) out[`${PEFT_PREFIX}${path}.${k}`] = v;
    }
    return out;
  }

  /**
   * Adds adapter `name` from a config and PEFT-keyed tensors (the caller keeps ownership). Typed
   * errors: ShapeError for a tensor of the wrong shape, FormatError for missing keys or keys naming
   * modules this model does not have (an adapter made for another base).
   */
  loadAdapterTensors(name: string, config: LoraConfigInput, tensors: Record<string, Tensor>, options: { activate?: boolean } = {}): void {
    const cfg = loraConfig(config);
    const keys = Object.keys(tensors);
    const strip = (k: string) => k.replace(/\.default(?=\.|$)/, '');
    const given = new Map(keys.map((k) => [strip(k), tensors[k]!]));
    const foreign = [...given.keys()].filter((k) => !k.startsWith(PEFT_PREFIX));
    if (foreign.length) throw new FormatError('peft adapter', `keys must start with '${PEFT_PREFIX}', got ${foreign.slice(0, 3).join(', ')}`);
    try {
      this.addAdapter(name, cfg);
    } catch (e) {
      if (e instanceof InvalidArgumentError && /not found|matched no module/.test(e.message)) {
        throw new FormatError('peft adapter', `the adapter does not fit this model (made for another base?): ${e.message}`);
      }
      throw e;
    }
    try {
      const own = this.adapterStateDict(name);
      const missing = Object.keys(own).filter((k) => !given.has(k));
      const unexpected = [...given.keys()].filter((k) => !(k in own));
      if (unexpected.length) throw new FormatError('peft adapter', `keys for modules this model does not have (adapter for another base?): ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', …' : ''}`);
      if (missing.length) throw new FormatError('peft adapter', `missing keys: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
      for (const [k, v] of Object.entries(own)) {
        const t = given.get(k)!;
        if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
          throw new ShapeError(`peft adapter: '${k}' has shape [${t.shape.join(', ')}], the model expects [${v.shape.join(', ')}]`);
        }
      }
      for (const [k, v] of Object.entries(own)) {
        const t = given.get(k)!;
        tf.tidy(() => (v as Variable).assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32')));
      }
    } catch (e) {
      this.deleteAdapter(name);
      throw e;
    }
    if (options.activate ?? true) this.setAdapter(name);
  }

  /**
   * PEFT's add_weighted_adapter. 'linear': A = Σ √(wᵢsᵢ)·Aᵢ, B = Σ √(wᵢsᵢ)·Bᵢ (equal ranks);
   * 'cat': A = concat(wᵢsᵢ·Aᵢ), B = concat(Bᵢ), rank Σ rᵢ (exactly Σ wᵢ·ΔWᵢ); 'svd': the rank-k
   * truncated SVD of Σ wᵢsᵢ·ΔWᵢ (k = svdRank or max rᵢ). The new adapter has lora_alpha = r.
   */
  addWeightedAdapter(adapters: string[], weights: number[], name: string, options: { combinationType?: CombinationType; svdRank?: number } = {}): void {
    if (this.peftConfig.has(name)) throw new InvalidArgumentError(`LoRA: adapter '${name}' already exists`);
    if (!adapters.length || adapters.length !== weights.length) throw new InvalidArgumentError(`LoRA: addWeightedAdapter needs as many weights as adapters, got ${adapters.length} and ${weights.length}`);
    const configs = adapters.map((a) => {
      const c = this.peftConfig.get(a);
      if (!c) throw new InvalidArgumentError(`LoRA: no adapter '${a}'`);
      if (c.use_dora) throw new InvalidArgumentError(`LoRA: addWeightedAdapter does not combine DoRA adapters ('${a}')`);
      // PEFT sizes the combination from the adapters' global r; per-module ranks would not fit it.
      if (hasPatterns(c)) throw new InvalidArgumentError(`LoRA: addWeightedAdapter does not combine adapters with rank_pattern / alpha_pattern ('${a}')`);
      return c;
    });
    const type: CombinationType = adapters.length === 1 ? 'linear' : options.combinationType ?? 'svd';
    const ranks = configs.map((c) => c.r);
    let r: number;
    if (type === 'linear') {
      if (new Set(ranks).size !== 1) throw new InvalidArgumentError(`LoRA: combination 'linear' needs equal ranks, got ${ranks.join(', ')}`);
      r = ranks[0]!;
    } else if (type === 'cat') r = ranks.reduce((a, b) => a + b, 0);
    else if (type === 'svd') r = options.svdRank ?? Math.max(...ranks);
    else throw new InvalidArgumentError(`LoRA: unknown combination type ${JSON.stringify(type)}`);
    const kinds = new Set(configs.map((c) => typeof c.target_modules));
    if (kinds.size > 1) throw new InvalidArgumentError('LoRA: cannot combine adapters whose target_modules mix regex strings and lists');
    const targets = typeof configs[0]!.target_modules === 'string'
      ? configs.map((c) => `(${c.target_modules})`).join('|')
      : [...new Set(configs.flatMap((c) => c.target_modules as string[]))];
    this.addAdapter(name, { ...configs[0]!, r, lora_alpha: r, rank_pattern: {}, alpha_pattern: {}, use_rslora: false, target_modules: targets, init_lora_weights: false });
    for (const [, l] of this.loraLayers()) {
      if (!l.hasAdapter(name)) continue;
      const target = l.adapterTensors(name);
      const [vA, vB] = [target[0]![1], target[1]![1]];
      const present = adapters.map((a, i) => ({ a, w: weights[i]! })).filter(({ a }) => l.hasAdapter(a));
      const [A, B] = tf.tidy(() => combine(l, present, type, r, vA.shape, vB.shape));
      vA.assign(A);
      vB.assign(B);
      tf.dispose([A, B]);
    }
  }

  /** Marks parameters trainable for the active adapters and syncs modules_to_save. */
  private refresh(): void {
    for (const [, l] of this.loraLayers()) {
      l.activeAdapters = this.disabled ? [] : this.active.filter((a) => l.hasAdapter(a));
      l.disabled = this.disabled;
    }
    for (const s of this.saved.values()) {
      const want = this.disabled ? null : this.active.find((a) => s.copies.has(a)) ?? null;
      if (s.live !== want) this.loadSaved(s, want);
    }
    this.model.requiresGrad(false);
    if (this.disabled) return;
    for (const a of this.active) {
      const c = this.peftConfig.get(a);
      if (!c || c.inference_mode) continue;
      for (const [, l] of this.loraLayers()) if (l.hasAdapter(a)) for (const [, v] of l.adapterTensors(a)) v.trainable = true;
      if (c.bias !== 'none') for (const [k, v] of Object.entries(this.adapterStateDict(a))) if (k.endsWith('.bias')) (v as Variable).trainable = true;
      for (const s of this.saved.values()) if (s.live === a) s.module.requiresGrad(true);
    }
  }

  private trackModulesToSave(name: string, config: LoraConfig): void {
    if (!config.modules_to_save?.length) return;
    const hits = walkModules(this.model).filter(([p, m]) => !(m instanceof LoraLayer) && matchesPattern(config.modules_to_save!, p));
    if (!hits.length) throw new InvalidArgumentError(`LoRA: modules_to_save ${JSON.stringify(config.modules_to_save)} matched no module`);
    for (const [path, module] of hits) {
      let s = this.saved.get(path);
      if (!s) {
        s = { module, original: new Map(module.namedParameters().map(([k, v]) => [k, tf.clone(v)])), copies: new Map(), live: null };
        this.saved.set(path, s);
      }
      s.copies.set(name, new Map([...s.original].map(([k, v]) => [k, tf.clone(v)])));
    }
  }

  /** Swaps a modules_to_save module's values: the live ones go back to their owner's slot. */
  private loadSaved(s: SavedModule, want: string | null): void {
    const slot = (who: string | null) => (who === null ? s.original : s.copies.get(who));
    const current = slot(s.live);
    for (const [k, v] of s.module.namedParameters()) {
      if (current) {
        current.get(k)?.dispose();
        current.set(k, tf.clone(v));
      }
      const next = slot(want)?.get(k);
      if (next) v.assign(next);
    }
    s.live = want;
  }

  private dropSaved(keepLive: boolean): void {
    for (const s of this.saved.values()) {
      if (!keepLive && s.live !== null) this.loadSaved(s, null);
      for (const t of s.original.values()) t.dispose();
      for (const c of s.copies.values()) for (const t of c.values()) t.dispose();
    }
    this.saved.clear();
  }

  /** Frees the LoRA tensors and stored copies (not the base model). */
  dispose(): void {
    for (const [, l] of this.loraLayers()) l.releaseAdapters();
    this.dropSaved(true);
  }
}

function wrap(m: Module, config: LoraConfig): LoraLayer {
  if (isLinearLike(m)) return new LoraLinear(m, config);
  if (m instanceof Conv2d) return new LoraConv2d(m);
  if (m instanceof Embedding) return new LoraEmbedding(m);
  throw new InvalidArgumentError(`LoRA: cannot adapt a ${m.constructor.name}`);
}

/** A and B of a combined adapter at one layer (inside a tidy). */
function combine(l: LoraLayer, present: { a: string; w: number }[], type: CombinationType, r: number, shapeA: number[], shapeB: number[]): [Tensor, Tensor] {
  if (!present.length) return [tf.zeros(shapeA), tf.zeros(shapeB)];
  const parts = present.map(({ a, w }) => {
    const [[, A], [, B]] = l.adapterTensors(a) as [[string, Variable], [string, Variable]];
    return { A, B, w, s: l.settings.get(a)!.scaling };
  });
  if (type === 'linear') {
    for (const p of parts) if (p.w * p.s < 0) throw new InvalidArgumentError(`LoRA: combination 'linear' takes √(weight·scaling), which needs weight ≥ 0, got ${p.w}`);
    return [tf.addN(parts.map((p) => tf.mul(p.A, Math.sqrt(p.w * p.s)))), tf.addN(parts.map((p) => tf.mul(p.B, Math.sqrt(p.w * p.s))))];
  }
  if (type === 'cat') {
    let A: Tensor = tf.concat(parts.map((p) => tf.mul(p.A, p.w * p.s)), 0);
    let B: Tensor = tf.concat(parts.map((p) => p.B), 1);
    const have = A.shape[0]!;
    if (have < r) {
      A = tf.concat([A, tf.zeros([r - have, ...shapeA.slice(1)])], 0);
      B = tf.concat([B, tf.zeros([shapeB[0]!, r - have, ...shapeB.slice(2)])], 1);
    }
    return [A, B];
  }
  // svd: PEFT weights each delta (which already includes sᵢ) by wᵢ·sᵢ, then factors the sum.
  const Ps: Tensor[] = [];
  const Qs: Tensor[] = [];
  for (const p of parts) {
    // In PEFT's B·A orientation: linear [out, in], conv [out, in·kh·kw], embedding [dim, num].
    const rr = p.A.shape[0]!;
    Ps.push(tf.mul(tf.reshape(p.B, [p.B.shape[0]!, rr]), p.w * p.s * p.s));
    Qs.push(tf.reshape(p.A, [rr, -1]));
  }
  const P = tf.concat(Ps, 1);
  const Q = tf.concat(Qs, 0);
  const [m, R] = P.shape as [number, number];
  const n = Q.shape[1]!;
  const svd = lowRankSvd(Float64Array.from(P.dataSync()), Float64Array.from(Q.dataSync()), m, R, n, r);
  const U = new Float32Array(m * r);
  for (let i = 0; i < m; i++) for (let c = 0; c < r; c++) U[i * r + c] = svd.U[i * r + c]! * svd.S[c]!;
  return [tf.reshape(tf.tensor(Float32Array.from(svd.Vt), [r, n]), shapeA), tf.reshape(tf.tensor(U, [m, r]), shapeB)];
}
