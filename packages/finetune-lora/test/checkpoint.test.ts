import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { crossEntropy, valueAndGrads, type Module } from '@nutshell/nn';
import { GPT } from '@nutshell/transformer';
import { LoraModel, disableGradientCheckpointing, enableGradientCheckpointing, isGradientCheckpointed } from '@nutshell/finetune-lora';
import { describe, expect, it } from 'vitest';
import { maxDiff } from './helpers.js';

// A small GPT with dropout, so the recomputation must replay the same masks.
const CFG = { vocabSize: 40, nPositions: 32, nEmbd: 32, nLayer: 3, nHead: 4, dropout: 0.1 };
const BLOCKS = 'transformer\\.h\\.\\d+';
const batch = () => {
  const ids = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([2, 17], 0, 40, 'float32', 1)), 'int32'));
  return { x: tf.slice(ids, [0, 0], [-1, 16]), y: tf.slice(ids, [0, 1], [-1, 16]), ids };
};
const lossOf = (gpt: GPT, x: Tensor, y: Tensor) => tf.tidy(() => crossEntropy(tf.reshape(gpt.forward(x), [-1, CFG.vocabSize]), tf.reshape(y, [-1])));

/** One step's loss and gradients (by parameter path), plus the activation bytes alive at the end of the forward. */
function step(model: Module, loss: () => Tensor): { loss: number; grads: Map<string, Tensor>; liveAfterForward: number } {
  const names = new Map<Variable, string>(model.namedParameters().map(([k, v]) => [v, k]));
  let liveAfterForward = 0;
  const before = tf.memory().numBytes;
  const { value, grads } = valueAndGrads(() => {
    const l = loss();
    liveAfterForward = tf.memory().numBytes - before; // what the tape holds for backward (+ the loss)
    return l;
  }, model);
  const out = new Map([...grads].map(([v, g]) => [names.get(v)!, g]));
  const l = value.dataSync()[0]!;
  value.dispose();
  return { loss: l, grads: out, liveAfterForward };
}

function expectSameGrads(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [k, g] of a) expect(maxDiff(g, b.get(k)!), k).toBeLessThan(1e-6);
}

describe('gradient checkpointing', () => {
  it('full fine-tuning: identical loss and gradients (dropout masks replayed); less activation memory', () => {
    const { x, y, ids } = batch();
    const plain = new GPT(CFG, { seed: 3 });
    const ck = new GPT(CFG, { seed: 3 });
    expect(enableGradientCheckpointing(ck, { modules: BLOCKS })).toEqual(['transformer.h.0', 'transformer.h.1', 'transformer.h.2']);
    expect(isGradientCheckpointed(ck.getModule('transformer.h.1'))).toBe(true);
    const a = step(plain, () => lossOf(plain, x, y));
    const b = step(ck, () => lossOf(ck, x, y));
    expect(b.loss).toBe(a.loss);
    expectSameGrads(a.grads, b.grads);
    expect(a.grads.size).toBe(plain.parameters().length);
    // the re-run left the dropout counters where one pass leaves them
    expect(ck.extraState()).toEqual(plain.extraState());
    // the tape keeps each block's input instead of its activations
    expect(b.liveAfterForward).toBeLessThan(0.6 * a.liveAfterForward);
    console.log(JSON.stringify({ checkpointing: { liveBytesAfterForward: { plain: a.liveAfterForward, checkpointed: b.liveAfterForward } } }));
    tf.dispose([x, y, ids, ...a.grads.values(), ...b.grads.values()]);
  });

  it('LoRA on a checkpointed GPT: identical adapter gradients; peak bytes of the step lower (tf.profile)', async () => {
    const { x, y, ids } = batch();
    const mk = () => {
      const gpt = new GPT(CFG, { seed: 4 });
      const lora = new LoraModel(gpt, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'], lora_dropout: 0.1 }, { seed: 1 });
      return { gpt, lora };
    };
    const p = mk();
    const c = mk();
    enableGradientCheckpointing(c.gpt, { modules: (path) => /^transformer\.h\.\d+$/.test(path) });
    const a = step(p.gpt, () => lossOf(p.gpt, x, y));
    const b = step(c.gpt, () => lossOf(c.gpt, x, y));
    expectSameGrads(a.grads, b.grads);
    expect([...a.grads.keys()].every((k) => k.includes('lora_'))).toBe(true);
    const peak = async (gpt: GPT) => {
      const info = await tf.profile(() => {
        const { value, grads } = valueAndGrads(() => lossOf(gpt, x, y), gpt);
        tf.dispose([value, ...grads.values()]);
      });
      return info.peakBytes - info.newBytes;
    };
    const base = tf.memory().numBytes;
    const peakPlain = (await peak(p.gpt)) - base;
    const peakCk = (await peak(c.gpt)) - base;
    expect(peakCk).toBeLessThan(0.8 * peakPlain);
    console.log(JSON.stringify({ checkpointing: { peakStepBytesAboveModel: { plain: peakPlain, checkpointed: peakCk } } }));
    tf.dispose([x, y, ids, ...a.grads.values(), ...b.grads.values()]);
  });

  it('inference runs unchanged; disabling restores the plain forward; typed error when nothing matches; no leaks', async () => {
    const gpt = new GPT({ ...CFG, dropout: 0 }, { seed: 5 });
    const { x, y, ids } = batch();
    const y0 = gpt.forward(x);
    enableGradientCheckpointing(gpt, { modules: ['h.0', 'h.2'] });
    expect(isGradientCheckpointed(gpt.getModule('transformer.h.1'))).toBe(false);
    const y1 = gpt.forward(x);
    expect(maxDiff(y0, y1)).toBe(0);
    await expectNoLeak(() => {
      const { grads } = step(gpt, () => lossOf(gpt, x, y));
      tf.dispose([...grads.values()]);
    });
    disableGradientCheckpointing(gpt);
    expect(isGradientCheckpointed(gpt.getModule('transformer.h.0'))).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(gpt.getModule('transformer.h.0'), 'forward')).toBe(false);
    expect(() => enableGradientCheckpointing(gpt, { modules: ['nope'] })).toThrow(InvalidArgumentError);
    tf.dispose([x, y, ids, y0, y1]);
  });
});
