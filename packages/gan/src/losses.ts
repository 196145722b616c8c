import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

/** The adversarial objectives of the GAN family. */
export type GanLossKind = 'minimax' | 'non-saturating' | 'wasserstein' | 'hinge' | 'lsgan';

export const GAN_LOSSES: readonly GanLossKind[] = ['minimax', 'non-saturating', 'wasserstein', 'hinge', 'lsgan'];

export interface DiscriminatorLossOptions {
  /**
   * Target for real samples (one-sided label smoothing, Salimans et al. 2016: e.g. 0.9). Only for
   * the probabilistic losses (minimax, non-saturating, lsgan); fakes keep target 0.
   */
  realLabel?: number;
}

export function checkLossKind(kind: string): asserts kind is GanLossKind {
  if (!GAN_LOSSES.includes(kind as GanLossKind)) {
    throw new InvalidArgumentError(`GAN loss must be one of ${GAN_LOSSES.join(', ')}, got ${JSON.stringify(kind)}`);
  }
}

/** log(1 + eˣ) without overflow: relu(x) + log1p(e^−|x|). */
function softplus(x: Tensor): Tensor {
  return tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/** Binary cross-entropy of logits against a constant target t: t·softplus(−x) + (1−t)·softplus(x). */
function bceConst(logits: Tensor, t: number): Tensor {
  if (t === 1) return tf.mean(softplus(tf.neg(logits)));
  if (t === 0) return tf.mean(softplus(logits));
  return tf.mean(tf.add(tf.mul(t, softplus(tf.neg(logits))), tf.mul(1 - t, softplus(logits))));
}

/**
 * The discriminator's (critic's) loss from its raw outputs on real and fake samples (logits for
 * minimax / non-saturating, scores for the others). Means over the batch (and over patches for
 * PatchGAN-shaped outputs).
 *  - minimax / non-saturating: −E log σ(D(x)) − E log(1 − σ(D(G(z))))   (Goodfellow et al. 2014)
 *  - wasserstein: E D(G(z)) − E D(x)                                       (Arjovsky et al. 2017)
 *  - hinge: E relu(1 − D(x)) + E relu(1 + D(G(z)))                          (Lim & Ye 2017; Miyato et al. 2018)
 *  - lsgan: ½ E (D(x) − 1)² + ½ E D(G(z))²                                  (Mao et al. 2017, a=0, b=c=1)
 */
export function discriminatorLoss(kind: GanLossKind, realOut: Tensor, fakeOut: Tensor, options: DiscriminatorLossOptions = {}): Tensor {
  checkLossKind(kind);
  const realLabel = options.realLabel ?? 1;
  if (options.realLabel !== undefined) {
    if (kind === 'wasserstein' || kind === 'hinge') throw new InvalidArgumentError(`label smoothing (realLabel) has no meaning for the ${kind} loss`);
    if (!(realLabel > 0 && realLabel <= 1)) throw new InvalidArgumentError(`realLabel must be in (0, 1], got ${realLabel}`);
  }
  return tf.tidy(() => {
    switch (kind) {
      case 'minimax':
      case 'non-saturating':
        return tf.add(bceConst(realOut, realLabel), bceConst(fakeOut, 0));
      case 'wasserstein':
        return tf.sub(tf.mean(fakeOut), tf.mean(realOut));
      case 'hinge':
        return tf.add(tf.mean(tf.relu(tf.sub(1, realOut))), tf.mean(tf.relu(tf.add(1, fakeOut))));
      case 'lsgan':
        return tf.mul(0.5, tf.add(tf.mean(tf.square(tf.sub(realOut, realLabel))), tf.mean(tf.square(fakeOut))));
    }
  });
}

/**
 * The generator's loss from the discriminator's outputs on fakes.
 *  - minimax: E log(1 − σ(D(G(z))))  (saturates when D wins; kept for completeness)
 *  - non-saturating: −E log σ(D(G(z)))
 *  - wasserstein / hinge: −E D(G(z))
 *  - lsgan: ½ E (D(G(z)) − 1)²
 */
export function generatorLoss(kind: GanLossKind, fakeOut: Tensor): Tensor {
  checkLossKind(kind);
  return tf.tidy(() => {
    switch (kind) {
      case 'minimax':
        return tf.neg(tf.mean(softplus(fakeOut)));
      case 'non-saturating':
        return tf.mean(softplus(tf.neg(fakeOut)));
      case 'wasserstein':
      case 'hinge':
        return tf.neg(tf.mean(fakeOut));
      case 'lsgan':
        return tf.mul(0.5, tf.mean(tf.square(tf.sub(fakeOut, 1))));
    }
  });
}
