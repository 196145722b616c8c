import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Conv2d, ConvTranspose2d, Linear, type Module } from '@nutshell/nn';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, string: NaN };

/** Parameter count and exact bytes per dtype (buffers such as BatchNorm running stats counted separately). */
export function parameterStats(model: Module): { parameters: number; trainable: number; buffers: number; bytesByDtype: Record<string, number>; bytes: number } {
  const bytesByDtype: Record<string, number> = {};
  let parameters = 0;
  let trainable = 0;
  let buffers = 0;
  const add = (t: Tensor) => {
    bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] ?? 0) + t.size * (DTYPE_BYTES[t.dtype] ?? NaN);
  };
  for (const [, p] of model.namedParameters()) {
    parameters += p.size;
    if (p.trainable) trainable += p.size;
    add(p);
  }
  for (const [, b] of model.namedBuffers()) {
    buffers += b.size;
    add(b);
  }
  return { parameters, trainable, buffers, bytesByDtype, bytes: Object.values(bytesByDtype).reduce((a, b) => a + b, 0) };
}

export interface FlopCount {
  /** Multiply–accumulates in Linear / Conv2d / ConvTranspose2d layers for this input. */
  macs: number;
  /** 2 · MACs (+ bias adds): the usual "FLOPs" of papers. */
  flops: number;
  byLayer: { path: string; type: string; macs: number; outputShape: number[] }[];
}

/**
 * FLOPs of one forward pass for the supported layers (Linear, Conv2d, ConvTranspose2d), found by
 * running `model.forward(input)` once with those layers' forward wrapped to record shapes. A count,
 * not a rate; activations, norms, pooling and attention's matmuls outside Linear are not counted.
 */
export function countFlops(model: Module, ...inputs: unknown[]): FlopCount {
  const byLayer: FlopCount['byLayer'] = [];
  const restore: (() => void)[] = [];
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear || m instanceof Conv2d || m instanceof ConvTranspose2d)) continue;
    const original = m.forward;
    const patched = (x: Tensor, ...rest: unknown[]) => {
      const y = (original as (...a: unknown[]) => Tensor).call(m, x, ...rest);
      let macs: number;
      if (m instanceof Linear) {
        macs = (x.size / m.inFeatures) * m.inFeatures * m.outFeatures;
      } else if (m instanceof Conv2d) {
        const [kh, kw] = m.kernelSize;
        macs = (y.size / m.outChannels) * m.outChannels * (m.inChannels / m.groups) * kh * kw;
      } else {
        const ct = m as ConvTranspose2d;
        const w = ct.weight.shape; // [in, out/groups, kh, kw]
        macs = (x.size / w[0]!) * w[0]! * w[1]! * w[2]! * w[3]!;
      }
      byLayer.push({ path, type: m.constructor.name, macs, outputShape: [...y.shape] });
      return y;
    };
    (m as { forward: unknown }).forward = patched;
    restore.push(() => {
      (m as { forward: unknown }).forward = original;
    });
  }
  try {
    tf.tidy(() => {
      model.forward(...inputs);
    });
  } finally {
    for (const r of restore) r();
  }
  const macs = byLayer.reduce((s, l) => s + l.macs, 0);
  return { macs, flops: 2 * macs, byLayer };
}

export interface LatencyReport {
  backend: string;
  warmup: number;
  iterations: number;
  /** Milliseconds. */
  median: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

/** Linear-interpolated percentile (numpy's default) of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new InvalidArgumentError('percentile: no values');
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Latency harness: runs `fn` `warmup` times untimed, then `iterations` timed runs. Tensor results
 * are read back (`data()`, so asynchronous backends finish) and disposed inside the timing.
 */
export async function measureLatency(fn: () => unknown, options: { warmup?: number; iterations?: number } = {}): Promise<LatencyReport> {
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  if (!(Number.isInteger(warmup) && warmup >= 0 && Number.isInteger(iterations) && iterations >= 1)) throw new InvalidArgumentError(`measureLatency: warmup ≥ 0 and iterations ≥ 1 must be integers, got ${warmup}, ${iterations}`);
  const once = async () => {
    const r = await fn();
    const tensors: Tensor[] = [];
    const collect = (v: unknown) => {
      if (v instanceof tf.Tensor) tensors.push(v);
      else if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(collect);
    };
    collect(r);
    for (const t of tensors) {
      await t.data();
      t.dispose();
    }
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    backend: tf.getBackend(), warmup, iterations, median: percentile(sorted, 50), p95: percentile(sorted, 95),
    mean: times.reduce((a, b) => a + b, 0) / times.length, min: sorted[0]!, max: sorted.at(-1)!,
  };
}

/**
 * Peak bytes of live tensors while `fn` runs, from tfjs' engine profiler, which samples the total at
 * every kernel execution (tensors made without a kernel, like tf.zeros, count once a kernel runs).
 * `peakBytes` is absolute (weights included); `peakNewBytes` is the peak above what was live before.
 */
export async function peakTensorMemory(fn: () => unknown): Promise<{ peakBytes: number; peakNewBytes: number; newBytes: number; newTensors: number }> {
  const start = tf.memory().numBytes;
  const info = await tf.profile(async () => {
    await fn();
  });
  const end = tf.memory().numBytes;
  const peak = Math.max(start, end, Number.isFinite(info.peakBytes) ? info.peakBytes : 0);
  return { peakBytes: peak, peakNewBytes: peak - start, newBytes: info.newBytes, newTensors: info.newTensors };
}
