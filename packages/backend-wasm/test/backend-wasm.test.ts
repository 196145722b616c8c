import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, tf, useBackend, describeBackends } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import wasmDefault, { createWasmBackend, hasWasmSimd, packagedWasmUrls, wasmBackend, WASM_FILES } from '@nutshell/backend-wasm';

/** Float64 triple loop: an independent reference for matmul. */
function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

function normals(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

describe('@nutshell/backend-wasm', () => {
  beforeAll(() => tf.setBackend('cpu'));

  it('exports the plugin as default and as wasmBackend', () => {
    expect(wasmDefault).toBe(wasmBackend);
    expect(wasmBackend.name).toBe('wasm');
    expect(wasmBackend.packageName).toBe('@nutshell/backend-wasm');
    expect(wasmBackend.priority).toBe(200);
  });

  it('is available in Node, reports SIMD and resolves the installed tfjs-backend-wasm (plain paths)', async () => {
    const a = await wasmBackend.isAvailable();
    expect(a.available).toBe(true);
    expect(hasWasmSimd()).toBe(true); // Node 20's V8 has SIMD
    expect(a.reason).toMatch(/^WebAssembly SIMD, 1 thread/);
    expect(a.reason).toMatch(/@tensorflow\/tfjs-backend-wasm at \/.*tfjs-backend-wasm\/dist$/);
    expect(a.reason).not.toContain('file://');
  });

  it('lists wasm among the known backends', async () => {
    const rows = await describeBackends();
    const row = rows.find((r) => r.name === 'wasm');
    expect(row).toMatchObject({ available: true, priority: 200, packageName: '@nutshell/backend-wasm' });
  });

  it('useBackend("wasm") activates it and setup is idempotent', async () => {
    const choice = await useBackend('wasm');
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await expect(Promise.all([wasmBackend.setup(), wasmBackend.setup()])).resolves.toBeDefined();
    await useBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('matmul matches cpu and a float64 reference', async () => {
    const rng = new Rng('wasm-matmul');
    const [m, k, n] = [37, 64, 29];
    const a = normals(rng, m * k);
    const b = normals(rng, k * n);
    const run = async (backend: string) => {
      await useBackend(backend);
      return tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n]))).data();
    };
    const onWasm = await run('wasm');
    const onCpu = await run('cpu');
    const ref = naiveMatmul(a, b, m, k, n);
    for (let i = 0; i < ref.length; i++) {
      expect(Math.abs(onWasm[i]! - ref[i]!)).toBeLessThan(1e-4 + 1e-4 * Math.abs(ref[i]!));
      expect(Math.abs(onWasm[i]! - onCpu[i]!)).toBeLessThan(1e-4 + 1e-4 * Math.abs(onCpu[i]!));
    }
  });

  it('conv2d and gradients run on wasm without leaking tensors', async () => {
    await useBackend('wasm');
    const rng = new Rng('wasm-leak');
    const x = tf.tensor4d(normals(rng, 2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const w = tf.tensor4d(normals(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
    await expectNoLeak(() => tf.conv2d(x, w, 1, 'same'));
    await expectNoLeak(() => tf.grad((v: tf.Tensor4D) => tf.sum(tf.relu(tf.conv2d(v, w, 1, 'same'))))(x));
    const y = tf.conv2d(x, w, 1, 'same');
    expect(y.shape).toEqual([2, 8, 8, 4]);
    tf.dispose([x, w, y]);
  });

  it('reports a missing override path instead of failing later', async () => {
    const plugin = createWasmBackend({ wasmPaths: '/nonexistent/nutshell-wasm/' });
    const a = await plugin.isAvailable();
    expect(a.available).toBe(false);
    expect(a.reason).toContain('/nonexistent/nutshell-wasm/tfjs-backend-wasm-simd.wasm does not exist');
    await expect(plugin.setup()).rejects.toThrow(/backend 'wasm' is not available.*does not exist/);
  });

  it('accepts a file-map override in Node', async () => {
    const urls = packagedWasmUrls();
    const map = Object.fromEntries(WASM_FILES.map((f) => [f, fileURLToPath(urls[f])])) as Record<(typeof WASM_FILES)[number], string>;
    const a = await createWasmBackend({ wasmPaths: map }).isAvailable();
    expect(a).toMatchObject({ available: true });
    expect(a.reason).toContain('the wasmPaths option');
  });

  it('maps every binary to a copy shipped in dist/wasm (the URLs bundlers rewrite)', () => {
    const urls = packagedWasmUrls();
    expect(Object.keys(urls).sort()).toEqual([...WASM_FILES].sort());
    for (const file of WASM_FILES) {
      expect(urls[file]).toMatch(new RegExp(`/dist/wasm/${file.replace(/\./g, '\\.')}$`));
      expect(existsSync(fileURLToPath(urls[file]))).toBe(true);
    }
  });

  it('replaces tfjs-backend-wasm kernels that are missing or wrong (maxPool grad, batched gather, conv filter grad)', async () => {
    await useBackend('wasm');
    const rng = new Rng('wasm-fallbacks');
    const [H, W] = [7, 7];
    const xv = normals(rng, H * W);
    // Naive maxPool 3x3 stride 2 'same' gradient of sum(): +1 at each window's argmax.
    const OH = Math.ceil(H / 2);
    const top = Math.floor(Math.max((OH - 1) * 2 + 3 - H, 0) / 2);
    const want = new Array(H * W).fill(0);
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OH; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < 3; kh++)
          for (let kw = 0; kw < 3; kw++) {
            const ih = oh * 2 + kh - top;
            const iw = ow * 2 + kw - top;
            if (ih >= 0 && iw >= 0 && ih < H && iw < W && xv[ih * W + iw]! > best) [best, at] = [xv[ih * W + iw]!, ih * W + iw];
          }
        want[at] += 1;
      }
    const x = tf.tensor4d(xv, [1, H, W, 1]);
    const g = tf.grad((v: tf.Tensor4D) => tf.sum(tf.maxPool(v, 3, 2, 'same')))(x);
    expect(Array.from(await g.data())).toEqual(want);

    const p = tf.tensor3d(Float32Array.from({ length: 48 }, (_, i) => i), [3, 8, 2]);
    const idx = [0, 7, 7, 2, 1, 1, 6, 3, 5, 4, 0, 0];
    const gathered = tf.gather(p, tf.tensor2d(idx, [3, 4], 'int32'), 1, 1);
    const wantGather = [];
    for (let b = 0; b < 3; b++) for (let i = 0; i < 4; i++) for (let c = 0; c < 2; c++) wantGather.push(b * 16 + idx[b * 4 + i]! * 2 + c);
    expect(Array.from(await gathered.data())).toEqual(wantGather);

    // Filter gradient of sum(conv2d(x, w)) with 'valid' 1x1 conv: dW[ci,co] = Σ x[..., ci].
    const xs = tf.tensor4d(normals(rng, 2 * 3 * 3 * 2), [2, 3, 3, 2]);
    const ones = tf.ones([1, 1, 2, 3]) as tf.Tensor4D;
    const dw = tf.grad((w: tf.Tensor4D) => tf.sum(tf.conv2d(xs, w, 1, 'valid')))(ones);
    const sumT = tf.sum(xs, [0, 1, 2]);
    const sums = await sumT.data();
    const got = await dw.data();
    for (let ci = 0; ci < 2; ci++) for (let co = 0; co < 3; co++) expect(got[ci * 3 + co]).toBeCloseTo(sums[ci]!, 4);
    tf.dispose([x, g, p, gathered, xs, dw, ones, sumT]);
  });
});
