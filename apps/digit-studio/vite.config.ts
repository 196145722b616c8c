import { defineConfig } from 'vite';
// The build-time data helpers live with the playground (they run in Node, never in the bundle).
import { buildTimeAssets, mnistSlice } from '../playground/scripts/data-assets.js';

export default defineConfig({
  base: './',
  plugins: [buildTimeAssets({ 'data/mnist-14.bin': () => mnistSlice(60) })],
  optimizeDeps: { exclude: ['@nutshell/backend-wasm'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
