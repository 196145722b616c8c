import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';

const run = promisify(execFile);
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

// The entry a user would write: import the package by name, pick the backend, compute.
const ENTRY = `
import { useBackend, tf } from '@nutshell/core';
import wasm from '@nutshell/backend-wasm';
const availability = await wasm.isAvailable();
let out = null;
if (availability.available) {
  await useBackend('wasm');
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  out = { backend: tf.getBackend(), values: Array.from(await tf.matMul(a, tf.transpose(a)).data()) };
}
console.log(JSON.stringify({ availability, out }));
`;

// esbuild's ESM output cannot `require` Node built-ins from CommonJS dependencies (tfjs ships
// CommonJS for Node) and has no __dirname (read by the emscripten loader): the usual shim.
const NODE_ESM_SHIM =
  "import { createRequire as __nsCreateRequire } from 'node:module'; import { dirname as __nsDirname } from 'node:path'; " +
  "import { fileURLToPath as __nsToPath } from 'node:url'; const require = __nsCreateRequire(import.meta.url); " +
  'const __filename = __nsToPath(import.meta.url); const __dirname = __nsDirname(__filename);';

describe('bundled with esbuild (ESM, platform node)', () => {
  let outDir: string;
  let bundle: string;

  beforeAll(async () => {
    // Build from inside the package so '@nutshell/backend-wasm' resolves; write the bundle far
    // away, where neither this package nor tfjs-backend-wasm can be resolved at run time.
    const entryDir = mkdtempSync(join(pkgDir, 'node_modules', '.bundle-test-'));
    writeFileSync(join(entryDir, 'entry.mjs'), ENTRY);
    outDir = mkdtempSync(join(tmpdir(), 'nutshell-wasm-bundle-'));
    bundle = join(outDir, 'app.mjs');
    try {
      await build({
        entryPoints: [join(entryDir, 'entry.mjs')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: bundle,
        banner: { js: NODE_ESM_SHIM },
        logLevel: 'silent',
      });
    } finally {
      rmSync(entryDir, { recursive: true, force: true });
    }
  });

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  const runBundle = async () => {
    // Without NODE_PATH: `pnpm exec` sets it to pnpm's hoisted store, which a deployment lacks.
    const env = { ...process.env };
    delete env.NODE_PATH;
    const { stdout } = await run(process.execPath, [bundle], { cwd: outDir, env });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };

  it('without the .wasm files next to it, reports where it looked (no crash)', async () => {
    const result = await runBundle();
    expect(result.availability.available).toBe(false);
    expect(result.availability.reason).toContain('cannot find tfjs-backend-wasm-simd.wasm');
    expect(result.availability.reason).toContain(join(outDir, 'wasm'));
    expect(result.out).toBeNull();
  });

  it('with dist/wasm shipped as wasm/ beside the bundle, finds them and computes', async () => {
    mkdirSync(join(outDir, 'wasm'));
    cpSync(join(pkgDir, 'dist', 'wasm'), join(outDir, 'wasm'), { recursive: true });
    const result = await runBundle();
    expect(result.availability.available).toBe(true);
    expect(result.availability.reason).toContain(`copies at ${join(outDir, 'wasm')}`);
    expect(result.out).toEqual({ backend: 'wasm', values: [5, 11, 11, 25] });
  });
});

describe('bundled with Vite for the browser', () => {
  it('emits the three .wasm binaries as assets and points the code at them', async () => {
    const root = mkdtempSync(join(pkgDir, 'node_modules', '.vite-test-'));
    try {
      writeFileSync(join(root, 'main.js'), "import { useBackend } from '@nutshell/core';\nimport '@nutshell/backend-wasm';\nawait useBackend('wasm');\n");
      writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
      await viteBuild({ root, configFile: false, logLevel: 'silent', build: { outDir: join(root, 'dist'), target: 'es2022' } });
      const assets = readdirSync(join(root, 'dist', 'assets'));
      const js = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(root, 'dist', 'assets', f), 'utf8')).join('\n');
      for (const stem of ['tfjs-backend-wasm', 'tfjs-backend-wasm-simd', 'tfjs-backend-wasm-threaded-simd']) {
        const emitted = assets.find((f) => new RegExp(`^${stem}-[\\w-]{6,}\\.wasm$`).test(f));
        expect(emitted, `${stem}.wasm emitted`).toBeDefined();
        expect(js).toContain(emitted);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
