import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../playground/test/harness.js';
import { useServedApp } from '../../playground/test/sample-app.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = browserSkipReason();
if (skip) console.warn(`gloss-writer e2e test skipped: ${skip}`);

describe.skipIf(!!skip)('gloss-writer in headless Chromium', () => {
  const app = useServedApp(appDir);

  it('trains, fine-tunes a LoRA adapter, switches it and writes a gloss', async () => {
    const { page, errors } = await app.openPage();
    const ready = '#status[data-state="ready"], #status[data-state="failed"]';
    await page.waitForSelector(ready, { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('ready on wasm');
    await page.fill('#steps', '3');
    await page.click('#train');
    await page.waitForSelector(ready);
    await page.waitForFunction(() => document.getElementById('step')!.textContent === '3');
    await page.click('#tune');
    await page.waitForFunction(() => document.getElementById('status')!.dataset.state !== 'busy', undefined, { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('ready on wasm');
    expect(await page.textContent('#tune-step')).toBe('3');
    const written: string[] = [];
    for (const adapter of ['food', 'none']) {
      await page.selectOption('#adapter', adapter);
      await page.click('#write');
      await page.waitForSelector(ready);
      await page.waitForFunction(() => document.getElementById('status')!.dataset.state !== 'busy');
      expect(await page.textContent('#status')).toBe('ready on wasm');
      expect((await page.textContent('#out'))!.startsWith('apple: ')).toBe(true);
      expect(Number(await page.getAttribute('#out', 'data-tokens'))).toBeGreaterThan(0);
      written.push((await page.textContent('#out'))!);
    }
    // Same seed, same prompt: only the adapter differs, and it changes what is written.
    expect(written[0]).not.toBe(written[1]);
    expect(errors).toEqual([]);
  });
});
