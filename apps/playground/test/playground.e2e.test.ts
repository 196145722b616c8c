import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusBleu, corpusChrf } from '@nutshell/metrics';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, openBrowser, removeDir, serve, viteBuild } from './harness.js';
import { ADAPTER_TEXT, HELD_OUT, makeTextFixtures, referenceLoss, referenceModel, type TextFixtures } from './text-fixtures.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = browserSkipReason();
if (skip) console.warn(`playground e2e tests skipped: ${skip}`);

/** Console errors and uncaught exceptions of a page, collected from the start. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => void (m.type() === 'error' && errors.push(`console.error: ${m.text()}`)));
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

async function openApp(browser: Browser, url: string, backend: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForSelector('#backend-current[data-state="ready"], #backend-current[data-state="failed"]', { timeout: 60_000 });
  return { page, errors };
}

async function pageErrorText(page: Page): Promise<string> {
  return (await page.textContent('#errors')) ?? '';
}

describe.skipIf(!!skip)('playground in headless Chromium', () => {
  let dist: string | undefined;
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
  let fx: TextFixtures | undefined;

  beforeAll(async () => {
    fx = makeTextFixtures();
    dist = viteBuild(appDir);
    server = await serve(dist);
    browser = await openBrowser(['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader']);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dist);
    removeDir(fx && join(fx.checkpointDir, '..'));
  });

  it('loads on wasm with no console errors and lists the backends', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'wasm');
    expect(await pageErrorText(page)).toBe('');
    expect(await page.getAttribute('#backend-current', 'data-backend')).toBe('wasm');
    expect(await page.textContent('#backend-check')).toContain('7, 10, 15, 22');
    const rows = await page.$$eval('#backend-table tbody tr', (trs) => trs.map((tr) => ({ name: (tr as HTMLElement).dataset.backend, available: (tr as HTMLElement).dataset.available, why: tr.lastElementChild?.textContent })));
    expect(rows.map((r) => r.name).sort()).toEqual(expect.arrayContaining(['cpu', 'wasm', 'webgpu']));
    expect(rows.find((r) => r.name === 'wasm')!.available).toBe('true');
    // Native cannot load in a browser; the page says why instead of failing.
    const native = rows.find((r) => r.name === 'native');
    if (native) expect(native.available).toBe('false');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('trains the char GPT for a few steps and streams generated tokens', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'wasm');
    await page.click('#tabs button[data-page="text"]');
    await page.fill('#text-steps', '4');
    await page.click('#text-train');
    await page.waitForFunction(() => document.getElementById('text-step')!.textContent === '4', undefined, { timeout: 60_000 });
    const loss = Number(await page.textContent('#text-loss'));
    expect(loss).toBeGreaterThan(0);
    expect(loss).toBeLessThan(10); // ln(vocab ≈ 40) ≈ 3.7 at the start
    // Record every change of the output as it happens: streaming means many separate updates.
    await page.evaluate(() => {
      const out = document.getElementById('gen-output')!;
      const seen: number[] = [];
      (window as any).__lengths = seen;
      new MutationObserver(() => seen.push(Number(out.dataset.tokens))).observe(out, { attributes: true, attributeFilter: ['data-tokens'] });
    });
    await page.fill('#gen-tokens', '24');
    await page.fill('#gen-prompt', 'dog: ');
    await page.click('#gen-run');
    await page.waitForSelector('#gen-output[data-done="true"]', { timeout: 60_000 });
    expect(await pageErrorText(page)).toBe('');
    expect(await page.getAttribute('#gen-output', 'data-tokens')).toBe('24');
    const text = (await page.textContent('#gen-output'))!;
    expect(text.startsWith('dog: ')).toBe(true);
    expect(text.length).toBe('dog: '.length + 24); // char tokenizer: one character per token
    const lengths: number[] = await page.evaluate(() => (window as any).__lengths);
    // The observer fires once per task; separate tasks per token show the text arrived piece by piece.
    expect(new Set(lengths).size).toBeGreaterThanOrEqual(12);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads an uploaded GPT-2-layout checkpoint, streams tokens, switches LoRA adapters and compares fp32 with int8/NF4', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'wasm');
    await page.click('#tabs button[data-page="text"]');
    // 1. The checkpoint written in Node (transformer's gpt2ToBytes) goes in through the file input.
    await page.setInputFiles('#ckpt-files', fx!.files.checkpoint);
    await page.waitForSelector('#ckpt-status[data-state="loaded"], #ckpt-status[data-state="failed"]', { timeout: 30_000 });
    expect(await pageErrorText(page)).toBe('');
    expect(await page.textContent('#ckpt-status')).toContain('2 layers, 32 wide, context 64');
    await page.evaluate(() => {
      const out = document.getElementById('gen-output')!;
      const seen: number[] = [];
      (window as any).__lengths = seen;
      new MutationObserver(() => seen.push(Number(out.dataset.tokens))).observe(out, { attributes: true, attributeFilter: ['data-tokens'] });
    });
    await page.fill('#gen-tokens', '16');
    await page.fill('#gen-temp', '0'); // greedy: the same text for the same weights
    await page.click('#gen-run');
    await page.waitForSelector('#gen-output[data-done="true"]', { timeout: 60_000 });
    expect(await pageErrorText(page)).toBe('');
    expect(await page.getAttribute('#gen-output', 'data-tokens')).toBe('16');
    expect(new Set(await page.evaluate(() => (window as any).__lengths as number[])).size).toBeGreaterThanOrEqual(8);
    const baseText = (await page.textContent('#gen-output'))!;

    // 2. The PEFT adapter written in Node: its loss on the adapter text, without and with it, as in Node.
    await page.fill('#lora-text', ADAPTER_TEXT);
    await page.fill('#lora-name', 'node_adapter');
    await page.setInputFiles('#lora-files', fx!.files.adapter);
    await page.waitForSelector('#lora-status[data-state="loaded"], #lora-status[data-state="failed"]', { timeout: 30_000 });
    expect(await pageErrorText(page)).toBe('');
    const row = await page.$eval('#lora-table tr[data-name="node_adapter"]', (tr) => ({ base: Number((tr as HTMLElement).dataset.lossBase), adapted: Number((tr as HTMLElement).dataset.lossAdapted) }));
    const ref = { base: referenceModel(fx!), adapted: referenceModel(fx!, { adapter: true }) };
    const want = { base: referenceLoss(ref.base, fx!.tokenizer, ADAPTER_TEXT), adapted: referenceLoss(ref.adapted, fx!.tokenizer, ADAPTER_TEXT) };
    ref.base.dispose();
    ref.adapted.dispose();
    expect(Math.abs(want.adapted - want.base)).toBeGreaterThan(2e-3); // the adapter does change the model
    expect(row.base).toBeCloseTo(want.base, 4);
    expect(row.adapted).toBeCloseTo(want.adapted, 4);
    expect(await page.getAttribute('#lora-active', 'data-active')).toBe('node_adapter');
    await page.click('#gen-run');
    await page.waitForSelector('#gen-output[data-done="true"][data-adapter="node_adapter"]', { timeout: 60_000 });
    expect(await page.textContent('#gen-output')).not.toBe(baseText);
    // Back to none: the base model's text again.
    await page.selectOption('#lora-active', '');
    expect(await page.getAttribute('#lora-active', 'data-active')).toBe('');
    await page.click('#gen-run');
    await page.waitForSelector('#gen-output[data-done="true"][data-adapter=""]', { timeout: 60_000 });
    expect(await page.textContent('#gen-output')).toBe(baseText);

    // A new adapter trained in the page on the same text lowers that text's loss.
    await page.fill('#lora-name', '');
    await page.fill('#lora-steps', '6');
    await page.click('#lora-train');
    await page.waitForSelector('#lora-status[data-state="trained"]', { timeout: 60_000 });
    const tuned = await page.$eval('#lora-table tr[data-name="tuned"]', (tr) => ({ base: Number((tr as HTMLElement).dataset.lossBase), adapted: Number((tr as HTMLElement).dataset.lossAdapted) }));
    expect(tuned.base).toBeCloseTo(want.base, 4);
    expect(tuned.adapted).toBeLessThan(tuned.base - 0.1); // 3.45 → 3.15 in Node with the default lr 0.01

    // 3. fp32 vs int8 / NF4 with the uploaded adapter active (merged into each copy).
    await page.selectOption('#lora-active', 'node_adapter');
    await page.fill('#q-heldout', HELD_OUT);
    await page.fill('#gen-tokens', '8');
    await page.click('#q-run');
    await page.waitForSelector('#q-table[data-done="true"]', { timeout: 90_000 });
    expect(await pageErrorText(page)).toBe('');
    const rows = await page.$$eval('#q-table tbody tr', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
    const got = Object.fromEntries(rows.map((r) => [r.precision!, { bytes: Number(r.weightBytes), ppl: Number(r.perplexity), tps: Number(r.tokensPerSecond) }]));
    expect(Object.keys(got)).toEqual(['fp32', 'int8', 'nf4']);
    expect(got.int8!.bytes).toBeLessThan(got.fp32!.bytes);
    expect(got.nf4!.bytes).toBeLessThan(got.int8!.bytes);
    for (const [precision, r] of Object.entries(got)) {
      expect(Number.isFinite(r.ppl) && r.tps > 0).toBe(true);
      expect(Math.abs(r.ppl / got.fp32!.ppl - 1)).toBeLessThan(0.05);
      // Independent reference: the same merge + quantizeModel in Node, scored with model.loss.
      const m = referenceModel(fx!, { adapter: true, ...(precision === 'fp32' ? {} : { quantize: precision as 'int8' | 'nf4' }) });
      expect({ precision, ppl: r.ppl }).toEqual({ precision, ppl: expect.closeTo(Math.exp(referenceLoss(m, fx!.tokenizer, HELD_OUT)), 2) });
      m.dispose();
    }
    expect(await page.$$eval('#q-gens pre', (ps) => ps.map((p) => (p as HTMLElement).dataset.precision))).toEqual(['fp32', 'int8', 'nf4']);
    expect(errors).toEqual([]);
    await page.close();
  });

  for (const model of ['diffusion', 'gan'] as const) {
    it(`trains the ${model} on the MNIST slice and draws a sample grid`, async () => {
      const { page, errors } = await openApp(browser!.browser, server!.url, 'wasm');
      await page.click('#tabs button[data-page="image"]');
      expect(Number(await page.textContent('#mnist-count'))).toBeGreaterThanOrEqual(500);
      await page.selectOption('#img-model', model);
      if (model === 'diffusion') await page.selectOption('#img-sampler', 'dpmpp-2m');
      await page.fill('#img-steps', '6');
      await page.fill('#img-every', '3');
      await page.fill('#img-sample-steps', '5');
      await page.click('#img-train');
      await page.waitForFunction(() => document.getElementById('img-step')!.textContent === '6', undefined, { timeout: 60_000 });
      await page.waitForFunction(() => Number(document.getElementById('img-grid')!.dataset.renders) >= 2, undefined, { timeout: 30_000 });
      expect(await pageErrorText(page)).toBe('');
      // Pixel check: the grid is drawn (not blank white) and its cells vary.
      const stats = await page.evaluate(() => {
        const c = document.getElementById('img-grid') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const grays = new Set<number>();
        let nonWhite = 0;
        let sum = 0;
        let sq = 0;
        const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
          grays.add(d[i]!);
          if (d[i]! < 250) nonWhite++;
          sum += d[i]!;
          sq += d[i]! * d[i]!;
        }
        return { distinct: grays.size, nonWhite: nonWhite / n, std: Math.sqrt(sq / n - (sum / n) ** 2) };
      });
      expect(stats.nonWhite).toBeGreaterThan(0.3);
      expect(stats.distinct).toBeGreaterThan(20);
      expect(stats.std).toBeGreaterThan(10);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('runs on WebGPU (SwiftShader with --enable-unsafe-webgpu): the backend starts and samples', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'webgpu');
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as any).gpu;
      if (!gpu) return { error: 'navigator.gpu is missing' };
      const a = await gpu.requestAdapter();
      if (!a) return { error: 'requestAdapter() returned null' };
      const info = a.info ?? {};
      return { vendor: info.vendor, architecture: info.architecture, description: info.description, fallback: a.isFallbackAdapter ?? info.isFallbackAdapter };
    });
    console.log('WebGPU adapter in headless Chromium:', JSON.stringify(adapter));
    expect(adapter).not.toHaveProperty('error');
    expect(await pageErrorText(page)).toBe('');
    expect(await page.getAttribute('#backend-current', 'data-state')).toBe('ready');
    expect(await page.getAttribute('#backend-current', 'data-backend')).toBe('webgpu');
    expect(await page.textContent('#backend-check')).toContain('7, 10, 15, 22');
    const why = await page.$eval('#backend-table tr[data-backend="webgpu"]', (tr) => tr.lastElementChild!.textContent);
    console.log('webgpu plugin says:', why);
    // A GAN generator forward pass and the sample grid, on the GPU path. (Training a GPT on
    // SwiftShader compiles dozens of shaders synchronously and takes minutes, so it is not run here.)
    await page.click('#tabs button[data-page="image"]');
    await page.selectOption('#img-model', 'gan');
    await page.click('#img-sample');
    await page.waitForFunction(() => Number(document.getElementById('img-grid')!.dataset.renders) >= 1 || document.getElementById('errors')!.textContent !== '', undefined, { timeout: 45_000 });
    expect(await pageErrorText(page)).toBe('');
    expect(await page.getAttribute('#backend-current', 'data-backend')).toBe('webgpu');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('scores BLEU and chrF of pasted text exactly as @nutshell/metrics does', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'cpu');
    await page.click('#tabs button[data-page="metrics"]');
    const hyp = ['the cat sat on the mat', 'a dog barks at the moon'];
    const ref = ['the cat is on the mat', 'the dog barked at the moon'];
    await page.fill('#m-hyp', hyp.join('\n'));
    await page.fill('#m-ref', ref.join('\n'));
    await page.click('#m-text-run');
    await page.waitForSelector('#m-text-out[data-bleu]');
    expect(Number(await page.getAttribute('#m-text-out', 'data-bleu'))).toBeCloseTo(corpusBleu(hyp, [ref]).score, 10);
    expect(Number(await page.getAttribute('#m-text-out', 'data-chrf'))).toBeCloseTo(corpusChrf(hyp, [ref]).score, 10);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('runs a blinded 2AFC session and exports the judgements as JSON', async () => {
    const { page, errors } = await openApp(browser!.browser, server!.url, 'cpu');
    await page.click('#tabs button[data-page="rate"]');
    await page.click('#rate-demo');
    await page.waitForFunction(() => document.getElementById('rate-left')!.textContent !== '');
    // A rater who always picks the real gloss: it must win every time whichever side it is on.
    for (let i = 0; i < 8; i++) {
      const [left, right] = [await page.textContent('#rate-left'), await page.textContent('#rate-right')];
      const prompt = await page.textContent('#rate-prompt');
      // Words can have several glosses: the real one is whichever side is a line of the corpus.
      const isReal = (text: string | null) => page.evaluate(([word, t]) => fetch('data/glosses.txt').then((r) => r.text()).then((all) => all.split('\n').includes(`${word}: ${t}`)), [prompt, text] as const);
      const [leftReal, rightReal] = [await isReal(left), await isReal(right)];
      expect({ prompt, left, right, leftReal, rightReal }).toMatchObject({ leftReal: !rightReal });
      const real = leftReal ? left : right;
      expect(real === left || real === right).toBe(true);
      await page.click(real === left ? '#rate-pick-left' : '#rate-pick-right');
    }
    const download = page.waitForEvent('download');
    await page.click('#rate-export');
    await download;
    const exported = JSON.parse((await page.textContent('#rate-summary'))!);
    expect(exported.format).toBe('nutshell-2afc');
    expect(exported.judgements).toHaveLength(8);
    expect(exported.wins).toEqual({ wordnet: 8, scrambled: 0 });
    // Blinding: the real gloss was not always on the same side.
    const lefts = new Set(exported.judgements.map((j: { left: string }) => j.left));
    expect(lefts.size).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  });
});
