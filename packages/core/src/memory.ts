import * as tf from '@tensorflow/tfjs-core';

/** Number of live tensors in the engine. */
export function tensorCount(): number {
  return tf.memory().numTensors;
}

/** Disposes every tensor found in a nested structure of arrays, maps and plain objects. */
export function disposeAll(value: unknown): void {
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof tf.Tensor) {
      if (!v.isDisposed) v.dispose();
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v instanceof Map) {
      v.forEach(walk);
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
}

export interface LeakReport<T> {
  result: T;
  /** Tensors alive after `fn` that were not alive before (its result's tensors included). */
  leaked: number;
  /** Bytes those tensors hold. */
  leakedBytes: number;
}

/** Runs `fn` (sync or async) and reports how many tensors it left alive. */
export async function measureTensors<T>(fn: () => T | Promise<T>): Promise<LeakReport<T>> {
  const before = tf.memory();
  const result = await fn();
  const after = tf.memory();
  return { result, leaked: after.numTensors - before.numTensors, leakedBytes: after.numBytes - before.numBytes };
}
