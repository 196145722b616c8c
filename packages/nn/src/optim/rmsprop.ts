import { tf, type Tensor, type Variable } from '@nutshell/core';
import { Optimizer, type BaseGroupOptions, type ParamGroup, type ParamState, type ParamsArg, type StepOptions } from './optimizer.js';

export interface RMSPropOptions {
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

/** torch.optim.RMSprop: eps added outside the square root; optional centering and momentum. */
export class RMSProp extends Optimizer<RMSPropOptions> {
  readonly name = 'RMSProp';
  constructor(params: ParamsArg<RMSPropOptions>, options: RMSPropOptions & BaseGroupOptions & StepOptions = {}) {
    const { maxGradNorm, clipValue, ...rest } = options;
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, ...rest }, { maxGradNorm, clipValue });
  }
  protected update(p: Variable, grad: Tensor, st: ParamState, group: ParamGroup<RMSPropOptions>, lr: number): void {
    const { alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, maximize = false } = group.options;
    let g = maximize ? tf.neg(grad) : grad;
    if (group.weightDecay) g = tf.add(g, tf.mul(p, group.weightDecay));
    st.scalars.step = (st.scalars.step ?? 0) + 1;
    const sq0 = st.tensors.square_avg ?? tf.zerosLike(p);
    const sq = tf.add(tf.mul(sq0, alpha), tf.mul(tf.mul(g, g), 1 - alpha));
    st.tensors.square_avg = sq;
    let avg: Tensor;
    if (centered) {
      const ga0 = st.tensors.grad_avg ?? tf.zerosLike(p);
      const ga = tf.add(tf.mul(ga0, alpha), tf.mul(g, 1 - alpha));
      st.tensors.grad_avg = ga;
      avg = tf.add(tf.sqrt(tf.sub(sq, tf.mul(ga, ga))), eps);
    } else {
      avg = tf.add(tf.sqrt(sq), eps);
    }
    if (momentum > 0) {
      const buf0 = st.tensors.momentum_buffer ?? tf.zerosLike(p);
      const buf = tf.add(tf.mul(buf0, momentum), tf.div(g, avg));
      st.tensors.momentum_buffer = buf;
      p.assign(tf.sub(p, tf.mul(buf, lr)));
    } else {
      p.assign(tf.sub(p, tf.mul(tf.div(g, avg), lr)));
    }
  }
}
