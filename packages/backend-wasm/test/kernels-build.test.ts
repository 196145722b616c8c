// The fused-kernel module ships as committed base64 (src/kernels-wasm.ts); it must be exactly what
// the AssemblyScript source in assembly/ compiles to, so nobody runs stale kernels.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASM_TRAINING_KERNELS } from '@nutshell/backend-wasm';
import { expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

it('src/kernels-wasm.ts is the compiled assembly/kernels.ts (node scripts/build-kernels.mjs --check)', () => {
  const out = execFileSync(process.execPath, [join(pkg, 'scripts', 'build-kernels.mjs'), '--check'], { encoding: 'utf8' });
  expect(out).toContain('up to date');
}, 60_000);

it('names the fused kernels it registers', () => {
  expect([...WASM_TRAINING_KERNELS].sort()).toEqual(['NutshellActivation', 'NutshellActivationGrad', 'NutshellAdam', 'NutshellAttention', 'NutshellAttentionGrad', 'NutshellGroupNorm', 'NutshellGroupNormGrad', 'NutshellLayerNorm', 'NutshellLayerNormGrad']);
});
