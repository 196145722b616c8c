import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import { Optimizer, type BaseGroupOptions, type ParamGroup, type ParamState, type ParamsArg, type StepOptions } from './optimizer.js';

export interface SGDOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

/** torch.optim.SGD: weight decay added to the gradient, momentum buffer, optional Nesterov. */
export class SGD extends Optimizer<SGDOptions> {
  readonly name = 'SGD';
  constructor(params: ParamsArg<SGDOptions>, options: SGDOptions & BaseGroupOptions & StepOptions = {}) {
    const { maxGradNorm, clipValue, ...rest } = options;
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, ...rest }, { maxGradNorm, clipValue });
    if (options.nesterov && (!(options.momentum! > 0) || (options.dampening ?? 0) !== 0)) {
      throw new InvalidArgumentError('SGD: Nesterov momentum requires momentum > 0 and dampening 0');
    }
  }
  protected update(p: Variable, grad: Tensor, st: ParamState, group: ParamGroup<SGDOptions>, lr: number): void {
    const { momentum = 0, dampening = 0, nesterov = false, maximize = false } = group.options;
    let g = maximize ? tf.neg(grad) : grad;
    if (group.weightDecay) g = tf.add(g, tf.mul(p, group.weightDecay));
    if (momentum !== 0) {
      const buf = st.tensors.momentum_buffer;
      const next = buf ? tf.add(tf.mul(buf, momentum), tf.mul(g, 1 - dampening)) : tf.clone(g);
      st.tensors.momentum_buffer = next;
      g = nesterov ? tf.add(g, tf.mul(next, momentum)) : next;
    }
    p.assign(tf.sub(p, tf.mul(g, lr)));
  }
}
