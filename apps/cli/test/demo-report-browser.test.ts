import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The playground's harness owns the Chromium launch that works here (as root, no X server), and
// playwright-core, which apps/cli does not depend on: its types come through the harness.
import { browserSkipReason, openBrowser } from '../../playground/test/harness.js';
import { runCli } from './run-cli.js';

/**
 * Issue 12's done-when: the `nutshell demo` report opens in Chromium with all images present.
 * The demo runs at its --quick size; the report is opened both over http (127.0.0.1) and as a
 * file:// page, the way a user double-clicks it.
 */

type Browser = Awaited<ReturnType<typeof openBrowser>>['browser'];
type Page = Awaited<ReturnType<Browser['newPage']>>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.md': 'text/markdown; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
};

/** A static server for `dir` on 127.0.0.1 that answers 404 for anything not on disk (and lists those). */
async function serve(dir: string): Promise<{ url: string; missing: string[]; close: () => Promise<void> }> {
  const root = resolve(dir);
  const missing: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    // Chromium asks for a favicon on its own; the report need not have one.
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    const target = existsSync(file) && statSync(file).isDirectory() ? join(file, 'index.html') : file;
    if (!existsSync(target)) {
      missing.push(path);
      return void res.writeHead(404).end('not found');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' });
    res.end(readFileSync(target));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, missing, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

interface Loaded {
  problems: string[];
  images: { src: string; complete: boolean; naturalWidth: number; naturalHeight: number }[];
  /** Every href/src in the page, resolved against the page URL. */
  urls: { tag: string; attr: string; url: string }[];
}

/** Opens `url` and collects console errors, failed requests, image states and every link. */
async function load(page: Page, url: string): Promise<Loaded> {
  const problems: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => void (r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`)));
  const response = await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  if (response && !response.ok() && !url.startsWith('file:')) problems.push(`index: HTTP ${response.status()}`);
  const images = await page.evaluate(() =>
    [...document.images].map((i) => ({ src: i.currentSrc || i.src, complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight })),
  );
  const urls = await page.evaluate(() =>
    [...document.querySelectorAll('[href], [src]')].flatMap((el) =>
      (['href', 'src'] as const)
        .filter((attr) => el.hasAttribute(attr))
        .map((attr) => ({ tag: el.tagName.toLowerCase(), attr, url: new URL(el.getAttribute(attr)!, document.baseURI).href })),
    ),
  );
  return { problems, images, urls };
}

const skip = browserSkipReason();
if (skip) console.warn(`demo-report-browser: skipped: ${skip}`);

describe.skipIf(skip !== undefined)(`nutshell demo --quick report in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let parent: string;
  let out: string;
  let browser: Browser;
  let closeBrowser: () => Promise<void> = async () => {};
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  const IMAGES = ['gpt-loss.png', 'lora-loss.png', 'gan-loss.png', 'gan-samples.png', 'mnist-real.png'];

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), 'nutshell-demo-browser-'));
    out = join(parent, 'report');
    const [run, opened] = await Promise.all([runCli(['demo', '--quick', '--seed', '5', '--out', out]), openBrowser()]);
    ({ browser, close: closeBrowser } = opened);
    expect(run.code, run.stderr).toBe(0);
    server = await serve(out);
  }, 90_000);

  afterAll(async () => {
    await server?.close();
    await closeBrowser();
    rmSync(parent, { recursive: true, force: true });
  });

  /** The page's local links/sources must all be files in the report folder. */
  function checkLocal(loaded: Loaded, base: string, toFile: (url: URL) => string): void {
    const local = loaded.urls.filter((u) => u.url.startsWith(base));
    expect(local.length).toBeGreaterThanOrEqual(IMAGES.length + 5);
    for (const u of local) {
      const file = toFile(new URL(u.url));
      expect(file.startsWith(out), `${u.tag} ${u.attr}=${u.url} leaves the report folder`).toBe(true);
      expect(existsSync(file) && statSync(file).isFile(), `${u.tag} ${u.attr}=${u.url}`).toBe(true);
    }
    // Images, scripts and styles come from the report itself: it must work offline.
    for (const u of loaded.urls.filter((x) => x.attr === 'src' || x.tag === 'link')) {
      expect(u.url.startsWith(base) || u.url.startsWith('data:'), `${u.tag} ${u.attr}=${u.url} is not local`).toBe(true);
    }
  }

  function checkImages(loaded: Loaded): void {
    expect(loaded.images.map((i) => i.src.split('/').at(-1))).toEqual(expect.arrayContaining(IMAGES));
    for (const img of loaded.images) {
      expect(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0, `${img.src} did not load: ${JSON.stringify(img)}`).toBe(true);
    }
    // The 8×8 grid of 28×28 digits with 2-pixel padding, decoded by the browser.
    const grid = loaded.images.find((i) => i.src.endsWith('/gan-samples.png'))!;
    expect([grid.naturalWidth, grid.naturalHeight]).toEqual([8 * 28 + 9 * 2, 8 * 28 + 9 * 2]);
  }

  it('over http: no console errors or failed requests, every image decoded, every local link a file', async () => {
    const page = await browser.newPage();
    try {
      const loaded = await load(page, `${server!.url}index.html`);
      expect(loaded.problems).toEqual([]);
      expect(server!.missing).toEqual([]);
      checkImages(loaded);
      checkLocal(loaded, server!.url, (u) => join(out, decodeURIComponent(u.pathname)));
      // Every local link is served (the checkpoints and adapter too, not only the images).
      for (const u of new Set(loaded.urls.filter((x) => x.url.startsWith(server!.url)).map((x) => x.url.split('#')[0]!))) {
        const r = await fetch(u);
        expect(r.status, u).toBe(200);
        await r.arrayBuffer();
      }
      expect(await page.title()).not.toBe('');
    } finally {
      await page.close();
    }
  });

  it('as a file:// page (double-clicked): no console errors, every image decoded, every local link a file', async () => {
    const page = await browser.newPage();
    try {
      const index = pathToFileURL(join(out, 'index.html')).href;
      const loaded = await load(page, index);
      expect(loaded.problems).toEqual([]);
      checkImages(loaded);
      checkLocal(loaded, pathToFileURL(out).href + '/', (u) => fileURLToPath(u));
    } finally {
      await page.close();
    }
  });
});
