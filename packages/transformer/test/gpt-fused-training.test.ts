// GPT training on the fused kernels (native: C; wasm: AssemblyScript) against the composed tfjs
// graph on cpu: the same seed gives the same loss curve within float32 rounding, and the fused
// kernels really run (forward and backward).
import { FUSED_KERNELS, tf, useBackend } from '@nutshell/core';
import { GPT, trainGpt } from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const required = new Set((process.env.NUTSHELL_REQUIRE_BACKENDS ?? '').split(/[\s,]+/).filter(Boolean));
const text = 'the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! '.repeat(12);
const config = { nLayer: 2, nHead: 2, nEmbd: 32, nPositions: 16 };

async function losses(backend: string): Promise<number[]> {
  await useBackend(backend);
  const r = await trainGpt({ text, config, steps: 12, batchSize: 4, evalEvery: 12, evalBatches: 1, warmupSteps: 2, lr: 3e-3, progress: false, seed: 5 });
  r.model.dispose();
  return r.history.steps.map((s) => s.loss);
}

async function loaded(name: string): Promise<boolean> {
  try {
    if (name === 'native') {
      const { default: plugin } = await import('@nutshell/backend-native');
      if (!(await plugin.isAvailable()).available) return false;
    } else await import('@nutshell/backend-wasm');
    await useBackend(name);
    return true;
  } catch {
    return false;
  }
}

describe('GPT training on fused kernels', async () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  const reference = await losses('cpu');

  for (const name of ['native', 'wasm']) {
    const ok = await loaded(name);
    it.skipIf(!ok && !required.has(name))(`${name}: the loss curve equals the composed graph's on cpu (12 AdamW steps)`, async () => {
      expect(ok, `${name} backend unavailable`).toBe(true);
      const fused = await losses(name);
      expect(fused).toHaveLength(reference.length);
      fused.forEach((l, i) => expect(Math.abs(l - reference[i]!) / reference[i]!, `step ${i + 1}: ${l} vs ${reference[i]}`).toBeLessThan(2e-4));
      // And the curve moved: the test would not notice a model that does not train.
      expect(fused.at(-1)!).toBeLessThan(fused[0]! - 0.3);
    });

    it.skipIf(!ok && !required.has(name))(`${name}: a training step runs the fused attention, activation and LayerNorm kernels, both directions`, async () => {
      await useBackend(name);
      const model = new GPT({ vocabSize: 30, ...config }, { seed: 1 });
      const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
      const y = tf.tensor2d([[2, 3, 4, 5, 6, 7]], [1, 6], 'int32');
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(x, y) as tf.Scalar);
        value.dispose();
        tf.dispose(grads);
      });
      const ran = new Set(profile.kernelNames);
      for (const k of [FUSED_KERNELS.attention, FUSED_KERNELS.attentionGrad, FUSED_KERNELS.activation, FUSED_KERNELS.activationGrad, FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad]) {
        expect(ran.has(k), k).toBe(true);
      }
      tf.dispose([x, y]);
      model.dispose();
    });
  }
});
