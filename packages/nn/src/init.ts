import { InvalidArgumentError, Rng, rngFor, tf, type Tensor } from '@nutshell/core';

/**
 * Weight initializers with PyTorch's definitions (torch.nn.init). Numbers are drawn in JS from a
 * seeded core `Rng`, so the same seed gives the same weights on every backend.
 */
export type Seed = number | string | Rng;
export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** fan_in / fan_out of a PyTorch-layout weight: [out, in, ...kernel]. */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new InvalidArgumentError(`computeFans: expected a shape of rank ≥ 2, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': { const a = param ?? 0.01; return Math.sqrt(2 / (1 + a * a)); }
    case 'selu': return 3 / 4;
    default: throw new InvalidArgumentError(`calculateGain: unknown nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function fill(shape: readonly number[], f: () => number): Tensor {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = f();
  return tf.tensor(data, [...shape], 'float32');
}

export function uniform(shape: readonly number[], low = 0, high = 1, seed?: Seed): Tensor {
  const rng = rngFor(seed);
  return fill(shape, () => low + (high - low) * rng.uniform());
}

export function normal(shape: readonly number[], mean = 0, std = 1, seed?: Seed): Tensor {
  const rng = rngFor(seed);
  return fill(shape, () => rng.normal(mean, std));
}

/** Normal(mean, std) redrawn until inside [a, b] (absolute bounds, like torch's trunc_normal_). */
export function truncatedNormal(shape: readonly number[], mean = 0, std = 1, a = -2, b = 2, seed?: Seed): Tensor {
  if (!(a < b)) throw new InvalidArgumentError(`truncatedNormal: expected a < b, got a=${a}, b=${b}`);
  const rng = rngFor(seed);
  return fill(shape, () => {
    for (let tries = 0; tries < 1000; tries++) {
      const x = rng.normal(mean, std);
      if (x >= a && x <= b) return x;
    }
    return Math.min(b, Math.max(a, mean));
  });
}

export const zeros = (shape: readonly number[]): Tensor => tf.zeros([...shape]);
export const ones = (shape: readonly number[]): Tensor => tf.ones([...shape]);
export const constant = (shape: readonly number[], value: number): Tensor => tf.fill([...shape], value);

export function xavierUniform(shape: readonly number[], gain = 1, seed?: Seed): Tensor {
  const { fanIn, fanOut } = computeFans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, seed);
}

export function xavierNormal(shape: readonly number[], gain = 1, seed?: Seed): Tensor {
  const { fanIn, fanOut } = computeFans(shape);
  return normal(shape, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), seed);
}

export interface KaimingOptions {
  /** Negative slope for leaky_relu (default 0). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  seed?: Seed;
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = computeFans(shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

export function kaimingUniform(shape: readonly number[], options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, options);
  return uniform(shape, -bound, bound, options.seed);
}

export function kaimingNormal(shape: readonly number[], options: KaimingOptions = {}): Tensor {
  return normal(shape, 0, kaimingStd(shape, options), options.seed);
}

/**
 * (Semi-)orthogonal matrix of shape [rows, prod(rest)] reshaped to `shape`: QR of a Gaussian matrix
 * with the signs of R's diagonal folded in, as in torch.nn.init.orthogonal_.
 */
export function orthogonal(shape: readonly number[], gain = 1, seed?: Seed): Tensor {
  if (shape.length < 2) throw new InvalidArgumentError(`orthogonal: expected rank ≥ 2, got [${shape.join(', ')}]`);
  const rng = rngFor(seed);
  const rows = shape[0]!;
  const cols = size(shape) / rows;
  const transpose = rows < cols;
  const m = transpose ? cols : rows; // tall matrix m × n
  const n = transpose ? rows : cols;
  const a = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.normal()));
  // Modified Gram–Schmidt on columns gives Q (m × n) with R's diagonal positive, which equals
  // Householder QR followed by torch's sign correction.
  const q = Array.from({ length: m }, () => new Float64Array(n));
  for (let j = 0; j < n; j++) {
    const v = a.map((row) => row[j]!);
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q[i]![k]! * v[i]!;
      for (let i = 0; i < m; i++) v[i]! -= dot * q[i]![k]!;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
    for (let i = 0; i < m; i++) q[i]![j] = v[i]! / norm;
  }
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = gain * (transpose ? q[c]![r]! : q[r]![c]!);
  return tf.tensor(data, [...shape], 'float32');
}

/** PyTorch's default for Linear/Conv weights: kaiming_uniform(a=√5) = U(±1/√fan_in). */
export function defaultWeight(shape: readonly number[], seed?: Seed): Tensor {
  return kaimingUniform(shape, { a: Math.sqrt(5), seed });
}

/** PyTorch's default for Linear/Conv biases: U(±1/√fan_in). */
export function defaultBias(length: number, fanIn: number, seed?: Seed): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([length], -bound, bound, seed);
}

export type Initializer = (shape: readonly number[], seed?: Seed) => Tensor;

/** Initializers by name, for configs: 'xavier_uniform', 'kaiming_normal', 'zeros', … */
export const initializers: Record<string, Initializer> = {
  zeros: (s) => zeros(s),
  ones: (s) => ones(s),
  normal: (s, seed) => normal(s, 0, 1, seed),
  truncated_normal: (s, seed) => truncatedNormal(s, 0, 1, -2, 2, seed),
  xavier_uniform: (s, seed) => xavierUniform(s, 1, seed),
  xavier_normal: (s, seed) => xavierNormal(s, 1, seed),
  kaiming_uniform: (s, seed) => kaimingUniform(s, { nonlinearity: 'relu', seed }),
  kaiming_normal: (s, seed) => kaimingNormal(s, { nonlinearity: 'relu', seed }),
  orthogonal: (s, seed) => orthogonal(s, 1, seed),
  default: (s, seed) => defaultWeight(s, seed),
};
