import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Shared with the other sample app (a relative import: apps are not packages of each other).
import { describeBundle } from '../../playground/test/sample-app.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
describeBundle('gloss-writer', appDir,
  ['transformer', 'finetune-lora', 'backend-wasm (tfjs-backend-wasm)'],
  ['backend-webgpu (tfjs-backend-webgpu)', 'backend-native', 'quantize', 'ethics-audit', 'gan', 'diffusion', 'metrics', 'datasets'],
);
