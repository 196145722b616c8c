import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { browserSkipReason } from '../../playground/test/harness.js';
import { useServedApp } from '../../playground/test/sample-app.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = browserSkipReason();
if (skip) console.warn(`digit-studio e2e test skipped: ${skip}`);

describe.skipIf(!!skip)('digit-studio in headless Chromium', () => {
  const app = useServedApp(appDir);

  it('trains a few steps, samples a grid and scores it', async () => {
    const { page, errors } = await app.openPage();
    const settled = () => page.waitForFunction(() => ['ready', 'failed'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 60_000 });
    await settled();
    expect(await page.textContent('#status')).toBe('ready on wasm');
    await page.fill('#steps', '4');
    await page.click('#train');
    await page.waitForFunction(() => document.getElementById('step')!.textContent === '4', undefined, { timeout: 60_000 });
    await settled();
    await page.fill('#sample-steps', '4');
    await page.selectOption('#sampler', 'euler');
    await page.click('#sample');
    await page.waitForSelector('#scores[data-swd]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('ready on wasm');
    expect(Number(await page.getAttribute('#scores', 'data-swd'))).toBeGreaterThan(0);
    // Pixel check: the grid is drawn and varies (after 4 steps the samples are still mostly noise).
    const stats = await page.evaluate(() => {
      const c = document.getElementById('grid') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let differ = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0]) differ++;
      return { opaque: d[3], differ: differ / (d.length / 4) };
    });
    expect(stats.opaque).toBe(255);
    expect(stats.differ).toBeGreaterThan(0.1);
    expect(errors).toEqual([]);
  });
});
