import { Rng, tf, type TextTokenizer } from '@nutshell/core';
import { LoraModel } from '@nutshell/finetune-lora';
import { saveAdapter } from '@nutshell/finetune-lora/node';
import { AdamW } from '@nutshell/nn';
import type { GPT } from '@nutshell/transformer';
import { budgetProgress } from './budget-progress.js';
import { cloneGpt } from './gpt-surgery.js';
import { linePerplexity } from './text-eval.js';

export interface LoraStageOptions {
  seed: number;
  maxSteps: number;
  seconds: number;
  batchSize: number;
  r: number;
  lr: number;
  /** Where the PEFT adapter folder goes (inside the report's staging folder). */
  adapterDir: string;
}

export interface LoraStageResult {
  lora: LoraModel<GPT>;
  model: GPT;
  steps: number;
  seconds: number;
  before: { loss: number; perplexity: number };
  after: { loss: number; perplexity: number };
  baseGeneralLoss: number;
  generalLossAfter: number;
  trainable: number;
  total: number;
  percent: number;
  losses: [number, number][];
  targets: string[];
}

/**
 * LoRA (r, α = 2r) on every attention and MLP projection of a copy of the GPT, trained on one
 * WordNet domain; the domain loss on unseen lines of that domain is measured before and after,
 * and so is the loss on general held-out lines (to show what the adapter costs elsewhere).
 */
export async function fineTuneDomain(
  base: GPT,
  tokenizer: TextTokenizer,
  domainTrain: readonly string[],
  domainEval: readonly string[],
  generalEval: readonly string[],
  o: LoraStageOptions,
): Promise<LoraStageResult> {
  const model = cloneGpt(base);
  const before = await linePerplexity(model, tokenizer, domainEval);
  const baseGeneral = await linePerplexity(model, tokenizer, generalEval);
  const targets = ['c_attn', 'c_proj', 'c_fc'];
  const lora = new LoraModel(model, { r: o.r, lora_alpha: 2 * o.r, lora_dropout: 0, target_modules: targets, fan_in_fan_out: true }, { seed: o.seed });
  const { trainable, total, percent } = lora.trainableParameters();

  const T = model.config.nPositions;
  const tokens = Int32Array.from(tokenizer.encode(`${domainTrain.join('\n')}\n`));
  const rng = new Rng(`${o.seed}/lora`);
  const params = model.namedParameters({ trainableOnly: true }).map(([, p]) => p);
  const opt = new AdamW(params, { lr: o.lr, weightDecay: 0 });
  const progress = budgetProgress('lora', o.maxSteps, o.seconds);
  const losses: [number, number][] = [];
  const t0 = Date.now();
  model.train();
  let step = 0;
  try {
    while (step < o.maxSteps && (Date.now() - t0) / 1000 < o.seconds) {
      const B = o.batchSize;
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const off = rng.int(Math.max(1, tokens.length - T - 1));
        x.set(tokens.subarray(off, off + T), b * T);
        y.set(tokens.subarray(off + 1, off + T + 1), b * T);
      }
      const xt = tf.tensor2d(x, [B, T], 'int32');
      const yt = tf.tensor2d(y, [B, T], 'int32');
      const loss = opt.minimize(() => model.loss(xt, yt), { maxGradNorm: 1 });
      tf.dispose([xt, yt]);
      step++;
      losses.push([step, loss]);
      progress.update(step, { loss });
    }
  } finally {
    opt.dispose();
    model.eval();
  }
  const seconds = (Date.now() - t0) / 1000;
  progress.done({ steps: step, loss: losses.at(-1)?.[1] });
  const after = await linePerplexity(model, tokenizer, domainEval);
  const general = await linePerplexity(model, tokenizer, generalEval);
  await saveAdapter(lora, o.adapterDir);
  return {
    lora,
    model,
    steps: step,
    seconds,
    before: { loss: before.meanNll, perplexity: before.perplexity },
    after: { loss: after.meanNll, perplexity: after.perplexity },
    baseGeneralLoss: baseGeneral.meanNll,
    generalLossAfter: general.meanNll,
    trainable,
    total,
    percent,
    losses,
    targets,
  };
}
