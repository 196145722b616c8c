import { Rng, tf, type Tensor } from '@nutshell/core';
import { Linear, gelu, init, type Parameter } from '@nutshell/nn';
import { geluNew, mmT } from '../gpt/ops.js';
import type { BertActivation } from './config.js';

export function reinit(p: Parameter, t: Tensor): void {
  p.assign(t);
  t.dispose();
}

/**
 * torch.nn.Linear ([out, in] weight, HF names weight/bias) with BERT's init (N(0, initializer_range)
 * weights, zero bias) and a forward whose gradient avoids tfjs' slow transposed matMuls.
 */
export class BertLinear extends Linear {
  constructor(inFeatures: number, outFeatures: number, std: number, rng: Rng) {
    super(inFeatures, outFeatures, { seed: rng.fork('default') });
    reinit(this.weight, init.normal([outFeatures, inFeatures], 0, std, rng.fork('normal')));
    reinit(this.bias!, tf.zeros([outFeatures]));
  }
  override forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) return super.forward(x); // Linear's own ShapeError
    return tf.tidy(() => {
      const y = tf.add(mmT(tf.reshape(x, [-1, this.inFeatures]), this.weight), this.bias!);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}

/** HF's ACT2FN for the activations BERT configs use. */
export function activate(name: BertActivation, x: Tensor): Tensor {
  if (name === 'gelu') return gelu(x);
  if (name === 'gelu_new') return geluNew(x);
  if (name === 'relu') return tf.relu(x);
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
