import { InvalidArgumentError, rngFor, tf, type Tensor } from '@nutshell/core';
import { normal, type Seed } from './init.js';
import { Conv2d } from './layers/conv.js';
import { Linear } from './layers/linear.js';
import { ConvTranspose2d } from './layers/conv.js';
import { Module, type Parameter } from './module.js';

const paramsOf = (p: Parameter[] | Module) => (p instanceof Module ? p.parameters({ trainableOnly: true }) : p);

/** coef · Σ|p| over the parameters (add it to the loss). */
export function l1Penalty(params: Parameter[] | Module, coef: number): Tensor {
  return tf.tidy(() => tf.mul(coef, tf.addN(paramsOf(params).map((p) => tf.sum(tf.abs(p))))));
}

/** coef · Σp² over the parameters (SGD weight decay λ equals l2Penalty with coef λ/2). */
export function l2Penalty(params: Parameter[] | Module, coef: number): Tensor {
  return tf.tidy(() => tf.mul(coef, tf.addN(paramsOf(params).map((p) => tf.sum(tf.square(p))))));
}

function normalize(v: Float32Array, eps: number): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.max(Math.sqrt(s), eps);
  return v.map((x) => x / n);
}

/**
 * Spectral normalisation (Miyato et al.; torch.nn.utils.spectral_norm) of a Linear or Conv2d:
 * the layer runs with weight / σ, σ estimated by power iteration on the weight reshaped to
 * [out, −1]. The vectors u, v persist as buffers (`weight_u`, `weight_v`) and advance in training
 * mode only; as in PyTorch, gradients do not flow through them.
 */
export class SpectralNorm extends Module {
  private readonly u: import('@nutshell/core').Variable;
  private readonly v: import('@nutshell/core').Variable;
  constructor(readonly module: Linear | Conv2d, readonly options: { powerIterations?: number; eps?: number; seed?: Seed } = {}) {
    super();
    if (!(module instanceof Linear || module instanceof Conv2d)) throw new InvalidArgumentError('SpectralNorm: expected a Linear or Conv2d layer');
    this.registerModule('module', module);
    const rows = module.weight.shape[0]!;
    const cols = module.weight.size / rows;
    const rng = rngFor(options.seed);
    const eps = options.eps ?? 1e-12;
    const u0 = normal([rows], 0, 1, rng);
    const v0 = normal([cols], 0, 1, rng);
    this.u = this.registerBuffer('weight_u', tf.tensor(normalize(u0.dataSync() as Float32Array, eps)));
    this.v = this.registerBuffer('weight_v', tf.tensor(normalize(v0.dataSync() as Float32Array, eps)));
    u0.dispose();
    v0.dispose();
  }

  /** Runs the power iteration on the current weight (outside autodiff: plain numbers). */
  private powerIterate(): void {
    const w = this.module.weight;
    const rows = w.shape[0]!;
    const cols = w.size / rows;
    const W = w.dataSync();
    const eps = this.options.eps ?? 1e-12;
    let u = this.u.dataSync() as Float32Array;
    let v = this.v.dataSync() as Float32Array;
    for (let it = 0; it < (this.options.powerIterations ?? 1); it++) {
      const nv = new Float32Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) nv[c]! += W[r * cols + c]! * u[r]!;
      v = normalize(nv, eps);
      const nu = new Float32Array(rows);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) nu[r]! += W[r * cols + c]! * v[c]!;
      u = normalize(nu, eps);
    }
    tf.tidy(() => {
      this.u.assign(tf.tensor(u));
      this.v.assign(tf.tensor(v));
    });
  }

  /** Current σ estimate uᵀ W v. */
  sigma(): number {
    const s = tf.tidy(() => tf.sum(tf.mul(this.u, tf.reshape(tf.matMul(tf.reshape(this.module.weight, [this.u.shape[0]!, -1]), tf.reshape(this.v, [-1, 1])), [-1]))));
    const out = s.dataSync()[0]!;
    s.dispose();
    return out;
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.powerIterate();
    return tf.tidy(() => {
      const w = this.module.weight;
      const wm = tf.reshape(w, [this.u.shape[0]!, -1]);
      const sigma = tf.sum(tf.mul(this.u, tf.reshape(tf.matMul(wm, tf.reshape(this.v, [-1, 1])), [-1])));
      return this.module.forwardWithWeight(x, tf.div(w, sigma));
    });
  }
}

export interface SpectralNormOptions {
  /** The parameter to normalise (default 'weight'). */
  name?: string;
  powerIterations?: number;
  eps?: number;
  /** The output axis, moved first before flattening (default 0; 1 for ConvTranspose2d, as in PyTorch). */
  dim?: number;
  seed?: Seed;
}

/**
 * torch.nn.utils.spectral_norm, in place, on any module whose forward reads `this[name]`: the
 * parameter becomes `<name>_orig` and buffers `<name>_u`, `<name>_v` are added — the same state-dict
 * keys PyTorch writes, so spectrally normalised PyTorch checkpoints load as they are. Each forward
 * (power iteration first, in training mode only) runs with `<name>_orig / σ`. Returns the module.
 */
export function spectralNorm<M extends Module>(module: M, options: SpectralNormOptions = {}): M {
  const name = options.name ?? 'weight';
  const owner = module as unknown as Record<string, unknown> & { registerBuffer: (n: string, t: Tensor) => import('@nutshell/core').Variable; forward: (...a: unknown[]) => unknown };
  const w = module.namedParameters({ recurse: false }).find(([n]) => n === name)?.[1];
  if (!w) throw new InvalidArgumentError(`spectralNorm: ${module.constructor.name} has no parameter '${name}'`);
  if (owner[name] !== w) throw new InvalidArgumentError(`spectralNorm: ${module.constructor.name}.${name} is not the registered parameter; its forward must read this.${name}`);
  const dim = options.dim ?? (module instanceof ConvTranspose2d ? 1 : 0);
  if (!Number.isInteger(dim) || dim < 0 || dim >= w.rank) throw new InvalidArgumentError(`spectralNorm: dim must be an axis of the ${w.rank}-d weight, got ${dim}`);
  const perm = [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)];
  const rows = w.shape[dim]!;
  const cols = w.size / rows;
  const eps = options.eps ?? 1e-12;
  const rng = rngFor(options.seed);
  const u0 = normal([rows], 0, 1, rng);
  const v0 = normal([cols], 0, 1, rng);
  module.renameParameter(name, `${name}_orig`);
  const u = owner.registerBuffer.call(module, `${name}_u`, tf.tensor(normalize(u0.dataSync() as Float32Array, eps)));
  const v = owner.registerBuffer.call(module, `${name}_v`, tf.tensor(normalize(v0.dataSync() as Float32Array, eps)));
  u0.dispose();
  v0.dispose();
  const matrix = () => tf.reshape(dim === 0 ? w : tf.transpose(w, perm), [rows, cols]);
  const iterate = () => {
    const W = tf.tidy(matrix);
    const data = W.dataSync();
    W.dispose();
    let uu = u.dataSync() as Float32Array;
    let vv = v.dataSync() as Float32Array;
    for (let it = 0; it < (options.powerIterations ?? 1); it++) {
      const nv = new Float32Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) nv[c]! += data[r * cols + c]! * uu[r]!;
      vv = normalize(nv, eps);
      const nu = new Float32Array(rows);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) nu[r]! += data[r * cols + c]! * vv[c]!;
      uu = normalize(nu, eps);
    }
    tf.tidy(() => {
      u.assign(tf.tensor(uu));
      v.assign(tf.tensor(vv));
    });
  };
  const inner = owner.forward;
  const hadOwn = Object.prototype.hasOwnProperty.call(module, name);
  owner.forward = function (this: unknown, ...args: unknown[]) {
    if (module.training) iterate();
    return tf.tidy(() => {
      const sigma = tf.sum(tf.mul(u, tf.reshape(tf.matMul(matrix(), tf.reshape(v, [-1, 1])), [-1])));
      const normed = tf.div(w, sigma);
      Object.defineProperty(module, name, { value: normed, configurable: true, writable: true, enumerable: true });
      try {
        return inner.apply(module, args) as never;
      } finally {
        if (hadOwn) Object.defineProperty(module, name, { value: w, configurable: true, writable: true, enumerable: true });
        else delete owner[name];
      }
    });
  };
  return module;
}
