import { FormatError, InvalidArgumentError, loadSafetensors, parseSafetensors, saveSafetensors, type Tensor } from '@nutshell/core';
import { stateDictToSafetensors, loadSafetensorsInto, writeFileAtomic, type Module, type Optimizer, type OptimizerStateDict } from '@nutshell/nn';
import type { EMA } from './ema.js';

/** What a training checkpoint restores besides the tensors. */
export interface CheckpointInfo {
  /** Training steps done so far (a resumed run continues from here). */
  step: number;
  /** Anything JSON the caller wants back (run config, loss history, wall time, ...). */
  extra: Record<string, unknown>;
}

export interface CheckpointParts {
  model: Module;
  optimizer: Optimizer;
  ema?: EMA;
}

const FORMAT = 'nutshell-diffusion-checkpoint';

/**
 * Saves a resumable training state in `dir`: model.safetensors (the trained weights),
 * optimizer.safetensors (moments), ema.safetensors (averaged weights), and checkpoint.json last.
 * Every file is written to a temporary name and renamed, and each tensor file records the step, so a
 * run killed mid-save leaves either the previous checkpoint or a mismatch `loadCheckpoint` rejects.
 * Random streams are not stored: derive them from (seed, step) so a resume redraws the same numbers.
 */
export async function saveCheckpoint(dir: string, parts: CheckpointParts, info: CheckpointInfo): Promise<void> {
  if (!Number.isInteger(info.step) || info.step < 0) throw new InvalidArgumentError(`saveCheckpoint: step must be a non-negative integer, got ${info.step}`);
  const fs = await import('node:fs/promises');
  await fs.mkdir(dir, { recursive: true });
  const meta = { format: FORMAT, step: String(info.step) };
  await writeFileAtomic(`${dir}/model.safetensors`, stateDictToSafetensors(parts.model, meta));
  const opt = parts.optimizer.stateDict();
  try {
    await writeFileAtomic(`${dir}/optimizer.safetensors`, saveSafetensors(opt.tensors, { metadata: meta }));
  } finally {
    for (const t of Object.values(opt.tensors)) t.dispose();
  }
  if (parts.ema) await writeFileAtomic(`${dir}/ema.safetensors`, saveSafetensors(parts.ema.stateDict(), { metadata: meta }));
  const json = { format: FORMAT, step: info.step, optimizer: opt.meta, emaUpdates: parts.ema?.updates, extra: info.extra };
  await writeFileAtomic(`${dir}/checkpoint.json`, JSON.stringify(json));
}

/** Whether `dir` holds a checkpoint (its checkpoint.json). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.access(`${dir}/checkpoint.json`).then(() => true, () => false);
}

/** Restores what saveCheckpoint wrote into freshly built parts of the same shapes; returns the step and extra. */
export async function loadCheckpoint(dir: string, parts: CheckpointParts): Promise<CheckpointInfo> {
  const fs = await import('node:fs/promises');
  let json: { format?: string; step: number; optimizer: OptimizerStateDict['meta']; emaUpdates?: number; extra?: Record<string, unknown> };
  try {
    json = JSON.parse(await fs.readFile(`${dir}/checkpoint.json`, 'utf8'));
  } catch (e) {
    throw new FormatError(FORMAT, `cannot read ${dir}/checkpoint.json: ${(e as Error).message}`);
  }
  if (json.format !== FORMAT) throw new FormatError(FORMAT, `${dir}/checkpoint.json is not a ${FORMAT} (format ${JSON.stringify(json.format)})`);
  const read = async (name: string): Promise<Uint8Array> => new Uint8Array(await fs.readFile(`${dir}/${name}`));
  const checkStep = (name: string, metadata: Record<string, string> | undefined): void => {
    if (metadata?.step !== String(json.step)) throw new FormatError(FORMAT, `${dir}/${name} is from step ${metadata?.step ?? '?'}, checkpoint.json from step ${json.step} (an interrupted save)`);
  };
  // Check every file's step before changing anything, so a torn checkpoint leaves the parts untouched.
  const modelBytes = await read('model.safetensors');
  const opt = loadSafetensors(await read('optimizer.safetensors'));
  let ema: { tensors: Record<string, Tensor>; metadata: Record<string, string> | undefined } | undefined;
  try {
    checkStep('optimizer.safetensors', opt.metadata);
    if (parts.ema) {
      if (json.emaUpdates === undefined) throw new FormatError(FORMAT, `${dir} has no EMA state`);
      ema = loadSafetensors(await read('ema.safetensors'));
      checkStep('ema.safetensors', ema.metadata);
    }
    checkStep('model.safetensors', parseSafetensors(modelBytes).metadata);
    loadSafetensorsInto(parts.model, modelBytes, { strict: true });
    parts.optimizer.loadStateDict({ tensors: opt.tensors, meta: json.optimizer });
    if (parts.ema && ema) parts.ema.loadStateDict(ema.tensors, json.emaUpdates!);
  } finally {
    for (const t of Object.values(opt.tensors)) t.dispose();
    if (ema) for (const t of Object.values(ema.tensors)) t.dispose();
  }
  return { step: json.step, extra: json.extra ?? {} };
}
