import { InvalidArgumentError, tf, type CommandSpec } from '@nutshell/core';
import { gaussianRing, loadMnist, moons, swissRoll } from '@nutshell/datasets';
import { writeFileAtomic } from '@nutshell/nn';
import { checkPredictionType } from './forward.js';
import { imageGrid, scatterPng } from './image.js';
import { loadDiffusionModel, saveDiffusionModel } from './io.js';
import { MLPDenoiser } from './models/mlp-denoiser.js';
import { UNet } from './models/unet.js';
import { generate } from './pipelines/generate.js';
import { NoiseSchedule, type BetaScheduleName } from './schedule.js';
import { createScheduler, SCHEDULERS } from './schedulers/index.js';
import type { TimestepSpacing } from './spacing.js';
import { trainDenoiser } from './train.js';

const TOY = { 'swiss-roll': swissRoll, moons, 'gaussian-ring': gaussianRing } as const;

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || !v) throw new InvalidArgumentError(`diffusion: --${name} is required`);
  return v;
}

/**
 * `nutshell diffusion <train | sample | schedulers>`:
 *   train  --data swiss-roll|moons|gaussian-ring|mnist --steps N --out DIR
 *   sample --model DIR --scheduler ddim --steps 50 --out grid.png [--n 16 --class 3 --guidance 3]
 */
export const diffusionCommand: CommandSpec = {
  summary: 'train a small diffusion model, or sample one with any scheduler into a PNG',
  description: 'Actions: train (toy 2-D sets or class-conditional MNIST), sample (PNG grid / scatter), schedulers (list).',
  args: [{ name: 'action', description: 'train, sample or schedulers', required: true }],
  options: [
    { name: 'model', type: 'string', description: 'model folder (sample: read; train: written, same as --out-dir)' },
    { name: 'data', type: 'string', description: 'train: swiss-roll, moons, gaussian-ring or mnist', default: 'swiss-roll' },
    { name: 'scheduler', type: 'string', description: `sample: ${Object.keys(SCHEDULERS).join(', ')}`, default: 'ddim' },
    { name: 'steps', type: 'number', description: 'sample: inference steps; train: optimizer steps' },
    { name: 'spacing', type: 'string', description: 'timestep spacing: leading, trailing or linspace (scheduler default when omitted)' },
    { name: 'karras', type: 'boolean', description: 'Karras σ spacing (dpmpp-2m, euler, heun)', default: false },
    { name: 'eta', type: 'number', description: 'DDIM η', default: 0 },
    { name: 'n', type: 'number', description: 'sample: how many samples', default: 16 },
    { name: 'class', type: 'number', description: 'sample: class label for a class-conditional model' },
    { name: 'guidance', type: 'number', description: 'sample: classifier-free guidance scale', default: 1 },
    { name: 'batch-size', type: 'number', description: 'train: batch size', default: 128 },
    { name: 'lr', type: 'number', description: 'train: learning rate', default: 0.001 },
    { name: 'prediction-type', type: 'string', description: 'train: epsilon, sample or v_prediction', default: 'epsilon' },
    { name: 'beta-schedule', type: 'string', description: 'train: linear, scaled-linear, cosine or sigmoid', default: 'linear' },
    { name: 'out-dir', type: 'string', description: 'train: folder for model.json + model.safetensors' },
  ],
  async run({ args, options, print }) {
    const action = args[0];
    const seed = typeof options.seed === 'number' ? options.seed : 0;
    if (action === 'schedulers') {
      for (const n of Object.keys(SCHEDULERS)) print(n);
      return { schedulers: Object.keys(SCHEDULERS) };
    }
    if (action === 'train') {
      const dir = str(options['out-dir'] ?? options.model, 'out-dir');
      const dataName = String(options.data);
      const predictionType = checkPredictionType(String(options['prediction-type']));
      const schedule = new NoiseSchedule({ betaSchedule: String(options['beta-schedule']) as BetaScheduleName });
      const steps = Number(options.steps ?? 2000);
      let model: MLPDenoiser | UNet;
      let data: tf.Tensor;
      let labels: tf.Tensor | undefined;
      let sampleShape: number[];
      if (dataName === 'mnist') {
        const mnist = await loadMnist({ range: [-1, 1] });
        data = tf.tensor4d(mnist.train.x as Float32Array, [mnist.train.length, 28, 28, 1]);
        labels = tf.tensor1d(Int32Array.from(mnist.train.y as ArrayLike<number>), 'int32');
        model = new UNet({ inChannels: 1, baseChannels: 32, channelMults: [1, 2, 2], numClasses: 10, seed });
        sampleShape = [28, 28, 1];
      } else {
        const make = TOY[dataName as keyof typeof TOY];
        if (!make) throw new InvalidArgumentError(`diffusion train: unknown --data ${JSON.stringify(dataName)}; use ${[...Object.keys(TOY), 'mnist'].join(', ')}`);
        const ds = make({ n: 4000, seed });
        data = tf.tensor2d(ds.x as Float32Array, [ds.length, 2]);
        model = new MLPDenoiser({ dim: 2, hidden: 128, blocks: 3, seed });
        sampleShape = [2];
      }
      const started = performance.now();
      const { losses, ema } = trainDenoiser({
        model, data, labels, schedule, steps, predictionType, rng: seed,
        batchSize: Number(options['batch-size']), lr: Number(options.lr), emaDecay: 0.995,
        onStep: ({ step, loss }) => { if (step % Math.max(1, Math.floor(steps / 10)) === 0) print(`step ${step}: loss ${loss.toFixed(4)}`); },
      });
      ema?.copyTo(model);
      ema?.dispose();
      data.dispose();
      labels?.dispose();
      const kind = model instanceof UNet ? 'unet' : 'mlp-denoiser';
      await saveDiffusionModel(dir, model, { kind, options: model instanceof UNet ? { ...model.config } : model.options, predictionType, schedule, data: dataName, sampleShape });
      const seconds = (performance.now() - started) / 1000;
      print(`saved ${dir} (${model.numParameters()} parameters, final loss ${losses.at(-1)!.toFixed(4)}, ${seconds.toFixed(1)} s)`);
      return { dir, steps, finalLoss: losses.at(-1), seconds };
    }
    if (action === 'sample') {
      const dir = str(options.model, 'model');
      const out = str(options.out, 'out');
      const { model, schedule, config } = await loadDiffusionModel(dir);
      const scheduler = createScheduler(String(options.scheduler), {
        schedule, predictionType: config.predictionType, useKarrasSigmas: Boolean(options.karras), eta: Number(options.eta),
        timestepSpacing: options.spacing as TimestepSpacing | undefined,
      });
      const n = Number(options.n);
      const steps = Number(options.steps ?? 50);
      const label = options.class;
      const started = performance.now();
      const { samples, modelCalls } = generate({
        model, scheduler, shape: [n, ...config.sampleShape], steps, rng: seed,
        classLabels: typeof label === 'number' ? [label] : model.numClasses ? Array.from({ length: n }, (_, i) => i % model.numClasses!) : undefined,
        guidanceScale: Number(options.guidance),
      });
      const png = config.sampleShape.length === 3 ? imageGrid(samples, { range: [-1, 1] }) : scatterPng(samples);
      samples.dispose();
      await writeFileAtomic(out, png);
      const seconds = (performance.now() - started) / 1000;
      print(`wrote ${out}: ${n} samples, ${scheduler.name}, ${modelCalls} model calls, ${seconds.toFixed(1)} s`);
      return { out, n, scheduler: scheduler.name, steps, modelCalls, seconds };
    }
    throw new InvalidArgumentError(`diffusion: action must be train, sample or schedulers, got ${JSON.stringify(action)}`);
  },
};
