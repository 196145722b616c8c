import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Conv2d, Linear, Module } from '@nutshell/nn';
import { computeQParams } from '../qparams.js';
import { PackedWeight } from '../model/packed-weight.js';
import { QuantizedConv2d, QuantizedLinear, convGeometry, makeConv2d, type ActivationQuant } from '../model/modules.js';
import { quantizableLayers, replaceModule } from '../model/quantize-model.js';
import type { FanInFanOutLayer } from '../model/fan-in-fan-out.js';
import { RecipeError, normalizeRecipe, specFor, type NamePattern } from '../model/recipe.js';
import { fakeQuantSTE, lsqFakeQuant, lsqInitStep } from './fake-quant.js';

export interface QatConfig {
  /**
   * Weight bits, 2–8 (symmetric, per output channel, codes −(2^(b−1)−1)…2^(b−1)−1). Default 4.
   * Converted layers store b ≤ 4 in int4 containers and b ≥ 5 in int8 (the codes keep the narrow range).
   */
  bits?: number;
  /** 'ste': scale from the running weight absmax, straight-through rounding; 'lsq': learned step. Default 'ste'. */
  method?: 'ste' | 'lsq';
  /** Also fake-quantize layer inputs to uint8 (moving-average min/max, PyTorch's default 0.01). */
  activations?: boolean;
  averagingConstant?: number;
  /** Layers to leave in float (exact paths or RegExps). */
  skip?: NamePattern[];
}

interface QatState {
  bits: number;
  method: 'ste' | 'lsq';
  activations: boolean;
  averagingConstant: number;
  frozen: boolean;
}

const qmaxOf = (bits: number) => 2 ** (bits - 1) - 1;

/** Shared fake-quant logic of QatLinear and QatConv2d (weights [out, …], one scale per output channel). */
class FakeQuantParts {
  frozenScale: Tensor | null = null;
  constructor(readonly state: QatState, readonly step: Variable | null, readonly inputMin: Variable | null, readonly inputMax: Variable | null) {}

  /** Per-channel scale shaped to broadcast against the weight. */
  steScale(w: Tensor): Tensor {
    if (this.frozenScale) return this.frozenScale;
    return tf.tidy(() => {
      const absmax = tf.max(tf.abs(tf.reshape(w, [w.shape[0]!, -1])), 1);
      return tf.reshape(tf.maximum(tf.div(absmax, qmaxOf(this.state.bits)), 2 ** -23), [w.shape[0]!, ...w.shape.slice(1).map(() => 1)]);
    });
  }

  weight(w: Tensor): Tensor {
    const qp = qmaxOf(this.state.bits);
    if (this.step) return lsqFakeQuant(w, this.step, -qp, qp, 1 / Math.sqrt((w.size / w.shape[0]!) * qp));
    const s = this.steScale(w);
    const out = fakeQuantSTE(w, s, 0, -qp, qp);
    if (s !== this.frozenScale) s.dispose();
    return out;
  }

  input(x: Tensor, training: boolean): Tensor {
    if (!this.inputMin || !this.inputMax) return x;
    const lo = this.inputMin;
    const hi = this.inputMax;
    if (training && !this.state.frozen) {
      const c = this.state.averagingConstant;
      const first = lo.dataSync()[0]! > hi.dataSync()[0]!;
      tf.tidy(() => {
        const bmin = tf.min(x);
        const bmax = tf.max(x);
        lo.assign(first ? bmin : tf.add(lo, tf.mul(tf.sub(bmin, lo), c)));
        hi.assign(first ? bmax : tf.add(hi, tf.mul(tf.sub(bmax, hi), c)));
      });
    }
    const qp = this.activationQParams();
    if (!qp) return x;
    return fakeQuantSTE(x, qp.scale, qp.zeroPoint, 0, 255);
  }

  /** uint8 affine qparams of the observed input range (PyTorch's formula), or null before any data. */
  activationQParams(): { scale: number; zeroPoint: number } | null {
    if (!this.inputMin || !this.inputMax) return null;
    const lo = this.inputMin.dataSync()[0]!;
    const hi = this.inputMax.dataSync()[0]!;
    if (!(lo <= hi)) return null;
    return computeQParams(lo, hi, { dtype: 'uint8' });
  }

  /** Per-output-channel scales as a flat array (what conversion packs with). */
  scales(w: Tensor): Float32Array {
    const s = this.step ? tf.abs(this.step) : this.steScale(w);
    const out = Float32Array.from(s.dataSync());
    if (s !== this.frozenScale) s.dispose();
    return out;
  }

  freeze(w: Tensor): void {
    this.state.frozen = true;
    if (!this.step && !this.frozenScale) this.frozenScale = tf.keep(this.steScale(w));
  }

  dispose(): void {
    this.frozenScale?.dispose();
    this.frozenScale = null;
  }
}

/** `weightOutIn`: the layer's weight with output channels first (what the per-channel scales run over). */
function register(m: Module, weightOutIn: Tensor, state: QatState): FakeQuantParts {
  const reg = m as unknown as { registerParameter(n: string, t: Tensor): Variable; registerBuffer(n: string, t: Tensor): Variable };
  const step = state.method === 'lsq' ? reg.registerParameter('weight_step', lsqInitStep(weightOutIn, qmaxOf(state.bits), true)) : null;
  // min > max marks "no data yet".
  const lo = state.activations ? reg.registerBuffer('input_min', tf.scalar(Infinity)) : null;
  const hi = state.activations ? reg.registerBuffer('input_max', tf.scalar(-Infinity)) : null;
  return new FakeQuantParts(state, step, lo, hi);
}

/** A Linear trained through fake quantization; parameter names stay `weight` / `bias` (+ `weight_step` for LSQ). */
export class QatLinear extends Linear {
  readonly fq: FakeQuantParts;
  constructor(source: Linear, readonly qat: QatState) {
    super(source.inFeatures, source.outFeatures, { bias: source.bias !== null, seed: 0 });
    tf.tidy(() => {
      this.weight.assign(source.weight);
      if (this.bias && source.bias) this.bias.assign(source.bias);
    });
    this.fq = register(this, this.weight, qat);
  }
  override forward(x: Tensor): Tensor {
    return tf.tidy(() => this.forwardWithWeight(this.fq.input(x, this.training), this.fq.weight(this.weight)));
  }
  protected override disposeExtra(): void {
    this.fq.dispose();
  }
}

/** A Conv2d trained through fake quantization. */
export class QatConv2d extends Conv2d {
  readonly fq: FakeQuantParts;
  constructor(source: Conv2d, readonly qat: QatState) {
    const g = convGeometry(source);
    const tmp = makeConv2d(g, g.outChannels, g.inChannels, source.bias !== null);
    const [t, , l] = g.padding;
    tmp.dispose();
    super(g.inChannels, g.outChannels, g.kernelSize, { stride: g.stride, dilation: g.dilation, groups: g.groups, dataFormat: g.dataFormat, padding: [t, l], bias: source.bias !== null, seed: 0 });
    tf.tidy(() => {
      this.weight.assign(source.weight);
      if (this.bias && source.bias) this.bias.assign(source.bias);
    });
    this.fq = register(this, this.weight, qat);
  }
  override forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      // Input fake-quant is per tensor, so the layout does not matter.
      return this.forwardWithWeight(this.fq.input(x, this.training), this.fq.weight(this.weight));
    });
  }
  protected override disposeExtra(): void {
    this.fq.dispose();
  }
}

/**
 * x·w for x [n, k], w [k, m] with gradients dx = dy·wᵀ and dw = xᵀ·dy built from explicit transposes:
 * tfjs' own matMul gradient uses transposed matMuls, which are several times slower on the wasm backend.
 */
function matMulPlain(x: Tensor, w: Tensor): Tensor {
  const f = tf.customGrad(((a: Tensor, b: Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.matMul(dy, tf.transpose(saved[1]!)), tf.matMul(tf.transpose(saved[0]!), dy)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: Tensor, b: Tensor) => Tensor;
  return f(x, w);
}

/**
 * A fan-in-fan-out linear layer (GPT-2 `Conv1D`: weight [in, out], y = x·W + b) trained through fake
 * quantization. The parameter stays `weight` [in, out] (state dicts keep the source layout); scales
 * run per output channel, i.e. per column of W, as QuantizedLinear packs the transposed weight.
 */
export class QatFanInFanOut extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;
  readonly fq: FakeQuantParts;
  /** Recognised as a linear layer by reports and adapters (same flag as the source layer). */
  readonly fanInFanOut = true as const;
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(source: FanInFanOutLayer, readonly qat: QatState) {
    super();
    [this.inFeatures, this.outFeatures] = source.weight.shape as [number, number];
    this.weight = this.registerParameter('weight', tf.clone(source.weight));
    this.bias = source.bias ? this.registerParameter('bias', tf.clone(source.bias)) : null;
    const t = tf.transpose(this.weight);
    this.fq = register(this, t, qat);
    t.dispose();
  }
  /** The weight as [out, in] (caller disposes). */
  weightOutIn(): Tensor {
    return tf.transpose(this.weight);
  }
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) throw new InvalidArgumentError(`QatFanInFanOut: input must be [..., ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]);
      // Fake-quantized as [out, in] (per-row scales), multiplied back in the [in, out] layout.
      let y = matMulPlain(this.fq.input(flat, this.training), tf.transpose(this.fq.weight(tf.transpose(this.weight))));
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
  protected override disposeExtra(): void {
    this.fq.dispose();
  }
}

function qatState(config: QatConfig): QatState {
  const bits = config.bits ?? 4;
  const method = config.method ?? 'ste';
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new RecipeError(`QAT bits must be an integer in [2, 8], got ${JSON.stringify(bits)}`);
  if (method !== 'ste' && method !== 'lsq') throw new RecipeError(`QAT method must be ste or lsq, got ${JSON.stringify(method)}`);
  const c = config.averagingConstant ?? 0.01;
  if (!(c > 0 && c <= 1)) throw new RecipeError(`averagingConstant must be in (0, 1], got ${c}`);
  return { bits, method, activations: Boolean(config.activations), averagingConstant: c, frozen: false };
}

/**
 * Swaps every Linear, Conv2d and fan-in-fan-out layer (GPT-2 Conv1D) (except `skip`) for its
 * fake-quantized QAT twin, in place, keeping the weights and parameter names. Build the optimizer after this call (the parameters are new variables).
 */
export function prepareQat(model: Module, config: QatConfig = {}): string[] {
  const recipe = normalizeRecipe({ default: 'int8', skip: config.skip ?? [] });
  const done: string[] = [];
  for (const [name, m, kind] of quantizableLayers(model)) {
    if (kind === 'embedding' || !specFor(recipe, name, kind)) continue;
    const q = m instanceof Linear
      ? new QatLinear(m, qatState(config))
      : m instanceof Conv2d
        ? new QatConv2d(m, qatState(config))
        : new QatFanInFanOut(m as FanInFanOutLayer, qatState(config));
    replaceModule(model, name, q).dispose();
    done.push(name);
  }
  if (done.length === 0) throw new RecipeError('prepareQat: the model has no Linear or Conv2d layer to train');
  return done;
}

type QatModule = QatLinear | QatConv2d | QatFanInFanOut;
const qatModules = (model: Module) =>
  model.namedModules().filter((e): e is [string, QatModule] => e[1] instanceof QatLinear || e[1] instanceof QatConv2d || e[1] instanceof QatFanInFanOut);

/** The weight with output channels first; a new tensor for fan-in-fan-out layers (dispose it when `owned`). */
function outFirst(m: QatModule): { w: Tensor; owned: boolean } {
  return m instanceof QatFanInFanOut ? { w: m.weightOutIn(), owned: true } : { w: m.weight, owned: false };
}

/** Stops range tracking: activation ranges stay, STE weight scales are captured as they are now. */
export function freezeObservers(model: Module): number {
  const list = qatModules(model);
  for (const [, m] of list) {
    const { w, owned } = outFirst(m);
    m.fq.freeze(w);
    if (owned) w.dispose();
  }
  return list.length;
}

/**
 * Replaces the QAT layers by packed QuantizedLinear / QuantizedConv2d: int4/int8 per output channel
 * with the scales training used (STE absmax or the learned LSQ step), so the converted layer computes
 * what the fake-quantized one did; with `activations`, inputs become static uint8.
 */
export function convertQat(model: Module): string[] {
  const out: string[] = [];
  for (const [name, m] of qatModules(model)) {
    const bits = m.qat.bits;
    const qp = qmaxOf(bits);
    const { w, owned } = outFirst(m);
    const scales = m.fq.scales(w);
    const rowLen = w.size / w.shape[0]!;
    // Clamp to ±qp·s first so the packed codes stay in the narrow range training used.
    const clipped = tf.tidy(() => {
      const s = tf.reshape(tf.tensor1d(scales), [scales.length, ...w.shape.slice(1).map(() => 1)]);
      return tf.clipByValue(tf.div(w, s), -qp, qp).mul(s);
    });
    if (owned) w.dispose();
    const packed = PackedWeight.quantize(clipped, { scheme: bits > 4 ? 'int8' : 'int4', groupSize: rowLen, symmetric: true, scale: scales });
    clipped.dispose();
    const qa = m.fq.activationQParams();
    const activation: ActivationQuant = qa ? { mode: 'static', ...qa } : { mode: 'none' };
    const q = m instanceof QatConv2d
      ? new QuantizedConv2d(convGeometry(m), packed, m.bias, { activation })
      : new QuantizedLinear(m.inFeatures, m.outFeatures, packed, m.bias, { activation, fromFanInFanOut: m instanceof QatFanInFanOut });
    replaceModule(model, name, q).dispose();
    out.push(name);
  }
  if (out.length === 0) throw new InvalidArgumentError('convertQat: no QAT layers in the model (call prepareQat first)');
  return out;
}
