import { describe, expect, it, beforeAll } from 'vitest';
import { tf } from '@nutshell/core';
import { parityChecks, probeBackend, runParity, type ParityRow } from '@nutshell/parity';

// Backends CI insists on: NUTSHELL_REQUIRE_BACKENDS=wasm,native fails the run when one of them
// cannot start here instead of skipping it.
const required = new Set((process.env.NUTSHELL_REQUIRE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const checks = parityChecks();

for (const name of ['wasm', 'native', 'webgpu']) {
  const probe = await probeBackend(name);
  if (!probe.available) {
    if (required.has(name)) {
      it(`${name} is required (NUTSHELL_REQUIRE_BACKENDS) but unavailable`, () => {
        throw new Error(`backend '${name}' is unavailable: ${probe.reason}`);
      });
    } else {
      it.skip(`${name} parity skipped — unavailable: ${probe.reason}`, () => {});
    }
    continue;
  }

  describe(`parity ${name} vs cpu`, () => {
    let rows: ParityRow[] = [];
    beforeAll(async () => {
      const table = await runParity([probe.plugin!]);
      expect(table.unavailable).toEqual([]);
      rows = table.rows;
      await tf.setBackend('cpu');
    });

    for (const { op, check } of checks) {
      it(`${name} ${op} ${check}`, () => {
        const row = rows.find((r) => r.op === op && r.check === check);
        expect(row, 'row present').toBeDefined();
        const bound = `|err| ≤ ${row!.atol} + ${row!.rtol}·|ref|`;
        expect(row!.ok, `${name} ${op} ${check}: ${row!.detail ?? ''} (max |err| ${row!.maxAbsError}, ${bound})`).toBe(true);
      });
    }
  });
}

describe('parity harness', () => {
  it('compareArrays flags out-of-tolerance values, NaN mismatches and length mismatches', async () => {
    const { compareArrays } = await import('@nutshell/parity');
    expect(compareArrays([1, 2, 3.001], [1, 2, 3], 1e-4, 1e-4).ok).toBe(false);
    expect(compareArrays([1, 2, 3.0001], [1, 2, 3], 1e-4, 1e-4).ok).toBe(true);
    expect(compareArrays([NaN], [1], 1, 1).ok).toBe(false);
    expect(compareArrays([NaN], [NaN], 0, 0).ok).toBe(true);
    expect(compareArrays([1, 2], [1, 2, 3], 1, 1).ok).toBe(false);
  });

  it('covers the ops the suite promises, with gradients where tfjs has them', () => {
    const ops = new Set(checks.map((c) => c.op));
    for (const needle of ['matMul', 'batchMatMul', 'conv2d ', 'conv2dTranspose', 'maxPool', 'avgPool', 'softmax', 'logSoftmax', 'moments', 'rsqrt', 'layerNorm', 'sum', 'mean', 'max', 'min', 'argMax', 'gather', 'scatterND', 'tensorScatterUpdate']) {
      expect([...ops].some((o) => o.startsWith(needle)), needle).toBe(true);
    }
    expect(checks.filter((c) => c.check === 'gradient').length).toBeGreaterThanOrEqual(18);
  });

  it('reports unknown backends as unavailable instead of throwing', async () => {
    const table = await runParity(['no-such-backend'], { filter: 'rsqrt' });
    expect(table.rows).toEqual([]);
    expect(table.unavailable[0]).toMatchObject({ backend: 'no-such-backend' });
    expect(table.unavailable[0]!.reason).toContain('unknown backend');
  });
});
