import { defineConfig } from 'vite';
// The build-time data helpers live with the playground (they run in Node, never in the bundle).
import { buildTimeAssets, glossText } from '../playground/scripts/data-assets.js';

export default defineConfig({
  base: './',
  plugins: [
    buildTimeAssets({
      'data/glosses.txt': () => glossText(600, ['noun.animal', 'noun.food']),
      'data/food.txt': () => glossText(300, ['noun.food']),
    }),
  ],
  optimizeDeps: { exclude: ['@nutshell/backend-wasm'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
