// Test scaffolding the sample apps share (they import it by relative path, like the harness).
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { allJs, listFiles } from './build.js';
import { openBrowser, removeDir, serve, viteBuild } from './harness.js';
import { MARKERS, packageHasMarker } from './markers.js';

/**
 * Builds an app with Vite, serves it on 127.0.0.1 and opens Chromium, once for the enclosing
 * describe; `openPage()` gives a page on the app and the console/page errors it collects.
 */
export function useServedApp(appDir: string): { openPage(): Promise<{ page: Page; errors: string[] }> } {
  let dist: string | undefined;
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
  beforeAll(async () => {
    dist = viteBuild(appDir);
    server = await serve(dist);
    browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dist);
  });
  return {
    async openPage() {
      const page = await browser!.browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server!.url);
      return { page, errors };
    },
  };
}

/** The bundle checks of a sample app: the packages it uses are in its build, the others are not. */
export function describeBundle(name: string, appDir: string, used: string[], unused: string[]): void {
  describe(`${name} bundle`, () => {
    let dist: string | undefined;
    beforeAll(() => void (dist = viteBuild(appDir)), 120_000);
    afterAll(() => removeDir(dist));

    it('contains the packages it uses and none of the others', () => {
      const js = allJs(dist!);
      for (const pkg of [...used, ...unused]) expect({ name: pkg, realMarker: packageHasMarker(pkg) }).toEqual({ name: pkg, realMarker: true });
      for (const pkg of used) expect({ name: pkg, inBundle: js.includes(MARKERS[pkg]!.marker) }).toEqual({ name: pkg, inBundle: true });
      for (const pkg of unused) expect({ name: pkg, inBundle: js.includes(MARKERS[pkg]!.marker) }).toEqual({ name: pkg, inBundle: false });
    });

    it('has a measured size (recorded in the README)', () => {
      const files = listFiles(dist!);
      const js = files.filter((f) => f.path.endsWith('.js'));
      const jsBytes = js.reduce((a, f) => a + f.bytes, 0);
      const jsGzip = js.reduce((a, f) => a + gzipSync(readFileSync(join(dist!, f.path))).length, 0);
      const wasm = files.filter((f) => f.path.endsWith('.wasm')).reduce((a, f) => a + f.bytes, 0);
      console.log(`${name}: JS ${(jsBytes / 1024).toFixed(0)} KiB (${(jsGzip / 1024).toFixed(0)} KiB gzip) in ${js.length} files; wasm ${(wasm / 1024).toFixed(0)} KiB; total ${(files.reduce((a, f) => a + f.bytes, 0) / 1024).toFixed(0)} KiB`);
      expect(jsBytes).toBeGreaterThan(100_000); // tfjs-core alone is larger: the build is real
      expect(jsBytes).toBeLessThan(900_000);
      expect(wasm).toBeGreaterThan(0);
    });
  });
}
