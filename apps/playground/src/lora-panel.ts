import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from '@nutshell/finetune-lora';
import { AdapterSet, type AdapterInfo } from './adapters.js';
import { $, downloadBytes, nextFrame, numberInput, onClick, showError } from './dom.js';
import { streamGenerate } from './stream.js';
import { textLoss } from './text-eval.js';
import { generationSettings } from './gen-settings.js';
import { exclusive, onTextStateDrop, requireTextState, textState, type TextState } from './text-state.js';

/** The text page's LoRA section: load PEFT adapters or train one here, switch, compare, download. */

function adapterSet(s: TextState): AdapterSet {
  s.adapters ??= new AdapterSet(s.model);
  return s.adapters;
}

function status(text: string, state = 'idle'): void {
  const el = $('lora-status');
  el.textContent = text;
  el.dataset.state = state;
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(4));

/** Redraws the adapter table and the "active" picker from the current model's adapters. */
export function renderAdapters(message?: string, state = 'idle'): void {
  const set = textState()?.adapters;
  const infos = set ? [...set.infos.values()] : [];
  $('lora-table').querySelector('tbody')!.replaceChildren(
    ...infos.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.name = a.name;
      if (a.lossBase !== undefined) tr.dataset.lossBase = String(a.lossBase);
      if (a.lossAdapted !== undefined) tr.dataset.lossAdapted = String(a.lossAdapted);
      const cells = [a.name, a.source === 'file' ? 'PEFT files' : `trained here (${a.steps ?? 0} steps)`, `${a.r} / ${a.alpha}`, a.targets, a.params.toLocaleString(), `${fmt(a.lossBase)} → ${fmt(a.lossAdapted)}`];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      return tr;
    }),
  );
  const select = $<HTMLSelectElement>('lora-active');
  select.replaceChildren(new Option('none (base model)', ''), ...infos.map((a) => new Option(a.name, a.name)));
  select.value = set?.active ?? '';
  select.dataset.active = set?.active ?? '';
  if (message !== undefined) status(message, state);
}

/** Loss on the adapter text with no adapter and with `info`'s adapter (errors go to the status line). */
async function score(set: AdapterSet, s: TextState, info: AdapterInfo): Promise<void> {
  const text = $<HTMLTextAreaElement>('lora-text').value;
  info.lossBase = (await set.with(null, () => textLoss(s.model, s.tokenizer, text))).loss;
  info.lossAdapted = (await set.with(info.name, () => textLoss(s.model, s.tokenizer, text))).loss;
}

function chosenName(set: AdapterSet, fallback: string): string {
  const wanted = $<HTMLInputElement>('lora-name').value.trim();
  return set.freeName(wanted || fallback);
}

async function loadFiles(): Promise<void> {
  const input = $<HTMLInputElement>('lora-files');
  const files = [...(input.files ?? [])];
  if (!files.length) return;
  try {
    await exclusive(async () => {
      const s = requireTextState();
      const byName = new Map(files.map((f) => [f.name, f]));
      const config = byName.get(ADAPTER_CONFIG_NAME);
      const weights = byName.get(ADAPTER_WEIGHTS_NAME);
      if (!config || !weights) throw new Error(`select ${ADAPTER_CONFIG_NAME} and ${ADAPTER_WEIGHTS_NAME} together (got ${files.map((f) => f.name).join(', ')})`);
      status('loading the adapter…', 'busy');
      const set = adapterSet(s);
      const info = set.loadFiles(chosenName(set, 'uploaded'), { config: await config.text(), weights: new Uint8Array(await weights.arrayBuffer()) });
      try {
        await score(set, s, info);
      } finally {
        renderAdapters(`loaded adapter ${info.name} (r ${info.r}, ${info.params.toLocaleString()} numbers); it is active`, 'loaded');
      }
    });
  } catch (e) {
    status('adapter not loaded', 'failed');
    throw e;
  } finally {
    input.value = '';
  }
}

async function trainNew(): Promise<void> {
  await exclusive(async () => {
    const s = requireTextState();
    const text = $<HTMLTextAreaElement>('lora-text').value;
    const ids = Int32Array.from(s.tokenizer.encode(text));
    if (ids.length < 2) throw new Error('the adapter text is empty: paste a few lines to adapt to');
    const set = adapterSet(s);
    const info = set.addNew(chosenName(set, 'tuned'), numberInput('lora-r', 4), numberInput('lora-alpha', 8));
    renderAdapters(`training ${info.name}…`, 'busy');
    try {
      info.lossBase = (await set.with(null, () => textLoss(s.model, s.tokenizer, text))).loss;
      const steps = numberInput('lora-steps', 30);
      await set.train(ids, {
        steps,
        lr: numberInput('lora-lr', 0.01),
        batch: 8,
        seed: `lora/${info.name}`,
        onStep: async (i, loss) => {
          status(`training ${info.name}: step ${i + 1}/${steps}, batch loss ${loss.toFixed(3)}`, 'busy');
          await nextFrame();
        },
      });
      info.lossAdapted = (await textLoss(s.model, s.tokenizer, text)).loss;
    } finally {
      renderAdapters(`${info.name}: loss on its text ${fmt(info.lossBase)} → ${fmt(info.lossAdapted)}`, 'trained');
    }
  });
}

async function compare(): Promise<void> {
  await exclusive(async () => {
    const s = requireTextState();
    const set = s.adapters;
    if (!set?.active) throw new Error('activate an adapter first (the comparison is base vs the active adapter)');
    const { prompt, ...settings } = generationSettings();
    const panes = { base: $('lora-gen-base'), adapter: $('lora-gen-adapter') };
    for (const p of Object.values(panes)) p.dataset.done = 'false';
    for (const [which, name] of [['base', null], ['adapter', set.active]] as const) {
      const out = panes[which];
      out.textContent = `${name ?? 'base'}: ${prompt}`;
      await set.with(name, () => streamGenerate(s.model, s.tokenizer, prompt, { ...settings, seed: s.step, onText: (piece) => void (out.textContent += piece) }));
      out.dataset.done = 'true';
    }
  });
}

function activate(): void {
  const s = requireTextState();
  const name = $<HTMLSelectElement>('lora-active').value || null;
  if (!s.adapters) return;
  s.adapters.activate(name);
  renderAdapters(name ? `active: ${name} (Generate uses it)` : 'no adapter: the base model generates');
}

function downloadActive(): void {
  const set = requireTextState().adapters;
  if (!set?.active) throw new Error('activate the adapter to download');
  const files = set.files(set.active);
  downloadBytes(`${set.active}-${ADAPTER_CONFIG_NAME}`, files.config, 'application/json');
  downloadBytes(`${set.active}-${ADAPTER_WEIGHTS_NAME}`, files.weights, 'application/octet-stream');
}

async function removeAll(): Promise<void> {
  await exclusive(async () => {
    const s = requireTextState();
    s.adapters?.unload();
    s.adapters = undefined;
    renderAdapters('adapters removed');
  });
}

export function initLoraPanel(): void {
  onTextStateDrop(() => renderAdapters(''));
  $('lora-files').addEventListener('change', () => void loadFiles().catch(showError));
  $('lora-active').addEventListener('change', () => {
    try {
      activate();
    } catch (e) {
      showError(e);
    }
  });
  onClick('lora-train', trainNew);
  onClick('lora-compare', compare);
  onClick('lora-download', downloadActive);
  onClick('lora-remove', removeAll);
}
