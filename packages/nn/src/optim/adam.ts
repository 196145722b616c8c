import { getKernel, tf, type NamedAttrMap, type Tensor, type Variable } from '@nutshell/core';
import { Optimizer, type BaseGroupOptions, type ParamGroup, type ParamState, type ParamsArg, type StepOptions } from './optimizer.js';

export interface AdamOptions {
  betas?: [number, number];
  eps?: number;
  amsgrad?: boolean;
  maximize?: boolean;
  /**
   * Use the active backend's fused update kernel (`NutshellAdam`, e.g. @nutshell/backend-native's)
   * when it has one: one kernel per parameter instead of ~12 ops, same float32 arithmetic in the
   * same order. Default true (it is skipped on backends without it, and with amsgrad / maximize);
   * false always composes tfjs ops.
   */
  fused?: boolean;
}

/** Kernel name a backend registers to provide the fused update (inputs, attrs: see adamUpdate). */
export const FUSED_ADAM_KERNEL = 'NutshellAdam';

/** Shared Adam update; `decoupled` applies weight decay to the weights (AdamW) instead of the gradient. */
function adamUpdate(p: Variable, grad: Tensor, st: ParamState, group: ParamGroup<AdamOptions>, lr: number, decoupled: boolean): void {
  const { betas = [0.9, 0.999], eps = 1e-8, amsgrad = false, maximize = false } = group.options;
  const [b1, b2] = betas;
  let g = maximize ? tf.neg(grad) : grad;
  const step = (st.scalars.step ?? 0) + 1;
  st.scalars.step = step;
  if (group.options.fused !== false && !amsgrad && !maximize && p.dtype === 'float32' && grad.dtype === 'float32' && getKernel(FUSED_ADAM_KERNEL, tf.getBackend())) {
    const m0 = st.tensors.exp_avg ?? tf.zerosLike(p);
    const v0 = st.tensors.exp_avg_sq ?? tf.zerosLike(p);
    const attrs = { lr, beta1: b1, beta2: b2, eps, weightDecay: group.weightDecay, decoupled, step } as unknown as NamedAttrMap;
    const [next, m, v] = tf.engine().runKernel(FUSED_ADAM_KERNEL, { param: p, grad, m: m0, v: v0 }, attrs) as Tensor[];
    st.tensors.exp_avg = m!;
    st.tensors.exp_avg_sq = v!;
    p.assign(next!);
    return;
  }
  let param: Tensor = p;
  if (group.weightDecay) {
    if (decoupled) param = tf.mul(p, 1 - lr * group.weightDecay);
    else g = tf.add(g, tf.mul(p, group.weightDecay));
  }
  const m0 = st.tensors.exp_avg ?? tf.zerosLike(p);
  const v0 = st.tensors.exp_avg_sq ?? tf.zerosLike(p);
  const m = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
  const v = tf.add(tf.mul(v0, b2), tf.mul(tf.mul(g, g), 1 - b2));
  st.tensors.exp_avg = m;
  st.tensors.exp_avg_sq = v;
  let vUse = v;
  if (amsgrad) {
    const prev = st.tensors.max_exp_avg_sq;
    vUse = prev ? tf.maximum(prev, v) : tf.clone(v);
    st.tensors.max_exp_avg_sq = vUse;
  }
  const bc1 = 1 - b1 ** step;
  const bc2 = 1 - b2 ** step;
  const denom = tf.add(tf.div(tf.sqrt(vUse), Math.sqrt(bc2)), eps);
  p.assign(tf.sub(param, tf.mul(tf.div(m, denom), lr / bc1)));
}

/** torch.optim.Adam (L2 weight decay added to the gradient). */
export class Adam extends Optimizer<AdamOptions> {
  readonly name: string = 'Adam';
  constructor(params: ParamsArg<AdamOptions>, options: AdamOptions & BaseGroupOptions & StepOptions = {}) {
    const { maxGradNorm, clipValue, ...rest } = options;
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false, ...rest }, { maxGradNorm, clipValue });
  }
  protected update(p: Variable, g: Tensor, st: ParamState, group: ParamGroup<AdamOptions>, lr: number): void {
    adamUpdate(p, g, st, group, lr, false);
  }
}

/** torch.optim.AdamW: decoupled weight decay (p ← p·(1 − lr·wd) before the Adam step), default wd 0.01. */
export class AdamW extends Optimizer<AdamOptions> {
  readonly name = 'AdamW';
  constructor(params: ParamsArg<AdamOptions>, options: AdamOptions & BaseGroupOptions & StepOptions = {}) {
    const { maxGradNorm, clipValue, ...rest } = options;
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false, weightDecay: 1e-2, ...rest }, { maxGradNorm, clipValue });
  }
  protected update(p: Variable, g: Tensor, st: ParamState, group: ParamGroup<AdamOptions>, lr: number): void {
    adamUpdate(p, g, st, group, lr, true);
  }
}
