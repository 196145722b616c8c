import { tf, type Tensor } from '@nutshell/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface Fx {
  shape: number[];
  data: number[];
}

const cache = new Map<string, any>();
/** A committed PyTorch fixture (see scripts/make-fixtures.py). */
export function fixture(name: string): any {
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')));
  return cache.get(name);
}

export const T = (f: Fx, dtype: 'float32' | 'int32' = 'float32'): Tensor => tf.tensor(f.data, f.shape, dtype);
export const nchw2nhwc = (t: Tensor): Tensor => tf.transpose(t, [0, 2, 3, 1]);
export const nhwc2nchw = (t: Tensor): Tensor => tf.transpose(t, [0, 3, 1, 2]);

/** Max |a − b| / (atol + rtol·|b|) ≤ 1 elementwise, with a readable failure. */
export function expectClose(actual: Tensor | ArrayLike<number> | number, expected: Tensor | Fx | ArrayLike<number> | number, tol: { atol?: number; rtol?: number } = {}): void {
  const a = typeof actual === 'number' ? [actual] : 'dataSync' in (actual as object) ? Array.from((actual as Tensor).dataSync()) : Array.from(actual as ArrayLike<number>);
  const e = typeof expected === 'number' ? [expected]
    : 'dataSync' in (expected as object) ? Array.from((expected as Tensor).dataSync())
    : 'data' in (expected as object) && 'shape' in (expected as object) ? (expected as Fx).data
    : Array.from(expected as ArrayLike<number>);
  if (!(typeof actual === 'number') && 'shape' in (actual as object) && 'shape' in (expected as object)) {
    expect((actual as Tensor).shape).toEqual((expected as Fx).shape);
  }
  expect(a.length).toBe(e.length);
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i]! - e[i]!) / (atol + rtol * Math.abs(e[i]!));
    if (!(r <= worst) ) { worst = r; at = i; }
  }
  if (!(worst <= 1)) expect.fail(`element ${at}: got ${a[at]}, expected ${e[at]} (atol ${atol}, rtol ${rtol}; ${a.length} elements)`);
}

/**
 * Central finite differences of a scalar function of `x`, probing `samples` elements (all if
 * fewer). float32 rounding limits accuracy, so use moderate steps and loose-ish tolerances.
 */
export function finiteDiff(f: (x: Tensor) => Tensor, x: Tensor, indices: number[], eps = 1e-2): number[] {
  const base = Float32Array.from(x.dataSync());
  return indices.map((i) => {
    const at = (d: number) => {
      const v = base.slice();
      v[i]! += d;
      return tf.tidy(() => f(tf.tensor(v, x.shape)).dataSync()[0]!);
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  });
}

/** Checks tfjs autodiff against finite differences at a few positions of `x`. */
export function checkGradFD(f: (x: Tensor) => Tensor, x: Tensor, options: { samples?: number; eps?: number; atol?: number; rtol?: number } = {}): void {
  const n = x.size;
  const k = Math.min(n, options.samples ?? 8);
  const indices = Array.from({ length: k }, (_, j) => Math.floor((j * n) / k + (n / k) / 2));
  const g = tf.tidy(() => tf.grad(f)(x));
  const ad = Array.from(g.dataSync());
  g.dispose();
  const fd = finiteDiff(f, x, indices, options.eps);
  expectClose(indices.map((i) => ad[i]!), fd, { atol: options.atol ?? 2e-3, rtol: options.rtol ?? 2e-2 });
}

/** Σ y·up: a scalar whose gradient with respect to y is `up` (for comparing backprop). */
export const weighted = (y: Tensor, up: Tensor): Tensor => tf.sum(tf.mul(y, up));
