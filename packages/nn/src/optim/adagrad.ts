import { tf, type Tensor, type Variable } from '@nutshell/core';
import { Optimizer, type BaseGroupOptions, type ParamGroup, type ParamState, type ParamsArg, type StepOptions } from './optimizer.js';

export interface AdaGradOptions {
  lrDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

/** torch.optim.Adagrad: clr = lr / (1 + (step − 1)·lrDecay); p ← p − clr·g / (√Σg² + eps). */
export class AdaGrad extends Optimizer<AdaGradOptions> {
  readonly name = 'AdaGrad';
  constructor(params: ParamsArg<AdaGradOptions>, options: AdaGradOptions & BaseGroupOptions & StepOptions = {}) {
    const { maxGradNorm, clipValue, ...rest } = options;
    super(params, { lr: 1e-2, lrDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, ...rest }, { maxGradNorm, clipValue });
  }
  protected update(p: Variable, grad: Tensor, st: ParamState, group: ParamGroup<AdaGradOptions>, lr: number): void {
    const { lrDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, maximize = false } = group.options;
    let g = maximize ? tf.neg(grad) : grad;
    const step = (st.scalars.step ?? 0) + 1;
    st.scalars.step = step;
    if (group.weightDecay) g = tf.add(g, tf.mul(p, group.weightDecay));
    const clr = lr / (1 + (step - 1) * lrDecay);
    const sum0 = st.tensors.sum ?? tf.fill(p.shape, initialAccumulatorValue);
    const sum = tf.add(sum0, tf.mul(g, g));
    st.tensors.sum = sum;
    p.assign(tf.sub(p, tf.mul(tf.div(g, tf.add(tf.sqrt(sum), eps)), clr)));
  }
}
