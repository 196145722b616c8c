import { Rng, tf } from '@nutshell/core';
import { LoraModel, loadPeftFiles, toPeftFiles, type LoraConfig, type PeftAdapterFiles } from '@nutshell/finetune-lora';
import { AdamW } from '@nutshell/nn';
import { gpt2ToBytes, type GPT } from '@nutshell/transformer';
import { randomWindows } from './batches.js';

export interface AdapterInfo {
  name: string;
  source: 'file' | 'trained';
  r: number;
  alpha: number;
  targets: string;
  /** Trainable numbers of this adapter. */
  params: number;
  /** Mean next-token loss on the adapter text with no adapter and with this one (set by the page). */
  lossBase?: number;
  lossAdapted?: number;
  steps?: number;
}

/** GPT-2's projections (Conv1D, weights [in, out]): PEFT's usual targets for GPT-2, with fan_in_fan_out. */
export const GPT_TARGETS = ['c_attn', 'c_proj', 'c_fc'];

/**
 * Named LoRA adapters over one GPT (finetune-lora's LoraModel, PEFT semantics): load PEFT files,
 * add and train new ones, switch between them or turn them all off. While adapters exist the base is
 * frozen, so the base files saved when the first adapter went in stay valid (the quantization panel
 * starts from them).
 */
export class AdapterSet {
  readonly lora: LoraModel<GPT>;
  readonly base: { config: string; safetensors: Uint8Array };
  readonly infos = new Map<string, AdapterInfo>();
  private current: string | null = null;

  constructor(readonly model: GPT) {
    this.base = gpt2ToBytes(model);
    this.lora = new LoraModel(model, null);
  }

  /** The active adapter, or null when the model runs its base weights. */
  get active(): string | null {
    return this.current;
  }

  /** A fresh identifier-like name from a stem (file names often have dashes and dots). */
  freeName(stem: string): string {
    const base = (stem.replace(/\W+/g, '_').replace(/^(?=\d)/, 'a_') || 'adapter').slice(0, 40);
    let name = base;
    for (let i = 2; this.infos.has(name); i++) name = `${base}_${i}`;
    return name;
  }

  /** Adds a PEFT adapter (adapter_config.json text + adapter_model.safetensors bytes) and activates it. */
  loadFiles(name: string, files: PeftAdapterFiles): AdapterInfo {
    const config = loadPeftFiles(this.lora, files, name);
    return this.register(name, 'file', config);
  }

  /** Adds a new trainable adapter (B = 0: the model is unchanged until it trains) and activates it. */
  addNew(name: string, r: number, alpha: number): AdapterInfo {
    this.lora.addAdapter(name, { r, lora_alpha: alpha, target_modules: GPT_TARGETS, fan_in_fan_out: true });
    return this.register(name, 'trained', this.lora.peftConfig.get(name)!);
  }

  private register(name: string, source: AdapterInfo['source'], config: LoraConfig): AdapterInfo {
    this.activate(name);
    const params = Object.values(this.lora.adapterStateDict(name)).reduce((n, t) => n + t.size, 0);
    const targets = Array.isArray(config.target_modules) ? config.target_modules.join(', ') : config.target_modules;
    const info: AdapterInfo = { name, source, r: config.r, alpha: config.lora_alpha, targets, params };
    this.infos.set(name, info);
    return info;
  }

  /** Runs the base (null) or one adapter. */
  activate(name: string | null): void {
    if (name === null) this.lora.disableAdapters();
    else {
      this.lora.setAdapter(name);
      this.lora.enableAdapters();
    }
    this.current = name;
  }

  /** Runs fn with the model in a given adapter state, then restores the current one. */
  async with<T>(name: string | null, fn: () => Promise<T>): Promise<T> {
    const was = this.current;
    this.activate(name);
    try {
      return await fn();
    } finally {
      this.activate(was);
    }
  }

  /** Trains the active adapter (only its A and B) on next-token prediction over `ids`. */
  async train(ids: Int32Array, options: { steps: number; lr: number; batch: number; seed: string; onStep: (i: number, loss: number) => Promise<void> | void }): Promise<number[]> {
    const name = this.current;
    if (name === null) throw new Error('pick an adapter to train (not "none")');
    const params = this.lora.model.parameters({ trainableOnly: true });
    const opt = new AdamW(params, { lr: options.lr, weightDecay: 0 });
    const rng = new Rng(options.seed);
    const losses: number[] = [];
    this.model.train();
    try {
      for (let i = 0; i < options.steps; i++) {
        const [x, y] = randomWindows(ids, this.model.config.nPositions, options.batch, rng);
        try {
          const loss = opt.minimize(() => this.model.loss(x, y), { maxGradNorm: 1 });
          if (!Number.isFinite(loss)) throw new Error(`the adapter loss became ${loss} at step ${i}`);
          losses.push(loss);
        } finally {
          tf.dispose([x, y]);
        }
        await options.onStep(i, losses.at(-1)!);
      }
    } finally {
      this.model.eval();
      opt.dispose();
    }
    const info = this.infos.get(name)!;
    info.steps = (info.steps ?? 0) + losses.length;
    return losses;
  }

  /** The adapter in PEFT's layout, for download. */
  files(name: string): PeftAdapterFiles {
    return toPeftFiles(this.lora, name);
  }

  /** Removes every adapter: the plain base model back, trainable again. */
  unload(): GPT {
    this.lora.unload();
    this.infos.clear();
    this.current = null;
    this.model.requiresGrad(true);
    return this.model;
  }

  /** Frees the adapters (not the base model). */
  dispose(): void {
    this.lora.dispose();
    this.infos.clear();
  }
}
