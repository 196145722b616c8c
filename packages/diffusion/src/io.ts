import { FormatError, InvalidArgumentError } from '@nutshell/core';
import { loadModule, saveModule, writeFileAtomic, type Module } from '@nutshell/nn';
import { checkPredictionType, type PredictionType } from './forward.js';
import { MLPDenoiser, type MLPDenoiserOptions } from './models/mlp-denoiser.js';
import { UNet, type UNetOptions } from './models/unet.js';
import { NoiseSchedule } from './schedule.js';
import type { VarianceType } from './variational.js';

/** The models registry: denoiser constructors by name. */
export const MODELS = Object.freeze({ 'mlp-denoiser': MLPDenoiser, unet: UNet });
export type ModelKind = keyof typeof MODELS;

/** What `model.json` next to `model.safetensors` holds. */
export interface DiffusionModelConfig {
  kind: ModelKind;
  options: MLPDenoiserOptions | UNetOptions;
  predictionType: PredictionType;
  /** 'learned_range' for a model trained with learned variance (sample it with ddpm's varianceType 'learned_range'). */
  varianceType?: VarianceType;
  schedule: ReturnType<NoiseSchedule['toJSON']>;
  /** Data description (e.g. "mnist [-1, 1]", "swiss-roll"), for humans. */
  data?: string;
  sampleShape: number[];
}

export interface LoadedDiffusionModel {
  model: MLPDenoiser | UNet;
  schedule: NoiseSchedule;
  config: DiffusionModelConfig;
}

/** Saves a denoiser as DIR/model.json + DIR/model.safetensors. */
export async function saveDiffusionModel(dir: string, model: Module, config: Omit<DiffusionModelConfig, 'schedule'> & { schedule: NoiseSchedule }): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.mkdir(dir, { recursive: true });
  const json: DiffusionModelConfig = { ...config, options: { ...config.options, seed: undefined }, schedule: config.schedule.toJSON() };
  await saveModule(`${dir}/model.safetensors`, model, { format: 'nutshell-diffusion' });
  await writeFileAtomic(`${dir}/model.json`, JSON.stringify(json, null, 1));
}

/** Loads what saveDiffusionModel wrote. */
export async function loadDiffusionModel(dir: string): Promise<LoadedDiffusionModel> {
  const fs = await import('node:fs/promises');
  let config: DiffusionModelConfig;
  try {
    config = JSON.parse(await fs.readFile(`${dir}/model.json`, 'utf8'));
  } catch (e) {
    throw new FormatError('nutshell-diffusion', `cannot read ${dir}/model.json: ${(e as Error).message}`);
  }
  const Ctor = MODELS[config.kind];
  if (!Ctor) throw new InvalidArgumentError(`model.json: unknown kind ${JSON.stringify(config.kind)}; known: ${Object.keys(MODELS).join(', ')}`);
  checkPredictionType(config.predictionType);
  const model = new Ctor(config.options as never);
  await loadModule(`${dir}/model.safetensors`, model);
  model.eval();
  return { model, schedule: new NoiseSchedule({ betas: config.schedule.betas }), config };
}
