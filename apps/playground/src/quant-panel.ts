import { gpt2ToBytes } from '@nutshell/transformer';
import { $, nextFrame, onClick } from './dom.js';
import { generationSettings } from './gen-settings.js';
import { buildVariant, measureVariant, PRECISIONS, type VariantResult } from './quant-compare.js';
import { exclusive, onTextStateDrop, requireTextState } from './text-state.js';

/** The text page's "fp32 vs quantized" section: sizes, held-out perplexity, speed, generations. */

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

function row(r: VariantResult, fp32: VariantResult | undefined): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.precision = r.precision;
  tr.dataset.weightBytes = String(r.weightBytes);
  tr.dataset.totalBytes = String(r.totalBytes);
  tr.dataset.perplexity = String(r.perplexity);
  tr.dataset.tokensPerSecond = String(r.tokensPerSecond);
  const ratio = fp32 ? ` (${((100 * r.weightBytes) / fp32.weightBytes).toFixed(0)}%)` : '';
  const dppl = fp32 && r !== fp32 ? ` (${r.perplexity >= fp32.perplexity ? '+' : ''}${(r.perplexity - fp32.perplexity).toFixed(3)})` : '';
  const cells = [r.precision, `${kib(r.weightBytes)}${ratio}`, r.bitsPerParam.toFixed(2), kib(r.totalBytes), String(r.quantizedLayers), `${r.perplexity.toFixed(3)}${dppl}`, r.tokensPerSecond.toFixed(1)];
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  return tr;
}

async function compare(): Promise<void> {
  await exclusive(async () => {
    const s = requireTextState();
    const table = $('q-table');
    const body = table.querySelector('tbody')!;
    const gens = $('q-gens');
    table.dataset.done = 'false';
    body.replaceChildren();
    gens.replaceChildren();
    const heldOut = $<HTMLTextAreaElement>('q-heldout').value;
    const set = s.adapters;
    const base = set?.base ?? gpt2ToBytes(s.model);
    const adapter = set?.active ? set.files(set.active) : undefined;
    $('q-note').textContent = adapter ? `with adapter ${set!.active} merged into each copy` : 'base model (no adapter active)';
    const { prompt, ...settings } = generationSettings();
    const results: VariantResult[] = [];
    for (const precision of PRECISIONS) {
      const pre = document.createElement('pre');
      pre.dataset.precision = precision;
      pre.textContent = `${precision}: ${prompt}`;
      gens.append(pre);
      await nextFrame();
      const built = buildVariant(base, precision, adapter);
      try {
        const r = await measureVariant(precision, built, s.tokenizer, heldOut, { ...settings, prompt, seed: s.step, onText: (piece) => void (pre.textContent += piece) });
        results.push(r);
        body.append(row(r, results[0]));
      } finally {
        built.model.dispose();
      }
    }
    table.dataset.done = 'true';
  });
}

export function initQuantPanel(): void {
  onTextStateDrop(() => {
    $('q-table').querySelector('tbody')!.replaceChildren();
    $('q-gens').replaceChildren();
    $('q-note').textContent = '';
  });
  onClick('q-run', compare);
}
