import { Rng, tf, useBackend, type Tensor } from '@nutshell/core';
import '@nutshell/backend-wasm';
import { LoraModel } from '@nutshell/finetune-lora';
import { CharTokenizer, GPT, generate } from '@nutshell/transformer';
import { AdamW } from '@nutshell/nn';

/** Embeds only transformer + finetune-lora on the wasm backend; everything else stays out of the bundle. */
const $ = (id: string) => document.getElementById(id)!;
const num = (id: string) => Number(($(id) as HTMLInputElement).value);
const status = (text: string, state = 'ready') => {
  $('status').textContent = text;
  $('status').dataset.state = state;
};

const text = await (await fetch(new URL('data/glosses.txt', document.baseURI))).text();
const lines = text.split('\n').filter(Boolean);
const foodText = await (await fetch(new URL('data/food.txt', document.baseURI))).text();
$('corpus').textContent = `${lines.length} WordNet glosses`;

const picked = await useBackend('auto');
const tokenizer = CharTokenizer.fromText(text + foodText);
const model = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 2, nHead: 2, nEmbd: 64, nPositions: 48, bias: false }, { seed: 0 });
let lora: LoraModel<GPT> | undefined;
const rng = new Rng(0);

function batch(ids: Int32Array, T: number, B: number): [Tensor, Tensor] {
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const o = rng.int(ids.length - T - 1);
    x.set(ids.subarray(o, o + T), b * T);
    y.set(ids.subarray(o + 1, o + T + 1), b * T);
  }
  return [tf.tensor2d(x, [B, T], 'int32'), tf.tensor2d(y, [B, T], 'int32')];
}

async function fit(corpus: string, optimizer: AdamW, steps: number, stepId: string, lossId: string): Promise<void> {
  const ids = Int32Array.from(tokenizer.encode(corpus));
  model.train();
  for (let i = 0; i < steps; i++) {
    const [x, y] = batch(ids, model.config.nPositions, 8);
    const loss = optimizer.minimize(() => model.loss(x, y), { maxGradNorm: 1 });
    tf.dispose([x, y]);
    $(stepId).textContent = String(Number($(stepId).textContent) + 1);
    $(lossId).textContent = loss.toFixed(3);
    await new Promise((r) => setTimeout(r, 0));
  }
  model.eval();
}

const baseOpt = new AdamW(model, { lr: 3e-3 });
const run = (fn: () => Promise<void>) => () => {
  status('working…', 'busy');
  fn().then(() => status(`ready on ${picked.name}`), (e: Error) => status(`${e.name}: ${e.message}`, 'failed'));
};

$('train').addEventListener('click', run(() => fit(text, baseOpt, num('steps'), 'step', 'loss')));
$('tune').addEventListener('click', run(async () => {
  // LoRA on the attention and MLP projections (GPT-2 Conv1D layout, fanInFanOut); the base stays frozen.
  // Injection goes through nn's setModule, which also re-points the blocks' fields (this.c_attn).
  lora ??= new LoraModel(model, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_proj', 'c_fc'], fan_in_fan_out: true }, { seed: 1, adapterName: 'food' });
  lora.enableAdapters();
  const opt = new AdamW(model, { lr: 5e-3 });
  await fit(foodText, opt, num('steps'), 'tune-step', 'tune-loss');
  opt.dispose();
  ($('adapter') as HTMLSelectElement).value = 'food';
}));
$('write').addEventListener('click', run(async () => {
  if (lora) {
    if (($('adapter') as HTMLSelectElement).value === 'food') lora.enableAdapters();
    else lora.disableAdapters();
  }
  const prompt = `${($('word') as HTMLInputElement).value.trim()}: `;
  $('out').textContent = prompt;
  const result = await generate(model, prompt, { tokenizer, maxNewTokens: 60, temperature: 0.8, topK: 10, seed: 1, stop: ['\n'], onToken: (t) => void ($('out').textContent += t.text ?? '') });
  $('out').dataset.tokens = String(result.ids.length);
}));
status(`ready on ${picked.name}`);
