import { InvalidArgumentError, ShapeError, tf, type Tensor } from '@nutshell/core';
import { disposeGrads, valueAndGrads, type Module, type Optimizer } from '@nutshell/nn';
import { checkLossKind, discriminatorLoss, generatorLoss, type GanLossKind } from './losses.js';
import { cycleConsistencyLoss, identityLoss } from './models/image2image.js';
import { ReplayBuffer } from './replay.js';

export interface CycleGanOptions {
  /** Generator A → B. */
  gAB: Module;
  /** Generator B → A. */
  gBA: Module;
  /** Discriminator of domain A images (real A vs gBA(b)). */
  dA: Module;
  /** Discriminator of domain B images (real B vs gAB(a)). */
  dB: Module;
  /** One optimizer over both generators' parameters (the reference chains them). */
  optimizerG: Optimizer<any>;
  /** One optimizer over both discriminators' parameters. */
  optimizerD: Optimizer<any>;
  /** Adversarial objective (default 'lsgan', as the paper). */
  loss?: GanLossKind;
  /** Cycle-consistency weight λ (default 10), applied to both directions. */
  lambdaCycle?: number;
  /** Identity weight as a fraction of λ (default 0.5, so 5 for λ = 10); 0 = off. */
  lambdaIdentity?: number;
  /** Image pool per discriminator (default 50 past fakes, swapped with probability 0.5); 0 = off. */
  poolSize?: number;
  seed?: number | string;
}

export interface CycleGanLosses {
  step: number;
  /** Total generator objective. */
  g: number;
  /** Adversarial terms of gAB (fooling dB) and gBA (fooling dA). */
  gAB: number;
  gBA: number;
  /** λ-weighted cycle losses A → B → A and B → A → B. */
  cycleA: number;
  cycleB: number;
  /** Weighted identity losses |b − gAB(b)| and |a − gBA(a)| (0 when off). */
  identityB: number;
  identityA: number;
  /** Discriminator objectives (½ of real + fake, as the reference). */
  dA: number;
  dB: number;
}

/**
 * CycleGAN training step (Zhu et al. 2017) for unpaired batches of two domains: first both
 * generators on adversarial + λ·(cycle A + cycle B) + λ_id·λ·(identity A + identity B), then both
 * discriminators on the fakes of that forward pass, each passed through its image pool. With the
 * LSGAN loss G's adversarial term is E(D(G(x)) − 1)² (the reference's MSELoss, not ½ of it) and D's
 * is ½[E(D(x) − 1)² + E D(G(x))²].
 */
export class CycleGan {
  readonly loss: GanLossKind;
  readonly lambdaCycle: number;
  readonly lambdaIdentity: number;
  readonly poolA: ReplayBuffer;
  readonly poolB: ReplayBuffer;
  private steps = 0;
  constructor(readonly options: CycleGanOptions) {
    this.loss = options.loss ?? 'lsgan';
    checkLossKind(this.loss);
    this.lambdaCycle = options.lambdaCycle ?? 10;
    this.lambdaIdentity = options.lambdaIdentity ?? 0.5;
    if (!(this.lambdaCycle >= 0)) throw new InvalidArgumentError(`CycleGan: lambdaCycle must be ≥ 0, got ${this.lambdaCycle}`);
    if (!(this.lambdaIdentity >= 0)) throw new InvalidArgumentError(`CycleGan: lambdaIdentity must be ≥ 0, got ${this.lambdaIdentity}`);
    const seed = options.seed ?? 0;
    this.poolA = new ReplayBuffer(options.poolSize ?? 50, 0.5, `${seed}/A`);
    this.poolB = new ReplayBuffer(options.poolSize ?? 50, 0.5, `${seed}/B`);
  }

  get step(): number {
    return this.steps;
  }

  private advG(out: Tensor): Tensor {
    return this.loss === 'lsgan' ? tf.mean(tf.square(tf.sub(out, 1))) : generatorLoss(this.loss, out);
  }

  /** One G update then one D update on a batch of each domain (NHWC; they need not be paired). */
  trainStep(a: Tensor, b: Tensor): CycleGanLosses {
    const { gAB, gBA, dA, dB, optimizerG, optimizerD } = this.options;
    if (a.rank < 2 || b.rank < 2) throw new ShapeError(`CycleGan.trainStep: expected batches, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
    const lc = this.lambdaCycle;
    const li = this.lambdaIdentity * lc;
    const parts: Record<string, Tensor> = {};
    let fakeA: Tensor | undefined;
    let fakeB: Tensor | undefined;
    const gParams = [...gAB.parameters(), ...gBA.parameters()];
    const g = valueAndGrads(() => {
      const fb = gAB.forward(a);
      const fa = gBA.forward(b);
      // The D step reuses this pass's fakes (detached), as the reference does.
      fakeB = tf.keep(tf.clone(fb));
      fakeA = tf.keep(tf.clone(fa));
      const terms: Record<string, Tensor> = {
        gAB: this.advG(dB.forward(fb)),
        gBA: this.advG(dA.forward(fa)),
        cycleA: cycleConsistencyLoss(a, gBA.forward(fb), lc),
        cycleB: cycleConsistencyLoss(b, gAB.forward(fa), lc),
      };
      if (li > 0) {
        terms.identityB = identityLoss(b, gAB.forward(b), li);
        terms.identityA = identityLoss(a, gBA.forward(a), li);
      }
      for (const [k, v] of Object.entries(terms)) parts[k] = tf.keep(tf.clone(v));
      return tf.addN(Object.values(terms));
    }, gParams);
    optimizerG.step(g.grads);
    disposeGrads(g.grads);

    const pooledA = this.poolA.query(fakeA!);
    const pooledB = this.poolB.query(fakeB!);
    const dParams = [...dA.parameters(), ...dB.parameters()];
    const d = valueAndGrads(() => {
      const la = discriminatorLoss(this.loss, dA.forward(a), dA.forward(pooledA));
      const lb = discriminatorLoss(this.loss, dB.forward(b), dB.forward(pooledB));
      parts.dA = tf.keep(tf.clone(la));
      parts.dB = tf.keep(tf.clone(lb));
      return tf.add(la, lb);
    }, dParams);
    optimizerD.step(d.grads);
    disposeGrads(d.grads);

    const num = (k: string): number => (parts[k] ? parts[k]!.dataSync()[0]! : 0);
    this.steps++;
    const out: CycleGanLosses = {
      step: this.steps,
      g: g.value.dataSync()[0]!,
      gAB: num('gAB'), gBA: num('gBA'),
      cycleA: num('cycleA'), cycleB: num('cycleB'),
      identityB: num('identityB'), identityA: num('identityA'),
      dA: num('dA'), dB: num('dB'),
    };
    tf.dispose([g.value, d.value, fakeA!, fakeB!, pooledA, pooledB, ...Object.values(parts)]);
    return out;
  }
}
