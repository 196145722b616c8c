import { FormatError, tf, type Tensor, type Variable } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import {
  AdaGrad, Adam, AdamW, GradientAccumulator, Linear, LRScheduler, RMSProp, SGD, clipGradNorm, clipGradValue, disposeGrads, mseLoss,
  schedules, valueAndGrads, type Optimizer,
} from '@nutshell/nn';
import { describe, expect, it } from 'vitest';
import { T, expectClose, fixture } from './helpers.js';

const O = fixture('optim.json');
const S = fixture('schedules.json');

const makers: Record<string, (p: Variable[]) => Optimizer<any>> = {
  sgd: (p) => new SGD(p, { lr: 0.1 }),
  sgd_momentum_wd: (p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  sgd_nesterov: (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001 }),
  adam: (p) => new Adam(p, { lr: 0.01 }),
  adam_wd_amsgrad: (p) => new Adam(p, { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.1, amsgrad: true }),
  adamw: (p) => new AdamW(p, { lr: 0.01, weightDecay: 0.1 }),
  rmsprop: (p) => new RMSProp(p, { lr: 0.01 }),
  rmsprop_centered_momentum: (p) => new RMSProp(p, { lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.01 }),
  adagrad: (p) => new AdaGrad(p, { lr: 0.1 }),
  adagrad_decay: (p) => new AdaGrad(p, { lr: 0.1, lrDecay: 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.5 }),
};

describe('optimizers follow PyTorch step for step', () => {
  it.each(Object.keys(makers))('%s: 5 steps match torch.optim', async (name) => {
    const p = tf.variable(T(O.p0));
    const opt = makers[name]!([p]);
    const grads: Tensor[] = O.grads.map((g: any) => T(g));
    for (let i = 0; i < grads.length; i++) {
      opt.step(new Map([[p, grads[i]!]]));
      expectClose(p, O.cases[name][i], { atol: 1e-6, rtol: 1e-5 });
    }
    // a step leaks nothing (old state is freed)
    await expectNoLeak(() => opt.step(new Map([[p, grads[0]!]])));
    opt.dispose();
    p.dispose();
    grads.forEach((g) => g.dispose());
  });

  it('state dict save → load resumes identically', () => {
    const run = (resume: boolean) => {
      const p = tf.variable(T(O.p0));
      let opt = new Adam([p], { lr: 0.01, amsgrad: true });
      const grads: Tensor[] = O.grads.map((g: any) => T(g));
      for (let i = 0; i < 5; i++) {
        if (resume && i === 2) {
          const sd = opt.stateDict();
          opt.dispose();
          opt = new Adam([p], { lr: 0.5 });
          opt.loadStateDict(sd);
          Object.values(sd.tensors).forEach((t) => t.dispose());
        }
        opt.step(new Map([[p, grads[i]!]]));
      }
      return Array.from(p.dataSync());
    };
    expect(run(true)).toEqual(run(false));
    const p = tf.variable(tf.zeros([2]));
    const sd = new SGD([p], { lr: 1 }).stateDict();
    expect(() => new Adam([p]).loadStateDict(sd)).toThrow(FormatError);
  });
});

describe('clipping, accumulation, groups', () => {
  it('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
    const c = O.cases.clip;
    const ps = c.grads.map((g: any) => tf.variable(tf.zeros(g.shape)));
    const grads = new Map<Variable, Tensor>(ps.map((p: Variable, i: number) => [p, T(c.grads[i])]));
    const { grads: clipped, totalNorm } = clipGradNorm(grads, 1.5);
    expectClose(totalNorm, c.total);
    ps.forEach((p: Variable, i: number) => expectClose(clipped.get(p)!, c.clipped[i]));
    const byValue = clipGradValue(grads, 0.5);
    expect(Math.max(...[...byValue.values()].flatMap((g) => Array.from(g.dataSync()).map(Math.abs)))).toBeLessThanOrEqual(0.5);
  });

  it('step(maxGradNorm) equals stepping with pre-clipped gradients', () => {
    const a = tf.variable(tf.ones([3]));
    const b = tf.variable(tf.ones([3]));
    const g = tf.tensor([3, 4, 0]);
    new SGD([a], { lr: 1 }).step(new Map([[a, g]]), { maxGradNorm: 1 });
    const { grads } = clipGradNorm(new Map([[b, g]]), 1);
    new SGD([b], { lr: 1 }).step(grads);
    expectClose(a, b);
    expectClose(a, [1 - 0.6, 1 - 0.8, 1], { atol: 1e-5 });
  });

  it('gradient accumulation over micro-batches equals one full-batch step', () => {
    const x = tf.tensor([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const y = tf.tensor([[1], [0], [1], [0]]);
    const full = new Linear(2, 1, { seed: 4 });
    const acc = new Linear(2, 1, { seed: 4 });
    new SGD(full, { lr: 0.1 }).minimize(() => mseLoss(full.forward(x), y));
    const opt = new SGD(acc, { lr: 0.1 });
    const accum = new GradientAccumulator();
    for (let i = 0; i < 2; i++) {
      const xb = tf.slice(x, [2 * i, 0], [2, 2]);
      const yb = tf.slice(y, [2 * i, 0], [2, 1]);
      const { value, grads } = valueAndGrads(() => mseLoss(acc.forward(xb), yb), acc);
      accum.add(grads);
      value.dispose();
      disposeGrads(grads);
    }
    const mean = accum.mean();
    opt.step(mean);
    disposeGrads(mean);
    accum.reset();
    expectClose(acc.weight, full.weight, { atol: 1e-6 });
    expectClose(acc.bias!, full.bias!, { atol: 1e-6 });
  });

  it('parameter groups: per-group lr, lr multiplier, weight decay, frozen groups', () => {
    const a = tf.variable(tf.ones([2]));
    const b = tf.variable(tf.ones([2]));
    const c = tf.variable(tf.ones([2]));
    const opt = new SGD([
      { params: [a] },
      { params: [b], options: { lr: 0.5, lrMultiplier: 0.1, weightDecay: 1 } },
      { params: [c], options: { frozen: true } },
    ], { lr: 0.1 });
    const g = tf.ones([2]);
    opt.step(new Map([[a, g], [b, g], [c, g]]));
    expectClose(a, [0.9, 0.9]);
    expectClose(b, [1 - 0.05 * 2, 1 - 0.05 * 2]);
    expectClose(c, [1, 1]);
    expect(() => new SGD([{ params: [a] }, { params: [a] }])).toThrow(/more than one group/);
  });

  it('minimize trains a Linear regression to the solution without leaking', async () => {
    const x = tf.tensor([[0], [1], [2], [3]]);
    const y = tf.tensor([[1], [3], [5], [7]]);
    const lin = new Linear(1, 1, { seed: 1 });
    const opt = new Adam(lin, { lr: 0.1 });
    opt.minimize(() => mseLoss(lin.forward(x), y)); // creates the moment buffers (state, not a leak)
    await expectNoLeak(() => {
      for (let i = 0; i < 300; i++) opt.minimize(() => mseLoss(lin.forward(x), y));
    });
    expectClose(lin.weight, [2], { atol: 1e-2 });
    expectClose(lin.bias!, [1], { atol: 2e-2 });
  });
});

describe('LR schedules match torch.optim.lr_scheduler', () => {
  const run = (s: schedules.Schedule, n: number) => {
    const p = tf.variable(tf.zeros([1]));
    const opt = new SGD([p], { lr: 0.5 });
    const sch = new LRScheduler(opt, s);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      out.push(opt.groups[0]!.lr);
      sch.step();
    }
    return out;
  };
  it.each([
    ['step', schedules.stepDecay({ stepSize: 3, gamma: 0.5 })],
    ['multistep', schedules.multiStep({ milestones: [2, 5], gamma: 0.1 })],
    ['exponential', schedules.exponential({ gamma: 0.9 })],
    ['cosine', schedules.cosineAnnealing({ totalSteps: 10, minFactor: 0.1 })],
    ['onecycle', schedules.oneCycle({ totalSteps: 20 })],
    ['onecycle_linear_3phase', schedules.oneCycle({ totalSteps: 20, anneal: 'linear', threePhase: true })],
    ['sequential', schedules.sequential([schedules.linearWarmup({ warmupSteps: 3, startFactor: 0.1 }), schedules.exponential({ gamma: 0.9 })], [3])],
  ] as const)('%s', (name, s) => {
    const want: number[] = S[name];
    expectClose(run(s, want.length), want, { atol: 1e-9, rtol: 1e-6 });
  });

  it('warmup + cosine / linear decay (hand-computed), chain, resume', () => {
    const s = schedules.cosineWithWarmup({ warmupSteps: 2, totalSteps: 6 });
    expectClose([0, 1, 2, 4, 6].map(s), [0, 0.5, 1, 0.5, 0], { atol: 1e-12 });
    const l = schedules.linearWarmupDecay({ warmupSteps: 2, totalSteps: 6 });
    expectClose([1, 2, 4, 6, 8].map(l), [0.5, 1, 0.5, 0, 0], { atol: 1e-12 });
    const c = schedules.chain(schedules.constant(0.5), schedules.exponential({ gamma: 0.5 }));
    expectClose([0, 1, 2].map(c), [0.5, 0.25, 0.125], { atol: 1e-12 });
    const p = tf.variable(tf.zeros([1]));
    const opt = new SGD([p], { lr: 1 });
    const sch = new LRScheduler(opt, schedules.exponential({ gamma: 0.5 }));
    sch.step();
    sch.step();
    const resumed = new LRScheduler(opt, schedules.exponential({ gamma: 0.5 }));
    resumed.loadStateDict(sch.stateDict());
    expect(resumed.getLr()).toEqual([0.25]);
  });
});
