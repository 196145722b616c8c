import { InvalidArgumentError, tf } from '@nutshell/core';
import { BatchNorm2d, Conv2d, Identity, Module } from '@nutshell/nn';
import { convGeometry, makeConv2d } from '../model/modules.js';
import { replaceModule } from '../model/quantize-model.js';

/**
 * Folds an eval-mode BatchNorm2d into the preceding Conv2d: with k = γ / √(running_var + ε),
 * W' = W · k (per output channel) and b' = (b − running_mean) · k + β. The returned conv (with bias)
 * equals conv → BN in eval mode.
 */
export function foldConvBn(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d)) throw new InvalidArgumentError('foldConvBn: expected a Conv2d and a BatchNorm2d');
  if (bn.numFeatures !== conv.outChannels) throw new InvalidArgumentError(`foldConvBn: BatchNorm2d has ${bn.numFeatures} features, the conv ${conv.outChannels} output channels`);
  if (!bn.runningMean || !bn.runningVar) throw new InvalidArgumentError('foldConvBn: the BatchNorm2d tracks no running statistics');
  const folded = makeConv2d(convGeometry(conv), conv.outChannels, conv.inChannels, true);
  tf.tidy(() => {
    const eps = bn.options.eps ?? 1e-5;
    const gamma = bn.weight ?? tf.onesLike(bn.runningVar!);
    const beta = bn.bias ?? tf.zerosLike(bn.runningMean!);
    const k = tf.div(gamma, tf.sqrt(tf.add(bn.runningVar!, eps)));
    folded.weight.assign(tf.mul(conv.weight, tf.reshape(k, [-1, 1, 1, 1])));
    const b = conv.bias ?? tf.zerosLike(bn.runningMean!);
    folded.bias!.assign(tf.add(tf.mul(tf.sub(b, bn.runningMean!), k), beta));
  });
  return folded;
}

/**
 * Folds every Conv2d immediately followed by a BatchNorm2d among the children of the same parent
 * (Sequential order), in place: the conv is replaced by the folded one and the BN by Identity.
 * Returns the folded conv paths. Use on an eval-mode model before quantizing.
 */
export function foldBatchNorms(model: Module): string[] {
  const folded: string[] = [];
  for (const [path, parent] of model.namedModules()) {
    const kids = parent.namedChildren();
    for (let i = 0; i + 1 < kids.length; i++) {
      const [cn, conv] = kids[i]!;
      const [bn, norm] = kids[i + 1]!;
      if (!(conv instanceof Conv2d) || !(norm instanceof BatchNorm2d)) continue;
      const full = (n: string) => (path ? `${path}.${n}` : n);
      replaceModule(model, full(cn), foldConvBn(conv, norm)).dispose();
      replaceModule(model, full(bn), new Identity()).dispose();
      folded.push(full(cn));
    }
  }
  return folded;
}
