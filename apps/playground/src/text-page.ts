import { Rng, tf, type Tensor, type TextTokenizer } from '@nutshell/core';
import { AdamW } from '@nutshell/nn';
import { CharTokenizer, GPT } from '@nutshell/transformer';
import { loadGlosses } from './assets.js';
import { onBackendChange } from './backend-page.js';
import { loadCheckpointFiles } from './checkpoint.js';
import { drawCurve } from './curve.js';
import { $, nextFrame, numberInput, onClick, showError } from './dom.js';
import { streamGenerate } from './stream.js';

interface TextState {
  model: GPT;
  tokenizer: TextTokenizer;
  optimizer?: AdamW;
  /** The corpus as ids, when the model trains here. */
  tokens?: Int32Array;
  losses: number[];
  step: number;
  key: string;
}

let state: TextState | undefined;
let stopRequested = false;
let busy = false;

function dropState(): void {
  state?.optimizer?.dispose();
  state?.model.dispose();
  state = undefined;
  $('text-step').textContent = '0';
  $('text-loss').textContent = '–';
  $('text-params').textContent = '';
}

async function ensureTrainable(): Promise<TextState> {
  const cfg = { nLayer: numberInput('text-layers', 2), nEmbd: numberInput('text-width', 48), nPositions: numberInput('text-context', 32) };
  const key = JSON.stringify(cfg);
  if (state?.tokens && state.key === key) return state;
  dropState();
  const text = await loadGlosses();
  const tokenizer = CharTokenizer.fromText(text);
  const nHead = cfg.nEmbd % 16 === 0 ? cfg.nEmbd / 16 : 1;
  const model = new GPT({ ...cfg, nHead, vocabSize: tokenizer.vocabSize, dropout: 0, bias: false }, { seed: 0 });
  const decay = model.parameters().filter((p) => p.rank >= 2);
  const rest = model.parameters().filter((p) => p.rank < 2);
  const optimizer = new AdamW([{ params: decay, options: { weightDecay: 0.1 } }, { params: rest, options: { weightDecay: 0 } }], { lr: 3e-3, betas: [0.9, 0.99] });
  state = { model, tokenizer, optimizer, tokens: Int32Array.from(tokenizer.encode(text)), losses: [], step: 0, key };
  $('text-params').textContent = `${model.numParameters().toLocaleString()} parameters, vocabulary ${tokenizer.vocabSize}`;
  return state;
}

function batch(tokens: Int32Array, T: number, B: number, rng: Rng): [Tensor, Tensor] {
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const o = rng.int(tokens.length - T - 1);
    x.set(tokens.subarray(o, o + T), b * T);
    y.set(tokens.subarray(o + 1, o + T + 1), b * T);
  }
  return [tf.tensor2d(x, [B, T], 'int32'), tf.tensor2d(y, [B, T], 'int32')];
}

async function train(): Promise<void> {
  if (busy) return;
  busy = true;
  stopRequested = false;
  try {
    const s = await ensureTrainable();
    const steps = numberInput('text-steps', 40);
    const rng = new Rng(`text/${s.step}`);
    const T = s.model.config.nPositions;
    s.model.train();
    for (let i = 0; i < steps && !stopRequested; i++) {
      const [x, y] = batch(s.tokens!, T, 8, rng);
      try {
        const loss = s.optimizer!.minimize(() => s.model.loss(x, y), { maxGradNorm: 1 });
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${s.step}`);
        s.losses.push(loss);
      } finally {
        tf.dispose([x, y]);
      }
      s.step++;
      $('text-step').textContent = String(s.step);
      $('text-loss').textContent = s.losses.at(-1)!.toFixed(3);
      drawCurve($<HTMLCanvasElement>('text-curve'), s.losses);
      await nextFrame();
    }
    s.model.eval();
  } finally {
    busy = false;
  }
}

async function runGenerate(): Promise<void> {
  if (busy) return;
  const s = state ?? (await ensureTrainable());
  busy = true;
  const out = $('gen-output');
  const prompt = $<HTMLInputElement>('gen-prompt').value;
  out.textContent = prompt;
  out.dataset.tokens = '0';
  out.dataset.done = 'false';
  const t0 = performance.now();
  try {
    const { ids } = await streamGenerate(s.model, s.tokenizer, prompt, {
      maxNewTokens: numberInput('gen-tokens', 60),
      temperature: numberInput('gen-temp', 0.8),
      topK: numberInput('gen-topk', 10),
      seed: s.step,
      onText: (piece, i) => {
        out.textContent += piece;
        out.dataset.tokens = String(i + 1);
      },
    });
    const secs = (performance.now() - t0) / 1000;
    $('gen-stats').textContent = `${ids.length} tokens in ${secs.toFixed(2)} s (${(ids.length / secs).toFixed(1)} tokens/s)`;
  } finally {
    out.dataset.done = 'true';
    busy = false;
  }
}

async function loadCheckpoint(): Promise<void> {
  const input = $<HTMLInputElement>('ckpt-files');
  const files = [...(input.files ?? [])];
  if (!files.length) return;
  const status = $('ckpt-status');
  status.textContent = 'loading…';
  try {
    const { model, tokenizer, summary } = await loadCheckpointFiles(files);
    dropState();
    state = { model, tokenizer, losses: [], step: 0, key: 'checkpoint' };
    status.textContent = `loaded: ${summary}`;
    $('text-params').textContent = summary;
  } catch (e) {
    status.textContent = 'not loaded';
    throw e;
  }
}

export function initTextPage(): void {
  onBackendChange(dropState);
  onClick('text-train', train);
  onClick('text-stop', () => void (stopRequested = true));
  onClick('gen-run', runGenerate);
  $('ckpt-files').addEventListener('change', () => void loadCheckpoint().catch(showError));
  void loadGlosses().then((t) => ($('text-corpus').textContent = `${t.split('\n').length - 1} WordNet glosses (${(t.length / 1024).toFixed(0)} KB)`), showError);
}
