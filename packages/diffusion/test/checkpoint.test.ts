import { mkdtempSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, rngFor, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { AdamW } from '@nutshell/nn';
import { diffusionLoss, EMA, hasCheckpoint, loadCheckpoint, MLPDenoiser, NoiseSchedule, saveCheckpoint } from '@nutshell/diffusion';

const schedule = new NoiseSchedule({ betaSchedule: 'cosine', numTrainTimesteps: 100 });
const data = tf.tensor2d(Array.from({ length: 64 }, (_, i) => [Math.cos(i), Math.sin(i)]));

function parts(seed: number) {
  const model = new MLPDenoiser({ dim: 2, hidden: 8, blocks: 1, seed });
  const optimizer = new AdamW(model, { lr: 1e-2, weightDecay: 0 });
  const ema = new EMA(model, { decay: 0.9 });
  return { model, optimizer, ema };
}

/** Steps [from, to) with randomness drawn from (seed, step), as the MNIST benchmark does. */
function trainSteps(p: ReturnType<typeof parts>, from: number, to: number): void {
  for (let s = from; s < to; s++) {
    const rng = rngFor(`ckpt-test/${s}`);
    const idx = tf.tensor1d(Int32Array.from({ length: 16 }, () => rng.int(64)), 'int32');
    const x0 = tf.gather(data, idx);
    p.optimizer.minimize(() => diffusionLoss(p.model, x0, { schedule, rng }));
    p.ema.update();
    tf.dispose([idx, x0]);
  }
}

const values = (d: Record<string, Tensor>) => Object.fromEntries(Object.entries(d).map(([k, t]) => [k, Array.from(t.dataSync())]));

describe('training checkpoints', () => {
  it('a run saved and resumed into fresh parts ends exactly where an unbroken run ends', async () => {
    const whole = parts(0);
    trainSteps(whole, 0, 6);

    const dir = mkdtempSync(join(tmpdir(), 'diffusion-ckpt-'));
    const first = parts(0);
    trainSteps(first, 0, 3);
    expect(await hasCheckpoint(dir)).toBe(false);
    await expectNoLeak(() => saveCheckpoint(dir, first, { step: 3, extra: { note: 'half' } }));
    expect(await hasCheckpoint(dir)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]); // temp files renamed away

    const resumed = parts(7); // different init: everything must come from the checkpoint
    const info = await loadCheckpoint(dir, resumed);
    expect(info).toEqual({ step: 3, extra: { note: 'half' } });
    expect(resumed.ema.updates).toBe(3);
    expect(resumed.optimizer.steps).toBe(3);
    trainSteps(resumed, info.step, 6);

    const want = values(whole.model.stateDict());
    const got = values(resumed.model.stateDict());
    for (const k of Object.keys(want)) got[k]!.forEach((v, i) => expect(v, k).toBeCloseTo(want[k]![i]!, 5));
    const wantEma = values(whole.ema.stateDict());
    const gotEma = values(resumed.ema.stateDict());
    for (const k of Object.keys(wantEma)) gotEma[k]!.forEach((v, i) => expect(v, k).toBeCloseTo(wantEma[k]![i]!, 5));
  });

  it('rejects a torn checkpoint (files from different steps) and leaves the parts untouched', async () => {
    const a = mkdtempSync(join(tmpdir(), 'diffusion-ckpt-'));
    const b = mkdtempSync(join(tmpdir(), 'diffusion-ckpt-'));
    const p = parts(0);
    trainSteps(p, 0, 1);
    await saveCheckpoint(a, p, { step: 1, extra: {} });
    trainSteps(p, 1, 2);
    await saveCheckpoint(b, p, { step: 2, extra: {} });
    copyFileSync(join(b, 'model.safetensors'), join(a, 'model.safetensors')); // as if killed between files

    const fresh = parts(5);
    const before = values(fresh.model.stateDict());
    await expect(loadCheckpoint(a, fresh)).rejects.toThrow(FormatError);
    expect(values(fresh.model.stateDict())).toEqual(before);
    expect(fresh.ema.updates).toBe(0);
    await expect(loadCheckpoint(join(a, 'missing'), fresh)).rejects.toThrow(FormatError);
  });
});
