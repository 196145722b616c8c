import type { Rng } from '@nutshell/core';

export interface Dataset {
  /** Points, row-major [n, 2]. */
  x: Float32Array;
  /** Class of each point: 0 or 1. */
  y: Int32Array;
  n: number;
}

/**
 * Two interleaved spirals (1.5 turns each), a classic task a linear model cannot solve. Points are
 * drawn from `rng`, so the same seed gives the same data on every machine and backend.
 */
export function twoSpirals(rng: Rng, n: number, noise = 0.04): Dataset {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const s = rng.uniform();
    const radius = 0.1 + 0.9 * s;
    const angle = 3 * Math.PI * s + cls * Math.PI;
    x[2 * i] = radius * Math.cos(angle) + noise * rng.normal();
    x[2 * i + 1] = radius * Math.sin(angle) + noise * rng.normal();
    y[i] = cls;
  }
  return { x, y, n };
}
