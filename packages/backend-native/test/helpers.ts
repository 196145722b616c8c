// Shared by the test files: availability gating, seeded data and parity checks against tfjs 'cpu'.
import { Rng, tf } from '@nutshell/core';
import nativeBackend from '@nutshell/backend-native';
import { expect } from 'vitest';

export const availability = await nativeBackend.isAvailable();

/** CI sets NUTSHELL_REQUIRE_BACKENDS=native(,...): a missing addon must fail there, not skip. */
export const nativeRequired = (process.env.NUTSHELL_REQUIRE_BACKENDS ?? '')
  .split(/[\s,]+/)
  .some((name) => name === 'native' || name === 'all');

/** Appended to suite names so a skipped run says why. */
export const skipNote = availability.available ? '' : ` [SKIPPED: native backend unavailable here: ${availability.reason}]`;

export function seeded(seed: string, size: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * scale;
  return out;
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A seeded float32 tensor of `shape` (create it inside the function given to `run`). */
export function randomTensor(seed: string, shape: number[], scale = 1): tf.Tensor {
  return tf.tensor(seeded(seed, sizeOf(shape), scale), shape, 'float32');
}

type Result = tf.Tensor | tf.Tensor[];

/** Runs `fn` on `backend` and returns copies of its outputs (all tensors are disposed). */
export async function run(backend: string, fn: () => Result): Promise<{ shape: number[]; values: Float32Array }[]> {
  await tf.setBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  // tfjs's cpu backend prints a tfjs-node advert on first use; it is noise here.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  const outs = [tf.tidy(fn)].flat();
  const copies = outs.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
  tf.dispose(outs);
  return copies;
}

/** |actual - expected| ≤ rtol · max(1, max|expected|), element by element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    const err = Number.isNaN(diff) ? Infinity : diff; // a NaN must fail
    if (err > worst) {
      worst = err;
      worstAt = i;
    }
  }
  expect(worst, `${label} worst error at ${worstAt}: got ${actual[worstAt]}, expected ${expected[worstAt]}`).toBeLessThanOrEqual(
    rtol * scale,
  );
}

/** Same computation on 'native' and on 'cpu'; shapes equal, values within rtol. */
export async function expectParity(fn: () => Result, rtol = 1e-4, label = ''): Promise<void> {
  const native = await run('native', fn);
  const cpu = await run('cpu', fn);
  expect(native.length).toBe(cpu.length);
  native.forEach((n, i) => {
    expect(n.shape, `${label} output ${i} shape`).toEqual(cpu[i]!.shape);
    expectClose(n.values, cpu[i]!.values, rtol, `${label} output ${i}`);
  });
}
