// Adam / AdamW on the backends with the fused update kernel (NutshellAdam: backend-native's C,
// backend-wasm's AssemblyScript): the fused path is taken, follows torch.optim step for step, and
// matches nn's composed update (fused: false) within 1e-6 over 5 steps.
import { getKernel, tf, type KernelFunc, type Tensor, type Variable } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import nativeBackend from '@nutshell/backend-native';
import wasmBackend from '@nutshell/backend-wasm';
import { Adam, AdamW, FUSED_ADAM_KERNEL, Linear, mseLoss, type Optimizer } from '@nutshell/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T, expectClose, fixture } from './helpers.js';

const O = fixture('optim.json');
const backends = { native: nativeBackend, wasm: wasmBackend };

/** Counts calls of the fused kernel on the current backend while `fn` runs. */
function countFused(fn: () => void): number {
  const config = getKernel(FUSED_ADAM_KERNEL, tf.getBackend())!;
  const inner = config.kernelFunc;
  let calls = 0;
  config.kernelFunc = ((args: never) => {
    calls++;
    return (inner as (a: never) => unknown)(args);
  }) as KernelFunc;
  try {
    fn();
  } finally {
    config.kernelFunc = inner;
  }
  return calls;
}

const makers: Record<string, (p: Variable[], fused?: boolean) => Optimizer<any>> = {
  adam: (p, fused) => new Adam(p, { lr: 0.01, fused }),
  adam_wd: (p, fused) => new Adam(p, { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.1, fused }),
  adamw: (p, fused) => new AdamW(p, { lr: 0.01, weightDecay: 0.1, fused }),
};

for (const [backendName, plugin] of Object.entries(backends)) {
  const available = (await plugin.isAvailable()).available;
  describe.skipIf(!available)(`fused Adam / AdamW on the ${backendName} backend`, () => {
    beforeAll(async () => {
      await plugin.setup();
      await tf.setBackend(backendName);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    it.each(['adam', 'adamw'])('%s: the fused kernel follows torch.optim for 5 steps', async (name) => {
      const p = tf.variable(T(O.p0));
      const opt = makers[name]!([p]);
      const grads: Tensor[] = O.grads.map((g: any) => T(g));
      for (let i = 0; i < grads.length; i++) {
        expect(countFused(() => opt.step(new Map([[p, grads[i]!]])))).toBe(1);
        expectClose(p, O.cases[name][i], { atol: 1e-6, rtol: 1e-5 });
      }
      await expectNoLeak(() => opt.step(new Map([[p, grads[0]!]])));
      opt.dispose();
      p.dispose();
      grads.forEach((g) => g.dispose());
    });

    it.each(Object.keys(makers))('%s: fused and composed agree within 1e-6 over 5 training steps', (name) => {
      const train = (fused: boolean) => {
        const net = new Linear(16, 8, { seed: 7 });
        const opt = makers[name]!(net.parameters(), fused);
        const x = tf.randomNormal([32, 16], 0, 1, 'float32', 1);
        const y = tf.randomNormal([32, 8], 0, 1, 'float32', 2);
        let calls = 0;
        for (let s = 0; s < 5; s++) calls += countFused(() => opt.minimize(() => mseLoss(net.forward(x), y)));
        const weights = net.parameters().map((p) => Array.from(p.dataSync()));
        const m = opt.stateDict();
        const moments = Object.keys(m.tensors).sort().map((k) => Array.from(m.tensors[k]!.dataSync()));
        tf.dispose([x, y, ...Object.values(m.tensors)]);
        opt.dispose();
        net.parameters().forEach((p) => p.dispose());
        return { weights, moments, calls };
      };
      const fused = train(true);
      const composed = train(false);
      expect(fused.calls).toBe(10); // weight and bias, 5 steps
      expect(composed.calls).toBe(0);
      fused.weights.forEach((w, i) => expectClose(w, composed.weights[i]!, { atol: 1e-6, rtol: 0 }));
      expect(fused.moments.length).toBe(4); // exp_avg and exp_avg_sq of both: the same state layout
      fused.moments.forEach((m, i) => expectClose(m, composed.moments[i]!, { atol: 1e-6, rtol: 0 }));
    });

    it('amsgrad and maximize keep the composed update', () => {
      const p = tf.variable(T(O.p0));
      const g = T(O.grads[0]);
      for (const opt of [new Adam([p], { amsgrad: true }), new AdamW([p], { maximize: true })]) {
        expect(countFused(() => opt.step(new Map([[p, g]])))).toBe(0);
        opt.dispose();
      }
      tf.dispose([p, g]);
    });
  });
}
