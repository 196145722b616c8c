import { FormatError, InvalidArgumentError, NutshellError, Rng, loadSafetensors, saveSafetensors, tf, type Tensor } from '@nutshell/core';
import { BatchNorm1d, BatchNorm2d, NonFiniteError, disposeGrads, valueAndGrads, writeFileAtomic, type DataLoader, type Module, type Optimizer, type OptimizerStateDict } from '@nutshell/nn';
import { Ema } from './ema.js';
import { checkLossKind, discriminatorLoss, generatorLoss, type GanLossKind } from './losses.js';
import { InfoGANHead, mutualInformationLoss, sampleInfoCodes, type InfoCodes } from './models/infogan.js';
import { clipWeights, gradientPenalty, r1Penalty, type Critic } from './penalties.js';
import { writeImageGrid } from './png.js';
import { ReplayBuffer } from './replay.js';
import { annealedStd, consistencyLoss, instanceNoise, randomShift, type Augment } from './stabilizers.js';
import { restore, snapshot } from './unrolled.js';

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface GanStepLog {
  /** Generator updates so far. */
  step: number;
  epoch: number;
  /** Discriminator objective incl. penalties, averaged over the n_critic updates of this step. */
  dLoss: number;
  gLoss: number;
  /** Mean raw D output on real and on fake samples (last critic update). */
  dReal: number;
  dFake: number;
  /** Gradient / R1 / consistency penalty (last critic update), when enabled. */
  penalty?: number;
  /** Instance-noise std used this step, when enabled. */
  noiseStd?: number;
  /** InfoGAN: the mutual-information loss λ_cat·CE + λ_cont·NLL of the G step (lower = codes better recovered). */
  infoLoss?: number;
  seconds: number;
}

export interface GanTrainerOptions {
  generator: Module;
  discriminator: Module;
  /** Separate optimizers, so the two-time-scale update rule (TTUR, Heusel et al. 2017) is just two learning rates. */
  optimizerG: Optimizer<any>;
  optimizerD: Optimizer<any>;
  latentDim: number;
  /** Adversarial objective (default 'non-saturating'). */
  loss?: GanLossKind;
  /** Discriminator updates per generator update (default 1; WGAN uses 5). Each uses its own real batch. */
  nCritic?: number;
  /** WGAN-GP λ (0 / absent = off). D must not contain BatchNorm. */
  gradientPenalty?: number;
  /** R1 γ on real data (0 / absent = off). */
  r1?: number;
  /** WGAN weight clipping bound c (e.g. 0.01). */
  clipWeights?: number;
  /** One-sided label smoothing: real target (e.g. 0.9). */
  realLabel?: number;
  /** Instance noise: std at step 0, decayed linearly to 0 over `annealSteps` (default: constant). */
  instanceNoise?: { std: number; annealSteps?: number };
  /** Show D a mix of current and past fakes. */
  replay?: ReplayBuffer;
  /** Consistency regularization on real samples (CR-GAN): λ (default 10) and the augmentation (default random shifts of ≤ 2 px). */
  consistency?: { lambda?: number; augment?: Augment };
  /** Unrolled GAN: K look-ahead D steps before each G step, then D is restored. */
  unrollSteps?: number;
  /** Generator EMA (decay default 0.999), used for sample grids; `start` = first step to average. */
  ema?: boolean | { decay?: number; start?: number };
  /**
   * InfoGAN (Chen et al. 2016): G's input is [noise (latentDim), one-hot categorical code, continuous
   * codes U(−1, 1)], so G takes latentDim + numCategories + numContinuous inputs. The Q head reads D's
   * `features(x)` (D must have that method) and is trained with G on the mutual-information loss
   * λ_cat·CE + λ_cont·½‖c − μ‖² (defaults 1 and 0.1, the paper's MNIST setting), which is added to G's
   * objective; `optimizer` updates the head's parameters (include more, e.g. D's body, if you want
   * them trained on it too).
   */
  info?: { head: InfoGANHead; optimizer: Optimizer<any>; lambdaCat?: number; lambdaCont?: number };
  /** Class-conditional: batches are [x, labels] or {x, y}; G(z, y) and D(x, y). */
  conditional?: { numClasses: number };
  /** Fixed-noise sample grids written as PNG every `every` steps (and at the end) to `dir/step-NNNNNN.png`. */
  samples?: { every: number; dir: string; count?: number; nrow?: number; range?: [number, number] };
  /** Loss / diagnostics logs: JSON lines (or a progress line on a TTY) every `every` steps; false = off. */
  log?: false | { every?: number; stream?: Writable; mode?: 'auto' | 'json' | 'bar' };
  /** Atomic checkpoint every `every` steps (and at the end). */
  checkpoint?: { path: string; every: number };
  /** Applied to every real batch before D sees it (e.g. `progressiveReals` for ProGAN's current resolution and fade). */
  transformReal?: (x: Tensor, step: number) => Tensor;
  /** Clip each network's global gradient norm. */
  maxGradNorm?: number;
  seed?: number | string;
  /** Called after every step (may be async). */
  onStep?: (log: GanStepLog, trainer: GanTrainer) => void | Promise<void>;
}

export interface GanFitOptions {
  /** Generator steps to reach (counting from 0, so a resumed run continues up to it). */
  steps: number;
  resumeFrom?: string;
  /** Wall-time budget in seconds for this call: stops after the step that exceeds it (grids/checkpoint still written). */
  maxSeconds?: number;
}

type Batch = { x: Tensor; y?: Tensor };

function splitBatch(b: unknown): Batch {
  if (b && typeof b === 'object' && 'shape' in b) return { x: b as Tensor };
  if (Array.isArray(b)) return { x: b[0] as Tensor, y: b[1] as Tensor | undefined };
  if (b && typeof b === 'object' && 'x' in b) return { x: (b as Batch).x, y: (b as Batch).y };
  throw new InvalidArgumentError('GanTrainer: batches must be a tensor, [x, y] or { x, y }');
}

const hasBatchNorm = (m: Module) => m.modules().some((c) => c instanceof BatchNorm1d || c instanceof BatchNorm2d);

function readScalar(t: Tensor | undefined): number | undefined {
  if (!t) return undefined;
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

/**
 * Adversarial training loop: n_critic discriminator updates per generator update with separate
 * optimizers, any of the GAN losses with penalties (WGAN-GP, R1, clipping) and stabilizers (label
 * smoothing, instance noise, replay buffer, consistency regularization, unrolled D), generator EMA,
 * fixed-noise PNG sample grids, JSON-lines logs, NaN detection and atomic checkpoints that resume
 * bit-for-bit (weights, buffers, both optimizers, EMA, data position; noise is drawn per step from
 * the seed).
 */
export class GanTrainer {
  readonly G: Module;
  readonly D: Module;
  readonly optG: Optimizer<any>;
  readonly optD: Optimizer<any>;
  readonly kind: GanLossKind;
  readonly nCritic: number;
  readonly ema: Ema | undefined;
  readonly seed: number | string;
  step = 0;
  epoch = 0;
  batchInEpoch = 0;
  history: GanStepLog[] = [];
  /** Paths of the sample grids written so far. */
  readonly grids: string[] = [];
  private readonly fixedZ: Tensor;
  private readonly fixedLabels: Tensor | undefined;
  private readonly augment: Augment | undefined;
  private iter: Iterator<unknown> | undefined;
  private logStart = Date.now();

  constructor(readonly options: GanTrainerOptions) {
    const o = options;
    this.G = o.generator;
    this.D = o.discriminator;
    this.optG = o.optimizerG;
    this.optD = o.optimizerD;
    if (!this.G || !this.D || !this.optG || !this.optD) throw new InvalidArgumentError('GanTrainer: generator, discriminator, optimizerG and optimizerD are required');
    if (this.optG === this.optD) throw new InvalidArgumentError('GanTrainer: G and D need separate optimizers');
    this.kind = o.loss ?? 'non-saturating';
    checkLossKind(this.kind);
    this.nCritic = o.nCritic ?? 1;
    if (!Number.isInteger(this.nCritic) || this.nCritic < 1) throw new InvalidArgumentError(`GanTrainer: nCritic must be a positive integer, got ${this.nCritic}`);
    if (!Number.isInteger(o.latentDim) || o.latentDim < 1) throw new InvalidArgumentError(`GanTrainer: latentDim must be a positive integer, got ${o.latentDim}`);
    if ((o.gradientPenalty ?? 0) < 0 || (o.r1 ?? 0) < 0) throw new InvalidArgumentError('GanTrainer: gradientPenalty and r1 must be ≥ 0');
    if ((o.gradientPenalty || o.r1) && hasBatchNorm(this.D)) {
      throw new InvalidArgumentError('GanTrainer: gradient penalties need a discriminator without BatchNorm (samples would interact through batch statistics); use norm: "layer" or "none"');
    }
    if (o.clipWeights !== undefined && !(o.clipWeights > 0)) throw new InvalidArgumentError(`GanTrainer: clipWeights must be > 0, got ${o.clipWeights}`);
    if (o.realLabel !== undefined) discriminatorLoss(this.kind, tf.zeros([1]), tf.zeros([1]), { realLabel: o.realLabel }).dispose();
    if (o.unrollSteps !== undefined && (!Number.isInteger(o.unrollSteps) || o.unrollSteps < 0)) throw new InvalidArgumentError(`GanTrainer: unrollSteps must be a non-negative integer, got ${o.unrollSteps}`);
    if (o.info) {
      if (!(o.info.head instanceof InfoGANHead) || !o.info.optimizer) throw new InvalidArgumentError('GanTrainer: info needs { head: InfoGANHead, optimizer }');
      if (o.conditional) throw new InvalidArgumentError('GanTrainer: info and conditional cannot be combined (the categorical code plays the label\'s role)');
      if (typeof (this.D as { features?: unknown }).features !== 'function') throw new InvalidArgumentError('GanTrainer: InfoGAN needs a discriminator with a features(x) method for the Q head');
      if (o.info.optimizer === this.optG || o.info.optimizer === this.optD) throw new InvalidArgumentError('GanTrainer: the Q head needs its own optimizer');
      if (!((o.info.lambdaCat ?? 1) >= 0 && (o.info.lambdaCont ?? 0.1) >= 0)) throw new InvalidArgumentError(`GanTrainer: info.lambdaCat and info.lambdaCont must be ≥ 0, got ${o.info.lambdaCat} and ${o.info.lambdaCont}`);
    }
    if (o.replay && o.conditional) throw new InvalidArgumentError('GanTrainer: a replay buffer would pair past fakes with the wrong labels in a conditional GAN');
    if (o.instanceNoise && !(o.instanceNoise.std >= 0)) throw new InvalidArgumentError(`GanTrainer: instanceNoise.std must be ≥ 0, got ${o.instanceNoise.std}`);
    if (o.samples && !(Number.isInteger(o.samples.every) && o.samples.every > 0)) throw new InvalidArgumentError(`GanTrainer: samples.every must be a positive integer, got ${o.samples.every}`);
    if (o.checkpoint && !(Number.isInteger(o.checkpoint.every) && o.checkpoint.every > 0)) throw new InvalidArgumentError(`GanTrainer: checkpoint.every must be a positive integer, got ${o.checkpoint.every}`);
    this.seed = o.seed ?? 0;
    this.augment = o.consistency ? (o.consistency.augment ?? randomShift({ maxShift: 2 })) : undefined;
    this.ema = o.ema ? new Ema(this.G, typeof o.ema === 'object' ? (o.ema.decay ?? 0.999) : 0.999) : undefined;
    const count = o.samples?.count ?? 64;
    const fixed = new Rng(this.seed).fork('fixed-noise');
    this.fixedZ = o.info ? this.withCodes(fixed.normalTensor([count, o.latentDim]), fixedInfoCodes(count, o.info.head, fixed)) : fixed.normalTensor([count, o.latentDim]);
    this.fixedLabels = o.conditional ? tf.tensor1d(Int32Array.from({ length: count }, (_, i) => i % o.conditional!.numClasses), 'int32') : undefined;
  }

  private rng(label: string): Rng {
    return new Rng(`${String(this.seed)}/step${this.step}/${label}`);
  }

  /** [noise, one-hot, continuous] → G's input; disposes the parts. */
  private withCodes(noise: Tensor, codes: InfoCodes): Tensor {
    const z = tf.concat([noise, codes.oneHot, codes.continuous], 1);
    tf.dispose([noise, codes.oneHot, codes.continuous, codes.categories]);
    return z;
  }

  /** G's input for n samples: noise, plus InfoGAN codes when enabled (returned so the G step can score them). */
  private latent(n: number, rng: Rng): { z: Tensor; codes?: InfoCodes } {
    const noise = rng.normalTensor([n, this.options.latentDim]);
    const info = this.options.info;
    if (!info) return { z: noise };
    const codes = sampleInfoCodes(n, info.head.numCategories, info.head.numContinuous, rng);
    return { z: tf.concat([noise, codes.oneHot, codes.continuous], 1), codes: (noise.dispose(), codes) };
  }

  private gen(z: Tensor, y?: Tensor): Tensor {
    return y ? this.G.forward(z, y) : this.G.forward(z);
  }

  private critic(y?: Tensor): Critic {
    return (x) => (y ? this.D.forward(x, y) : this.D.forward(x));
  }

  private nextBatch(data: DataLoader<any, any>): Batch {
    for (let tries = 0; tries < 2; tries++) {
      this.iter ??= data.batches(this.epoch, this.batchInEpoch);
      const r = this.iter.next();
      if (!r.done) {
        this.batchInEpoch++;
        const b = splitBatch(r.value);
        if (this.options.conditional && !b.y) throw new InvalidArgumentError('GanTrainer: a conditional GAN needs batches with labels ([x, y] or { x, y })');
        if (this.options.transformReal) {
          const x = this.options.transformReal(b.x, this.step);
          if (x !== b.x) b.x.dispose();
          b.x = x;
        }
        return b;
      }
      this.epoch++;
      this.batchInEpoch = 0;
      this.iter = undefined;
    }
    throw new InvalidArgumentError('GanTrainer: the data loader yields no batches');
  }

  /** One discriminator update on a real batch; returns loss parts. */
  private dUpdate(real: Batch, label: string): { loss: number; dReal: number; dFake: number; penalty?: number; noiseStd?: number } {
    const o = this.options;
    const rng = this.rng(label);
    const n = real.x.shape[0]!;
    const lat = this.latent(n, rng);
    const fake0 = tf.tidy(() => this.gen(lat.z, real.y));
    disposeLatent(lat);
    const fake = o.replay ? o.replay.query(fake0) : fake0;
    if (fake !== fake0) fake0.dispose();
    const std = o.instanceNoise ? annealedStd(o.instanceNoise.std, this.step, o.instanceNoise.annealSteps ?? 0) : 0;
    const realIn = std > 0 ? instanceNoise(real.x, std, rng) : real.x;
    const fakeIn = std > 0 ? instanceNoise(fake, std, rng) : fake;
    const critic = this.critic(real.y);
    const parts: Record<string, Tensor> = {};
    try {
      const { value, grads } = valueAndGrads(() => {
        const r = critic(realIn);
        const f = critic(fakeIn);
        parts.dReal = tf.keep(tf.mean(r));
        parts.dFake = tf.keep(tf.mean(f));
        let loss = discriminatorLoss(this.kind, r, f, { realLabel: o.realLabel });
        const pens: Tensor[] = [];
        if (o.gradientPenalty) pens.push(gradientPenalty(critic, real.x, fake, { lambda: o.gradientPenalty, rng }));
        if (o.r1) pens.push(r1Penalty(critic, real.x, o.r1));
        if (this.augment) pens.push(consistencyLoss(critic, real.x, this.augment, rng, o.consistency!.lambda ?? 10));
        if (pens.length) {
          const p = tf.addN(pens);
          parts.penalty = tf.keep(p);
          loss = tf.add(loss, p);
        }
        return loss;
      }, this.D.parameters());
      const loss = value.dataSync()[0]!;
      value.dispose();
      if (!Number.isFinite(loss)) {
        disposeGrads(grads);
        throw new NonFiniteError(this.step + 1, this.epoch, 'the discriminator loss', loss);
      }
      this.optD.step(grads, { maxGradNorm: o.maxGradNorm });
      disposeGrads(grads);
      if (o.clipWeights) clipWeights(this.D, o.clipWeights);
      return { loss, dReal: readScalar(parts.dReal)!, dFake: readScalar(parts.dFake)!, penalty: readScalar(parts.penalty), noiseStd: o.instanceNoise ? std : undefined };
    } finally {
      for (const t of Object.values(parts)) if (!t.isDisposed) t.dispose();
      fake.dispose();
      if (realIn !== real.x) realIn.dispose();
      if (fakeIn !== fake) fakeIn.dispose();
    }
  }

  private gUpdate(n: number): { loss: number; infoLoss?: number } {
    const o = this.options;
    const rng = this.rng('g');
    const lat = this.latent(n, rng);
    const y = o.conditional ? tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(o.conditional!.numClasses)), 'int32') : undefined;
    let info: Tensor | undefined;
    try {
      const params = o.info ? [...this.G.parameters(), ...o.info.head.parameters()] : this.G.parameters();
      const { value, grads } = valueAndGrads(() => {
        const fake = this.gen(lat.z, y);
        if (!o.info) return generatorLoss(this.kind, this.critic(y)(fake));
        // One pass through D's body feeds both its logit head (when it exposes one) and Q.
        const D = this.D as Module & { features(x: Tensor): Tensor; head?: Module };
        const f = D.features(fake);
        const logits = D.head instanceof Object && typeof D.head.forward === 'function' ? D.head.forward(f) : D.forward(fake);
        const mi = mutualInformationLoss(o.info.head.forward(f), lat.codes!, { lambdaCat: o.info.lambdaCat, lambdaCont: o.info.lambdaCont });
        info = tf.keep(mi);
        return tf.add(generatorLoss(this.kind, logits), mi);
      }, params);
      const loss = value.dataSync()[0]!;
      value.dispose();
      if (!Number.isFinite(loss)) {
        disposeGrads(grads);
        throw new NonFiniteError(this.step + 1, this.epoch, 'the generator loss', loss);
      }
      this.optG.step(grads, { maxGradNorm: o.maxGradNorm });
      o.info?.optimizer.step(grads, { maxGradNorm: o.maxGradNorm });
      disposeGrads(grads);
      const infoLoss = readScalar(info);
      return infoLoss === undefined ? { loss } : { loss: loss - infoLoss, infoLoss };
    } finally {
      if (info && !info.isDisposed) info.dispose();
      disposeLatent(lat);
      y?.dispose();
    }
  }

  /** One generator step: n_critic D updates (each on a fresh real batch), optional unrolling, one G update, EMA. */
  trainStep(data: DataLoader<any, any>): GanStepLog {
    const t0 = Date.now();
    const o = this.options;
    let dSum = 0;
    let last: ReturnType<GanTrainer['dUpdate']> | undefined;
    let n = 0;
    let lastReal: Batch | undefined;
    try {
      for (let i = 0; i < this.nCritic; i++) {
        const real = this.nextBatch(data);
        try {
          last = this.dUpdate(real, `d${i}`);
          dSum += last.loss;
          n = real.x.shape[0]!;
        } finally {
          if (i === this.nCritic - 1 && o.unrollSteps) lastReal = real;
          else disposeBatch(real);
        }
      }
      let g: ReturnType<GanTrainer['gUpdate']>;
      if (o.unrollSteps) {
        const s = snapshot(this.D, this.optD);
        try {
          for (let k = 0; k < o.unrollSteps; k++) this.dUpdate(lastReal!, `unroll${k}`);
          g = this.gUpdate(n);
        } finally {
          restore(this.D, this.optD, s);
        }
      } else {
        g = this.gUpdate(n);
      }
      this.step++;
      if (this.ema && this.step >= (typeof o.ema === 'object' ? (o.ema.start ?? 0) : 0)) this.ema.update();
      const log: GanStepLog = { step: this.step, epoch: this.epoch, dLoss: dSum / this.nCritic, gLoss: g.loss, dReal: last!.dReal, dFake: last!.dFake, seconds: (Date.now() - t0) / 1000 };
      if (last!.penalty !== undefined) log.penalty = last!.penalty;
      if (last!.noiseStd !== undefined) log.noiseStd = last!.noiseStd;
      if (g.infoLoss !== undefined) log.infoLoss = g.infoLoss;
      this.history.push(log);
      return log;
    } finally {
      if (lastReal) disposeBatch(lastReal);
    }
  }

  /** Trains until `steps` generator steps; writes grids, logs and checkpoints on schedule. */
  async fit(data: DataLoader<any, any>, options: GanFitOptions): Promise<GanStepLog[]> {
    if (options.resumeFrom) await this.loadCheckpoint(options.resumeFrom);
    if (!Number.isInteger(options.steps) || options.steps < 0) throw new InvalidArgumentError(`GanTrainer.fit: steps must be a non-negative integer, got ${options.steps}`);
    const o = this.options;
    this.G.train();
    this.D.train();
    this.logStart = Date.now();
    const logCfg = o.log === false ? undefined : (o.log ?? {});
    const stream = logCfg ? (logCfg.stream ?? (globalThis as { process?: { stderr?: Writable } }).process?.stderr) : undefined;
    const mode = logCfg?.mode === 'bar' || (logCfg?.mode !== 'json' && stream?.isTTY) ? 'bar' : 'json';
    const every = logCfg?.every ?? (mode === 'bar' ? 1 : 50);
    const first = this.step;
    if (options.maxSeconds !== undefined && !(options.maxSeconds >= 0)) throw new InvalidArgumentError(`GanTrainer.fit: maxSeconds must be ≥ 0, got ${options.maxSeconds}`);
    const deadline = options.maxSeconds === undefined ? Infinity : Date.now() + options.maxSeconds * 1000;
    while (this.step < options.steps && Date.now() < deadline) {
      const log = this.trainStep(data);
      if (stream && (log.step % every === 0 || log.step === options.steps)) this.writeLog(stream, mode, log, options.steps);
      if (o.samples && log.step % o.samples.every === 0) await this.writeSamples();
      if (o.checkpoint && log.step % o.checkpoint.every === 0) await this.saveCheckpoint(o.checkpoint.path);
      await o.onStep?.(log, this);
    }
    if (this.step > first) {
      if (o.samples && this.step % o.samples.every !== 0) await this.writeSamples();
      if (o.checkpoint && this.step % o.checkpoint.every !== 0) await this.saveCheckpoint(o.checkpoint.path);
    }
    if (stream && mode === 'bar') stream.write('\n');
    return this.history;
  }

  private writeLog(stream: Writable, mode: 'bar' | 'json', log: GanStepLog, total: number): void {
    if (mode === 'json') {
      stream.write(`${JSON.stringify({ event: 'gan-step', ...log })}\n`);
      return;
    }
    const secs = ((Date.now() - this.logStart) / 1000).toFixed(1);
    stream.write(`\rstep ${log.step}/${total} D ${log.dLoss.toFixed(4)} G ${log.gLoss.toFixed(4)} D(x) ${log.dReal.toFixed(3)} D(G(z)) ${log.dFake.toFixed(3)}${log.penalty !== undefined ? ` pen ${log.penalty.toFixed(4)}` : ''}${log.infoLoss !== undefined ? ` MI ${log.infoLoss.toFixed(4)}` : ''} ${secs}s`);
  }

  /**
   * Generates from the fixed noise (EMA weights when enabled) in eval mode; the caller owns the
   * result ([count, H, W, C]).
   */
  fixedSamples(): Tensor {
    const run = () => {
      const was = this.G.training;
      this.G.eval();
      try {
        return tf.tidy(() => this.gen(this.fixedZ, this.fixedLabels));
      } finally {
        this.G.train(was);
      }
    };
    return this.ema ? this.ema.withAveraged(run) : run();
  }

  /** Writes the fixed-noise grid for the current step; returns its path. */
  async writeSamples(path?: string): Promise<string> {
    const s = this.options.samples;
    const file = path ?? `${s?.dir ?? '.'}/step-${String(this.step).padStart(6, '0')}.png`;
    const x = this.fixedSamples();
    try {
      await writeImageGrid(file, x, { nrow: s?.nrow, range: s?.range });
    } finally {
      x.dispose();
    }
    this.grids.push(file);
    return file;
  }

  /** Writes G, D, both optimizers, the EMA and the loop position to one safetensors file, atomically. */
  async saveCheckpoint(path: string): Promise<void> {
    const og = this.optG.stateDict();
    const od = this.optD.stateDict();
    const oq = this.options.info?.optimizer.stateDict();
    try {
      const tensors: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(this.G.stateDict())) tensors[`g.${k}`] = v;
      for (const [k, v] of Object.entries(this.D.stateDict())) tensors[`d.${k}`] = v;
      for (const [k, v] of Object.entries(og.tensors)) tensors[`optG.${k}`] = v;
      for (const [k, v] of Object.entries(od.tensors)) tensors[`optD.${k}`] = v;
      if (this.ema) for (const [k, v] of Object.entries(this.ema.stateDict())) tensors[`ema.${k}`] = v;
      if (this.options.info) for (const [k, v] of Object.entries(this.options.info.head.stateDict())) tensors[`q.${k}`] = v;
      if (oq) for (const [k, v] of Object.entries(oq.tensors)) tensors[`optQ.${k}`] = v;
      const state = {
        step: this.step, epoch: this.epoch, batchInEpoch: this.batchInEpoch, optG: og.meta, optD: od.meta, optQ: oq?.meta,
        gExtra: this.G.extraState(), dExtra: this.D.extraState(), emaUpdates: this.ema?.updates ?? 0,
        replay: this.options.replay?.getState(), history: this.history,
      };
      await writeFileAtomic(path, saveSafetensors(tensors, { metadata: { format: 'nutshell-gan', state: JSON.stringify(state) } }));
    } finally {
      for (const t of [...Object.values(og.tensors), ...Object.values(od.tensors), ...Object.values(oq?.tensors ?? {})]) t.dispose();
    }
  }

  async loadCheckpoint(path: string): Promise<void> {
    const fs = await import('node:fs/promises');
    const { tensors, metadata } = loadSafetensors(new Uint8Array(await fs.readFile(path)));
    try {
      if (metadata?.format !== 'nutshell-gan' || !metadata.state) throw new FormatError('GAN checkpoint', `${path} is not a GanTrainer checkpoint`);
      const st = JSON.parse(metadata.state) as {
        step: number; epoch: number; batchInEpoch: number; optG: OptimizerStateDict['meta']; optD: OptimizerStateDict['meta']; optQ?: OptimizerStateDict['meta'];
        gExtra: Record<string, unknown>; dExtra: Record<string, unknown>; emaUpdates: number; replay?: ReturnType<ReplayBuffer['getState']>; history: GanStepLog[];
      };
      const pick = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      this.G.loadStateDict(pick('g.'));
      this.D.loadStateDict(pick('d.'));
      this.optG.loadStateDict({ tensors: pick('optG.'), meta: st.optG });
      this.optD.loadStateDict({ tensors: pick('optD.'), meta: st.optD });
      const ema = pick('ema.');
      if (this.ema) {
        if (Object.keys(ema).length === 0) throw new FormatError('GAN checkpoint', `${path} has no EMA weights but the trainer uses EMA`);
        this.ema.loadStateDict(ema);
        this.ema.updates = st.emaUpdates;
      }
      if (this.options.info) {
        if (!st.optQ) throw new FormatError('GAN checkpoint', `${path} has no InfoGAN Q head but the trainer uses one`);
        this.options.info.head.loadStateDict(pick('q.'));
        this.options.info.optimizer.loadStateDict({ tensors: pick('optQ.'), meta: st.optQ });
      }
      if (this.options.replay && st.replay) this.options.replay.setState(st.replay);
      this.G.loadExtraState(st.gExtra);
      this.D.loadExtraState(st.dExtra);
      this.step = st.step;
      this.epoch = st.epoch;
      this.batchInEpoch = st.batchInEpoch;
      this.history = st.history;
      this.iter = undefined;
    } catch (e) {
      if (e instanceof NutshellError) throw e;
      throw new FormatError('GAN checkpoint', `${path}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  /** Frees the trainer's own tensors (fixed noise, EMA); the models and optimizers stay. */
  dispose(): void {
    this.fixedZ.dispose();
    this.fixedLabels?.dispose();
    this.ema?.dispose();
  }
}

function disposeLatent(l: { z: Tensor; codes?: InfoCodes }): void {
  l.z.dispose();
  if (l.codes) tf.dispose([l.codes.categories, l.codes.oneHot, l.codes.continuous]);
}

/** Fixed-grid codes: category i mod K (so a grid row of K shows every category), continuous codes from the fixed stream. */
function fixedInfoCodes(count: number, head: InfoGANHead, rng: Rng): InfoCodes {
  return tf.tidy(() => {
    const categories = tf.tensor1d(Int32Array.from({ length: count }, (_, i) => i % head.numCategories), 'int32');
    return { categories, oneHot: tf.cast(tf.oneHot(categories, head.numCategories), 'float32'), continuous: rng.uniformTensor([count, head.numContinuous], -1, 1) };
  });
}

function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y?.dispose();
}
