import { defineConfig } from 'vite';
import { dataAssets } from './scripts/data-assets.js';

export default defineConfig({
  // Relative asset URLs: the build works from any folder or sub-path.
  base: './',
  plugins: [dataAssets({ mnistPerDigit: 100, glossLines: 800 })],
  // Pre-bundling rewrites import.meta.url, which the wasm backend uses to find its .wasm files.
  optimizeDeps: { exclude: ['@nutshell/backend-wasm'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
