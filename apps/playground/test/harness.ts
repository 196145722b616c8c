import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { removeDir } from './build.js';

export { removeDir, viteBuild } from './build.js';

/** Test harness for the browser apps: a static server and headless Chromium. */

export const CHROMIUM = process.env.NUTSHELL_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can (or must: NUTSHELL_REQUIRE_BROWSER). */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.NUTSHELL_REQUIRE_BROWSER) return undefined; // fail loudly in CI instead of skipping
  return `${CHROMIUM} is missing (apt-get install chromium); set NUTSHELL_REQUIRE_BROWSER=1 to make this a failure`;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.bin': 'application/octet-stream',
};

/** A tiny static file server for `dir` on 127.0.0.1 (a secure context, so WebGPU is offered). */
export async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const FLAGS = [
  '--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-gpu-sandbox',
];

/**
 * Headless Chromium through playwright-core. `launch` works with Debian's chromium here; where it
 * does not (it once wanted an X server), start chromium ourselves and attach over CDP.
 */
export async function openBrowser(extraFlags: string[] = []): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const args = [...FLAGS, ...extraFlags];
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 30_000 });
    return { browser, close: () => browser.close() };
  } catch (launchError) {
    const profile = mkdtempSync(join(tmpdir(), 'nutshell-chromium-'));
    const proc: ChildProcess = spawn(CHROMIUM, ['--headless', `--user-data-dir=${profile}`, '--remote-debugging-port=0', ...args, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const endpoint = await new Promise<string>((ok, fail) => {
      let err = '';
      const timer = setTimeout(() => fail(new Error(`chromium did not start: ${(launchError as Error).message}\n${err}`)), 30_000);
      proc.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      proc.on('exit', (code) => fail(new Error(`chromium exited with ${code}: ${err}`)));
    });
    const browser = await chromium.connectOverCDP(endpoint);
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        proc.kill();
        removeDir(profile);
      },
    };
  }
}
