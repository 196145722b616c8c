import { describe, expect, it } from 'vitest';
import { Rng, tf, useBackend } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';

// Importing must never throw, with or without a GPU, and must not touch the GPU yet.
const mod = await import('@nutshell/backend-webgpu');
const gpuAfterImport = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
const plugin = mod.default;
const availability = await plugin.isAvailable();
const needsAdapter = availability.available ? '' : ` — skipped, no adapter: ${availability.reason}`;

function normals(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('@nutshell/backend-webgpu', () => {
  it('imports without throwing or creating navigator.gpu', () => {
    expect(plugin).toBe(mod.webgpuBackend);
    expect(plugin.name).toBe('webgpu');
    expect(plugin.packageName).toBe('@nutshell/backend-webgpu');
    expect(plugin.capabilities.async).toBe(true);
    expect(gpuAfterImport).toBeUndefined();
  });

  it('isAvailable answers with a reason and a priority that matches the adapter kind', async () => {
    expect(typeof availability.available).toBe('boolean');
    expect(availability.reason.length).toBeGreaterThan(20);
    if (availability.available) {
      const software = /^software adapter/.test(availability.reason);
      expect(availability.reason).toMatch(/^(software|hardware) adapter/);
      expect(availability.priority).toBe(software ? mod.SOFTWARE_PRIORITY : mod.HARDWARE_PRIORITY);
    } else {
      expect(availability.reason).toMatch(/no WebGPU/);
      expect(availability.reason).toMatch(/webgpu` package|VK_ICD_FILENAMES|browser/);
      await expect(useBackend('webgpu')).rejects.toThrow(/backend 'webgpu' is not available \(package @nutshell\/backend-webgpu\)/);
    }
    // Probed once: a second call answers the same.
    expect(await plugin.isAvailable()).toEqual(availability);
  });

  it('ranks a software adapter below wasm (200) and a hardware one above it', () => {
    expect(mod.SOFTWARE_PRIORITY).toBeLessThan(200);
    expect(mod.HARDWARE_PRIORITY).toBeGreaterThan(200);
  });

  it.skipIf(!availability.available)(`matmul and conv2d match cpu${needsAdapter}`, async () => {
    const rng = new Rng('webgpu-parity');
    const a = normals(rng, 33 * 70);
    const b = normals(rng, 70 * 21);
    const x = normals(rng, 2 * 9 * 9 * 3);
    const w = normals(rng, 3 * 3 * 3 * 5);
    const compute = async (backend: string) => {
      await useBackend(backend);
      const [mm, conv] = tf.tidy(() => [
        tf.matMul(tf.tensor2d(a, [33, 70]), tf.tensor2d(b, [70, 21])),
        tf.conv2d(tf.tensor4d(x, [2, 9, 9, 3]), tf.tensor4d(w, [3, 3, 3, 5]), 2, 'same'),
      ]);
      const out = [await mm!.data(), await conv!.data()];
      tf.dispose([mm!, conv!]);
      return out;
    };
    const gpu = await compute('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const cpu = await compute('cpu');
    for (let t = 0; t < 2; t++) {
      expect(gpu[t]!.length).toBe(cpu[t]!.length);
      for (let i = 0; i < cpu[t]!.length; i++) expect(Math.abs(gpu[t]![i]! - cpu[t]![i]!)).toBeLessThan(1e-3 + 1e-3 * Math.abs(cpu[t]![i]!));
    }
  });

  it.skipIf(!availability.available)(`leaves no tensors behind${needsAdapter}`, async () => {
    await useBackend('webgpu');
    const m = tf.tensor2d([[1, 2], [3, 4]]);
    await expectNoLeak(async () => {
      const y = tf.matMul(m, m);
      expect(Array.from(await y.data())).toEqual([7, 10, 15, 22]);
      return y;
    });
    m.dispose();
    await useBackend('cpu');
  });
});
