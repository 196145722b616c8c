import { tf, type Tensor } from '@nutshell/core';
import type { Module, Optimizer } from '@nutshell/nn';
import { LoraLayer } from './lora-layer.js';
import { isQuantizedLinear } from './quantized-base.js';

export interface MemoryReport {
  /** Bytes of the base model's weights as stored (fp32 tensors + NF4 codes and scales). */
  baseBytes: number;
  /** What the base would take in fp32. */
  baseFp32Bytes: number;
  /** Bytes of the LoRA/DoRA tensors of every adapter. */
  adapterBytes: number;
  trainableParams: number;
  totalParams: number;
  /** Optimizer state (moments) bytes, when an optimizer is given. */
  optimizerStateBytes?: number;
}

const bytesOf = (t: Tensor) => t.size * (t.dtype === 'float32' || t.dtype === 'int32' ? 4 : 1);

/** Memory accounting for a (LoRA-wrapped, possibly 4-bit) model. */
export function memoryReport(model: Module, optimizer?: Optimizer): MemoryReport {
  const adapterVars = new Set<Tensor>();
  for (const m of model.modules()) {
    if (!(m instanceof LoraLayer)) continue;
    for (const name of m.adapterNames()) for (const [, v] of m.adapterTensors(name)) adapterVars.add(v);
  }
  let baseBytes = 0;
  let baseFp32Bytes = 0;
  let adapterBytes = 0;
  let totalParams = 0;
  for (const [, v] of [...model.namedParameters(), ...model.namedBuffers()]) {
    if (adapterVars.has(v)) adapterBytes += bytesOf(v);
    else {
      baseBytes += bytesOf(v);
      baseFp32Bytes += 4 * v.size;
    }
  }
  for (const [, v] of model.namedParameters()) totalParams += v.size;
  for (const m of model.modules()) {
    if (isQuantizedLinear(m)) {
      baseBytes += m.packedWeight.storageBytes();
      baseFp32Bytes += 4 * m.inFeatures * m.outFeatures;
      totalParams += m.inFeatures * m.outFeatures;
    }
  }
  const report: MemoryReport = { baseBytes, baseFp32Bytes, adapterBytes, trainableParams: model.numParameters({ trainableOnly: true }), totalParams };
  if (optimizer) {
    const sd = optimizer.stateDict();
    report.optimizerStateBytes = Object.values(sd.tensors).reduce((n, t) => n + bytesOf(t), 0);
    tf.dispose(Object.values(sd.tensors));
  }
  return report;
}

/** Runs fn and reports the peak bytes of tensors alive above the starting level (activations, grads). */
export async function peakBytes(fn: () => unknown): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(async () => {
    const out = await fn();
    tf.dispose(out as Tensor);
  });
  return Math.max(0, info.peakBytes - before);
}
