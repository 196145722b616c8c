import { describe, expect, it } from 'vitest';
import { Rng, tensor, tf, type Tensor } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { Linear, Module, Sequential } from '@nutshell/nn';
import { QuantizedLinear, RecipeError, chooseFormats, planMixedPrecision, quantizeModel, sizeReport } from '@nutshell/quantize';

const rand = (n: number, seed: number, s = 0.1) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * s);
};

/**
 * Two 64×64 layers. The calibration inputs are 0 in features 0 and 32, and layer 0 puts a 50σ
 * outlier in those columns of every row: the outliers do not change the output but set every absmax
 * scale of layer 0, so 4-bit formats wipe out its other weights. Layer 0 is the sensitive one,
 * layer 1 an ordinary Gaussian layer.
 */
function handBuilt(): Sequential {
  const a = new Linear(64, 64, { seed: 1 });
  const b = new Linear(64, 64, { seed: 2 });
  const wa = rand(64 * 64, 3);
  const wb = rand(64 * 64, 4);
  for (let i = 0; i < 64; i++) wa[i * 64 + 0] = wa[i * 64 + 32] = 5;
  tf.tidy(() => {
    a.weight.assign(tensor(wa, [64, 64]));
    b.weight.assign(tensor(wb, [64, 64]));
  });
  return new Sequential(a, b);
}
const calibration = () => [0, 1, 2, 3].map((s) => {
  const x = rand(8 * 64, 10 + s, 1);
  for (let r = 0; r < 8; r++) x[r * 64] = x[r * 64 + 32] = 0;
  return tensor(x, [8, 64]);
});

// Exact bytes of a 64×64 weight per format, by hand: codes + float32 scales (+ nested scales).
const BYTES = {
  fp32: 4 * 4096,
  int8: 4096 + 64 * 4, // one scale per row
  'int4-g32': 2048 + 128 * 4,
  'nf4-g64': 2048 + 64 + 4 * 1 + 4, // 8-bit block scales, one float32 per 256 blocks, the float32 mean
};

describe('mixed precision under a size budget', () => {
  it('keeps the obviously sensitive layer at higher precision and meets the budget exactly', () => {
    const model = handBuilt();
    const cal = calibration();
    const budget = BYTES.int8 + BYTES['nf4-g64'];
    const { plan, replaced } = quantizeModel(model, { budgetBytes: budget, calibration: cal });
    expect(plan!.layers.map((l) => l.chosen.label)).toEqual(['int8', 'nf4-g64']);
    // Candidate bytes agree with the hand count; the sensitive layer is far more sensitive at 4 bits.
    for (const l of plan!.layers) for (const c of l.candidates) expect(c.bytes).toBe(BYTES[c.label as keyof typeof BYTES]);
    const hot = Object.fromEntries(plan!.layers[0]!.candidates.map((c) => [c.label, c.sensitivity]));
    const cold = Object.fromEntries(plan!.layers[1]!.candidates.map((c) => [c.label, c.sensitivity]));
    expect(hot['nf4-g64']!).toBeGreaterThan(20 * cold['nf4-g64']!);
    expect(hot['int4-g32']!).toBeGreaterThan(20 * cold['int4-g32']!);
    expect(hot['int8']!).toBeLessThan(hot['nf4-g64']! / 10);
    expect(cold.fp32).toBe(0);
    // Bytes computed independently of the plan: the model's own size report.
    expect(sizeReport(model).weightBytes).toBe(budget);
    expect(plan!.totalBytes).toBe(budget);
    expect(replaced.map((r) => [r.name, r.scheme, r.bytesAfter])).toEqual([['0', 'int8', BYTES.int8], ['1', 'nf4', BYTES['nf4-g64']]]);
    expect(model.getModule('1')).toBeInstanceOf(QuantizedLinear);
    model.dispose();
    tf.dispose(cal);
  });

  it('one byte less forces both layers to 4 bits; a ratio of 1 keeps fp32; too small a budget throws', () => {
    const cal = calibration();
    const tight = handBuilt();
    const { plan } = quantizeModel(tight, { budgetBytes: BYTES.int8 + BYTES['nf4-g64'] - 1, calibration: cal });
    expect(plan!.totalBytes).toBeLessThanOrEqual(BYTES.int8 + BYTES['nf4-g64'] - 1);
    expect(plan!.layers.every((l) => l.chosen.label !== 'int8' && l.chosen.label !== 'fp32')).toBe(true);
    expect(sizeReport(tight).weightBytes).toBe(plan!.totalBytes);
    tight.dispose();
    const roomy = handBuilt();
    const r = quantizeModel(roomy, { budgetRatio: 1, calibration: cal });
    expect(r.plan!.layers.map((l) => l.chosen.label)).toEqual(['fp32', 'fp32']);
    expect(r.replaced).toEqual([]);
    expect(() => quantizeModel(roomy, { budgetBytes: 2 * BYTES['nf4-g64'] - 1, calibration: cal })).toThrow(RecipeError);
    expect(() => quantizeModel(roomy, { budgetBytes: 1000, budgetRatio: 0.5, calibration: cal } as never)).toThrow(/exactly one/);
    expect(() => quantizeModel(roomy, { budgetRatio: 0.5, calibration: [] })).toThrow(/calibration/);
    expect(() => quantizeModel(roomy, { budgetRatio: 0.5, calibration: cal, candidates: ['int3' as never] })).toThrow(RecipeError);
    roomy.dispose();
    tf.dispose(cal);
  });

  it('is deterministic, restores the weights it probes, and leaks nothing', async () => {
    const cal = calibration();
    const plans = [0, 1].map(() => {
      const m = handBuilt();
      const before = m.stateDict({ clone: true });
      const p = planMixedPrecision(m, { budgetRatio: 0.3, calibration: cal });
      const after = m.stateDict();
      for (const [k, v] of Object.entries(before)) expect([...after[k]!.dataSync()]).toEqual([...v.dataSync()]);
      tf.dispose(Object.values(before));
      m.dispose();
      return p;
    });
    expect(plans[1]).toEqual(plans[0]);
    await expectNoLeak(() => {
      const m = handBuilt();
      quantizeModel(m, { budgetRatio: 0.2, calibration: cal });
      m.dispose();
    });
    tf.dispose(cal);
  });

  it('handles fan-in-fan-out (GPT-2 Conv1D) layers: probes in their [in, out] layout, restores them', () => {
    class FakeConv1D extends Module {
      readonly fanInFanOut = true as const;
      readonly weight: tf.Variable;
      constructor() {
        super();
        this.weight = this.registerParameter('weight', tensor(rand(64 * 32, 21), [64, 32]));
      }
      forward(x: Tensor): Tensor {
        return tf.matMul(x, this.weight);
      }
    }
    const cal = calibration();
    const m = new Sequential(new FakeConv1D());
    const w0 = (m.getModule('0') as FakeConv1D).weight.dataSync().slice();
    const p = planMixedPrecision(m, { budgetRatio: 0.3, calibration: cal });
    expect([...(m.getModule('0') as FakeConv1D).weight.dataSync()]).toEqual([...w0]);
    // With only one layer the best plan under 0.3× is the least sensitive 4-bit format, and its
    // sensitivity equals the output error of the quantized module built from that plan.
    const { plan } = quantizeModel(m, { budgetRatio: 0.3, calibration: cal });
    expect(plan).toEqual(p);
    const q = m.getModule('0') as QuantizedLinear;
    expect(q.fromFanInFanOut).toBe(true);
    let err = 0, pow = 0;
    for (const x of cal) {
      const ref = tf.tidy(() => tf.matMul(x, tensor(w0, [64, 32])).dataSync());
      const got = tf.tidy(() => (q.forward(x) as Tensor).dataSync());
      for (let i = 0; i < ref.length; i++) { err += (got[i]! - ref[i]!) ** 2; pow += ref[i]! ** 2; }
    }
    expect(plan!.layers[0]!.chosen.sensitivity).toBeCloseTo(err / pow, 8);
    m.dispose();
    tf.dispose(cal);
  });

  it('a task score measures sensitivity when given', () => {
    const cal = calibration();
    const target = tensor(rand(8 * 64, 99), [8, 64]);
    const m = handBuilt();
    let calls = 0;
    const score = (model: Module) => {
      calls++;
      return tf.tidy(() => tf.mean(tf.squaredDifference(model.forward(cal[0]!) as Tensor, target)).dataSync()[0]!);
    };
    const p = planMixedPrecision(m, { budgetRatio: 0.2, calibration: cal, score, candidates: ['fp32', 'int8', 'nf4'] });
    expect(p.measure).toBe('score');
    expect(calls).toBe(1 + 2 * 2); // the float baseline, then 2 layers × 2 quantized candidates
    expect(p.layers.map((l) => l.candidates.map((c) => c.label))).toEqual([['fp32', 'int8', 'nf4'], ['fp32', 'int8', 'nf4']]);
    m.dispose();
    target.dispose();
    tf.dispose(cal);
  });

  it('chooseFormats equals brute force on random instances', () => {
    const r = new Rng(5);
    for (let t = 0; t < 200; t++) {
      const layers = Array.from({ length: 1 + Math.floor(r.uniform() * 4) }, () =>
        Array.from({ length: 1 + Math.floor(r.uniform() * 4) }, () => ({ bytes: 1 + Math.floor(r.uniform() * 50), sensitivity: r.uniform() })));
      const budget = Math.floor(r.uniform() * 120);
      let best = Infinity;
      const rec = (i: number, bytes: number, s: number) => {
        if (bytes > budget) return;
        if (i === layers.length) { best = Math.min(best, s); return; }
        for (const c of layers[i]!) rec(i + 1, bytes + c.bytes, s + c.sensitivity);
      };
      rec(0, 0, 0);
      const got = chooseFormats(layers, budget);
      if (best === Infinity) { expect(got).toBeNull(); continue; }
      const bytes = got!.reduce((a, k, i) => a + layers[i]![k]!.bytes, 0);
      const s = got!.reduce((a, k, i) => a + layers[i]![k]!.sensitivity, 0);
      expect(bytes).toBeLessThanOrEqual(budget);
      expect(s).toBeCloseTo(best, 10);
    }
  });
});
