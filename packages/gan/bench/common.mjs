// Shared bits of the benches: argument parsing, backend selection, seeded MNIST subsets.
import { Rng, useBackend } from '@nutshell/core';

/** `--key value` pairs → object. */
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
}

/** Activates `cpu` or `@nutshell/backend-<name>`'s default plugin. */
export async function selectBackend(name) {
  const plugin = name === 'cpu' ? 'cpu' : (await import(`@nutshell/backend-${name}`)).default;
  await useBackend(plugin);
}

/** Seeded random indices 0..n-1 (the MNIST splits are stored class by class: never use a prefix). */
export function shuffledIndices(n, seed) {
  const idx = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** n images (flat 784 each) of a loadMnist split, drawn at random with a seed; labels too. */
export function subset(ds, n, seed) {
  const idx = shuffledIndices(ds.length, seed).slice(0, Math.min(n, ds.length));
  const x = new Float32Array(idx.length * 784);
  const y = new Int32Array(idx.length);
  idx.forEach((k, i) => {
    x.set(ds.x.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i] = ds.y[k];
  });
  return { x, y, length: idx.length };
}

export const paramCount = (m) => m.parameters().reduce((n, p) => n + p.size, 0);
