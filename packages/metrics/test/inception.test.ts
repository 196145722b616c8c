import { InvalidArgumentError, saveSafetensors, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { InceptionFeatureExtractor, InceptionV3, loadInceptionV3 } from '@nutshell/metrics';
import { afterAll, describe, expect, it } from 'vitest';

// One random-weight network for the file (≈ 24 M parameters); forward passes use 75×75 inputs,
// InceptionV3's smallest, to keep CPU time low (bench/inception.mjs runs 299×299).
const net = new InceptionV3({ seed: 1 });

/** PyTorch's F.interpolate(mode='bilinear', align_corners=False) on one channel, written out. */
function torchBilinear(src: number[][], out: number): number[][] {
  const n = src.length;
  const scale = n / out;
  const coord = (o: number) => {
    const s = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    return [i0, i1, s - i0] as const;
  };
  return Array.from({ length: out }, (_, y) => {
    const [y0, y1, fy] = coord(y);
    return Array.from({ length: out }, (_, x) => {
      const [x0, x1, fx] = coord(x);
      return (1 - fy) * ((1 - fx) * src[y0]![x0]! + fx * src[y0]![x1]!) + fy * ((1 - fx) * src[y1]![x0]! + fx * src[y1]![x1]!);
    });
  });
}

describe('InceptionV3 pool3 (pytorch-fid definition)', () => {
  it('has torchvision / pytorch-fid parameter names and counts', () => {
    // torchvision's inception_v3 without aux logits has 23,834,568 parameters with a 1000-way fc;
    // pytorch-fid's head is 1008-way: trunk = 23,834,568 − (2048·1000 + 1000).
    expect(net.numParameters() - (2048 * 1008 + 1008)).toBe(21_785_568);
    const names = net.stateDict();
    for (const key of ['Conv2d_1a_3x3.conv.weight', 'Conv2d_4a_3x3.bn.running_var', 'Mixed_5b.branch5x5_2.conv.weight', 'Mixed_6a.branch3x3dbl_3.bn.bias',
      'Mixed_6e.branch7x7dbl_5.conv.weight', 'Mixed_7a.branch7x7x3_4.conv.weight', 'Mixed_7c.branch3x3dbl_3b.bn.running_mean', 'fc.weight']) {
      expect(names[key], key).toBeDefined();
    }
    expect(names['Conv2d_1a_3x3.conv.weight']!.shape).toEqual([32, 3, 3, 3]);
    expect(names['Mixed_6b.branch7x7_2.conv.weight']!.shape).toEqual([128, 128, 1, 7]);
    expect(names['Mixed_7b.branch3x3_2b.conv.weight']!.shape).toEqual([384, 384, 3, 1]);
    expect(names['fc.weight']!.shape).toEqual([1008, 2048]);
    expect(Object.keys(names).filter((k) => k.endsWith('.conv.weight'))).toHaveLength(94);
  });

  // A 5×5 single-channel pattern repeated to RGB, in [0, 1]; the extractor upsamples it to 75×75.
  const src = Array.from({ length: 5 }, (_, y) => Array.from({ length: 5 }, (_, x) => ((x * 7 + y * 3) % 5) / 4));
  const img = tf.tensor4d(src.flatMap((row) => row.flatMap((v) => [v, v, v])), [1, 5, 5, 3]);
  const extractor = new InceptionFeatureExtractor(net, { size: 75 });
  let pool3: Float32Array | undefined;
  afterAll(() => {
    img.dispose();
    net.dispose();
  });

  it('resizes like pytorch-fid (bilinear, align_corners=False) and maps [0, 1] to [-1, 1]', () => {
    expect(extractor.preprocessing).toContain('bilinear');
    const prepared = extractor.prepare(img);
    const want = torchBilinear(src, 75);
    const got = prepared.dataSync();
    let maxErr = 0;
    for (let y = 0; y < 75; y++) for (let x = 0; x < 75; x++) for (let c = 0; c < 3; c++) maxErr = Math.max(maxErr, Math.abs(got[(y * 75 + x) * 3 + c]! - (2 * want[y]![x]! - 1)));
    expect(maxErr).toBeLessThan(1e-5);
    prepared.dispose();
  });

  it('computes every layer with the expected shape on a 75×75 image', () => {
    const x = extractor.prepare(img);
    const layers = net.trace(x);
    x.dispose();
    const shapes = Object.fromEntries(layers.map(([n, t]) => [n, t.shape]));
    expect(shapes).toEqual({
      Conv2d_1a_3x3: [1, 37, 37, 32], Conv2d_2a_3x3: [1, 35, 35, 32], Conv2d_2b_3x3: [1, 35, 35, 64], maxpool1: [1, 17, 17, 64],
      Conv2d_3b_1x1: [1, 17, 17, 80], Conv2d_4a_3x3: [1, 15, 15, 192], maxpool2: [1, 7, 7, 192],
      Mixed_5b: [1, 7, 7, 256], Mixed_5c: [1, 7, 7, 288], Mixed_5d: [1, 7, 7, 288], Mixed_6a: [1, 3, 3, 768],
      Mixed_6b: [1, 3, 3, 768], Mixed_6c: [1, 3, 3, 768], Mixed_6d: [1, 3, 3, 768], Mixed_6e: [1, 3, 3, 768],
      Mixed_7a: [1, 1, 1, 1280], Mixed_7b: [1, 1, 1, 2048], Mixed_7c: [1, 1, 1, 2048], pool3: [1, 2048],
    });
    pool3 = layers.at(-1)![1].dataSync() as Float32Array;
    expect(pool3.every((v) => Number.isFinite(v) && v >= 0)).toBe(true); // mean of ReLU outputs
    expect(pool3.some((v) => v > 0)).toBe(true);
    for (const [, t] of layers) t.dispose();
  });

  it('features() gives the pool3 of the traced forward, without leaking tensors', async () => {
    let f: { rows: number; cols: number; data: Float64Array } | undefined;
    await expectNoLeak(() => {
      f = extractor.features(img);
    });
    expect([f!.rows, f!.cols]).toEqual([1, 2048]);
    let diff = 0;
    for (let i = 0; i < 2048; i++) diff = Math.max(diff, Math.abs(f!.data[i]! - pool3![i]!));
    expect(diff).toBeLessThan(1e-5);
  });

  it('loads pytorch-fid-named weights from safetensors (num_batches_tracked optional)', () => {
    const dict = net.stateDict();
    const withoutCounters = Object.fromEntries(Object.entries(dict).filter(([k]) => !k.endsWith('num_batches_tracked')));
    const loaded = loadInceptionV3(saveSafetensors(withoutCounters));
    const back = loaded.stateDict();
    for (const key of ['Conv2d_1a_3x3.conv.weight', 'Mixed_6e.branch7x7dbl_5.bn.running_var', 'fc.bias']) {
      expect(Array.from(back[key]!.dataSync())).toEqual(Array.from(dict[key]!.dataSync()));
    }
    loaded.dispose();
  });

  it('rejects weights with other names or shapes, listing them', () => {
    const x = tf.zeros([2048, 10]);
    const bad = saveSafetensors({ 'fc.weight': tf.zeros([1008, 2048]), 'pool3.weight': x });
    let err: unknown;
    try {
      loadInceptionV3(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(String((err as Error).message)).toMatch(/missing.*Conv2d_1a_3x3\.conv\.weight.*unexpected.*pool3\.weight/);
    x.dispose();
    expect(() => new InceptionFeatureExtractor(net, { size: 64 })).toThrow(InvalidArgumentError);
  });
});
