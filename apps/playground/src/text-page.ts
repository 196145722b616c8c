import { Rng, tf } from '@nutshell/core';
import { AdamW } from '@nutshell/nn';
import { CharTokenizer, GPT } from '@nutshell/transformer';
import { loadGlosses } from './assets.js';
import { onBackendChange } from './backend-page.js';
import { randomWindows } from './batches.js';
import { loadCheckpointFiles } from './checkpoint.js';
import { drawCurve } from './curve.js';
import { generationSettings } from './gen-settings.js';
import { $, nextFrame, numberInput, onClick, showError } from './dom.js';
import { initLoraPanel, renderAdapters } from './lora-panel.js';
import { initQuantPanel } from './quant-panel.js';
import { streamGenerate } from './stream.js';
import { dropTextState, exclusive, onTextStateDrop, setTextState, textState, type TextState } from './text-state.js';

let stopRequested = false;

/** Lines kept out of base training: the adapter text and the held-out snippet come from them. */
const ADAPTER_LINES = 30;
const HELD_OUT_LINES = 30;

/** The gloss corpus split into base training text, a default adapter text and a held-out snippet. */
export function splitCorpus(text: string): { train: string; adapter: string; heldOut: string } {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const cut = lines.length - ADAPTER_LINES - HELD_OUT_LINES;
  const join = (ls: string[]) => `${ls.join('\n')}\n`;
  return { train: join(lines.slice(0, cut)), adapter: join(lines.slice(cut, cut + ADAPTER_LINES)), heldOut: join(lines.slice(cut + ADAPTER_LINES)) };
}

function clearStats(): void {
  $('text-step').textContent = '0';
  $('text-loss').textContent = '–';
  $('text-params').textContent = '';
}

async function ensureTrainable(): Promise<TextState> {
  const cfg = { nLayer: numberInput('text-layers', 2), nEmbd: numberInput('text-width', 48), nPositions: numberInput('text-context', 32) };
  const key = JSON.stringify(cfg);
  const current = textState();
  if (current?.tokens && current.key === key) return current;
  const text = await loadGlosses();
  // The tokenizer covers the whole corpus, so the adapter and held-out texts encode too.
  const tokenizer = CharTokenizer.fromText(text);
  const nHead = cfg.nEmbd % 16 === 0 ? cfg.nEmbd / 16 : 1;
  const model = new GPT({ ...cfg, nHead, vocabSize: tokenizer.vocabSize, dropout: 0, bias: false }, { seed: 0 });
  const decay = model.parameters().filter((p) => p.rank >= 2);
  const rest = model.parameters().filter((p) => p.rank < 2);
  const optimizer = new AdamW([{ params: decay, options: { weightDecay: 0.1 } }, { params: rest, options: { weightDecay: 0 } }], { lr: 3e-3, betas: [0.9, 0.99] });
  const s: TextState = { model, tokenizer, optimizer, tokens: Int32Array.from(tokenizer.encode(splitCorpus(text).train)), losses: [], step: 0, key };
  setTextState(s);
  $('text-params').textContent = `${model.numParameters().toLocaleString()} parameters, vocabulary ${tokenizer.vocabSize}`;
  return s;
}

async function train(): Promise<void> {
  stopRequested = false;
  await exclusive(async () => {
    const s = await ensureTrainable();
    // Adapters were made for the old base weights: training the base removes them.
    if (s.adapters) {
      s.adapters.unload();
      s.adapters = undefined;
      renderAdapters('adapters removed: the base model trains again');
    }
    const steps = numberInput('text-steps', 40);
    const rng = new Rng(`text/${s.step}`);
    const T = s.model.config.nPositions;
    s.model.train();
    try {
      for (let i = 0; i < steps && !stopRequested; i++) {
        const [x, y] = randomWindows(s.tokens!, T, 8, rng);
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
    } finally {
      s.model.eval();
    }
  });
}

async function runGenerate(): Promise<void> {
  if (!textState()) await exclusive(ensureTrainable);
  await exclusive(async () => {
    const s = textState()!;
    const out = $('gen-output');
    const { prompt, ...settings } = generationSettings();
    out.textContent = prompt;
    out.dataset.tokens = '0';
    out.dataset.done = 'false';
    out.dataset.adapter = s.adapters?.active ?? '';
    const t0 = performance.now();
    try {
      const { ids } = await streamGenerate(s.model, s.tokenizer, prompt, {
        ...settings,
        seed: s.step,
        onText: (piece, i) => {
          out.textContent += piece;
          out.dataset.tokens = String(i + 1);
        },
      });
      const secs = (performance.now() - t0) / 1000;
      $('gen-stats').textContent = `${ids.length} tokens in ${secs.toFixed(2)} s (${(ids.length / secs).toFixed(1)} tokens/s)${s.adapters?.active ? ` with adapter ${s.adapters.active}` : ''}`;
    } finally {
      out.dataset.done = 'true';
    }
  });
}

async function loadCheckpoint(): Promise<void> {
  const input = $<HTMLInputElement>('ckpt-files');
  const files = [...(input.files ?? [])];
  if (!files.length) return;
  const status = $('ckpt-status');
  status.textContent = 'loading…';
  status.dataset.state = 'loading';
  try {
    const { model, tokenizer, summary } = await loadCheckpointFiles(files);
    setTextState({ model, tokenizer, losses: [], step: 0, key: 'checkpoint' });
    status.textContent = `loaded: ${summary}`;
    status.dataset.state = 'loaded';
    $('text-params').textContent = summary;
  } catch (e) {
    status.textContent = 'not loaded';
    status.dataset.state = 'failed';
    throw e;
  } finally {
    input.value = ''; // the same files can be picked again
  }
}

export function initTextPage(): void {
  onBackendChange(dropTextState);
  onTextStateDrop(clearStats);
  onClick('text-train', train);
  onClick('text-stop', () => void (stopRequested = true));
  onClick('gen-run', runGenerate);
  $('ckpt-files').addEventListener('change', () => void loadCheckpoint().catch(showError));
  initLoraPanel();
  initQuantPanel();
  void loadGlosses().then((t) => {
    const { adapter, heldOut } = splitCorpus(t);
    $('text-corpus').textContent = `${t.split('\n').length - 1} WordNet glosses (${(t.length / 1024).toFixed(0)} KB; the last ${ADAPTER_LINES + HELD_OUT_LINES} lines are kept out of base training)`;
    const lt = $<HTMLTextAreaElement>('lora-text');
    if (!lt.value) lt.value = adapter;
    const ho = $<HTMLTextAreaElement>('q-heldout');
    if (!ho.value) ho.value = heldOut;
  }, showError);
}
