// Copies tfjs-backend-wasm's .wasm binaries into dist/wasm so that
// `new URL('./wasm/<file>.wasm', import.meta.url)` in dist/paths.js points at real files: bundlers
// (Vite, webpack 5) then emit them as assets, and a bundle can ship the folder next to itself.
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const from = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const to = join(here, '..', 'dist', 'wasm');
const files = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

mkdirSync(to, { recursive: true });
for (const file of files) {
  const src = join(from, file);
  if (!existsSync(src)) throw new Error(`copy-wasm: ${src} is missing; is @tensorflow/tfjs-backend-wasm installed?`);
  copyFileSync(src, join(to, file));
}
console.log(`copy-wasm: ${files.length} files → ${to}`);
