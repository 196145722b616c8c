import { InvalidArgumentError, Rng, ShapeError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { loadMnist } from '@nutshell/datasets';
import {
  DEFAULT_IMAGE_ATTACKS, addGaussianNoise, chiSquareSf, cropImage, dct8x8, detectImageWatermark, embedImageWatermark, idct8x8,
  imageFromTensor, jpegLike, jpegQuantTable, logChiSquareSf, normalIsfLog, normalQuantile, psnr, resizeBilinear, robustnessReport,
  type PixelImage,
} from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS helper shared with the bench
import { naturalImage } from '../bench/natural-images.mjs';

const nat = naturalImage as (seed: number, w: number, h: number, c?: number) => PixelImage;
const bitsOf = (seed: number, m: number) => { const r = new Rng(seed); return Array.from({ length: m }, () => r.int(2)); };

/** PSNR computed here from scratch (independent of the package's psnr). */
function refPsnr(a: PixelImage, b: PixelImage): number {
  let se = 0, n = 0;
  for (let i = 0; i < a.data.length; i++) { if (a.channels === 4 && i % 4 === 3) continue; se += (a.data[i]! - b.data[i]!) ** 2; n++; }
  return 10 * Math.log10((255 * 255) / (se / n));
}

describe('distributions', () => {
  it('χ² survival function and normal quantiles match tabulated values', () => {
    expect(chiSquareSf(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSf(18.307038, 10)).toBeCloseTo(0.05, 6);
    expect(chiSquareSf(20.090235, 8)).toBeCloseTo(0.01, 6);
    // k = 2: exactly e^{−x/2}, also far in the tail where p underflows doubles.
    for (const x of [0.5, 3, 40, 2000]) expect(logChiSquareSf(x, 2)).toBeCloseTo(-x / 2, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalIsfLog(Math.log(1e-4))).toBeCloseTo(3.719016, 5);
    // Far tail: log Φ̄(z) = −z²/2 − log(z√(2π)) + log(1 − 1/z² + 3/z⁴ − …).
    const z = normalIsfLog(-1000);
    expect(-z * z / 2 - Math.log(z * Math.sqrt(2 * Math.PI)) + Math.log(1 - 1 / z ** 2 + 3 / z ** 4)).toBeCloseTo(-1000, 6);
  });
});

describe('block DCT and JPEG-like compression', () => {
  it('dct8x8 equals the orthonormal DCT-II formula and idct8x8 inverts it', () => {
    const rng = new Rng(0);
    const plane = Float64Array.from({ length: 16 * 16 }, () => rng.uniform() * 255);
    const out = new Float64Array(64);
    dct8x8(plane, 16, 8, 0, out);
    const c = (u: number) => (u === 0 ? Math.SQRT1_2 : 1);
    for (const [v, u] of [[0, 0], [1, 2], [7, 3], [5, 5]] as const) {
      let s = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += plane[(8 + y) * 16 + x]! * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
      expect(out[v * 8 + u]).toBeCloseTo(0.25 * c(u) * c(v) * s, 9);
    }
    const back = new Float64Array(16 * 16);
    idct8x8(out, back, 16, 8, 0);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(back[(8 + y) * 16 + x]).toBeCloseTo(plane[(8 + y) * 16 + x]!, 9);
  });

  it('uses the IJG-scaled Annex K tables, and quality controls the loss', () => {
    expect(Array.from(jpegQuantTable(50).slice(0, 4))).toEqual([16, 11, 10, 16]);
    expect(Array.from(jpegQuantTable(75).slice(0, 4))).toEqual([8, 6, 5, 8]);
    expect(jpegQuantTable(100).every((q) => q === 1)).toBe(true);
    expect(jpegQuantTable(50, true)[0]).toBe(17);
    const img = nat(1, 48, 40);
    const p = [100, 90, 75, 50, 20].map((q) => psnr(img, jpegLike(img, q)));
    expect(p[0]).toBeGreaterThan(48); // only rounding of coefficients to integers
    for (let i = 1; i < p.length; i++) expect(p[i]).toBeLessThan(p[i - 1]!);
    expect(() => jpegQuantTable(0)).toThrow(InvalidArgumentError);
  });
});

describe('spread-spectrum DCT image watermark', () => {
  const KEY = 'image-key';
  const M = 32;

  it('meets the PSNR target on MNIST digits (28×28, black background) and larger images', async () => {
    const mnist = await loadMnist({ range: [0, 255], seed: 0 });
    for (let i = 0; i < 10; i++) {
      const img: PixelImage = { width: 28, height: 28, channels: 1, data: Uint8ClampedArray.from(mnist.all.example(i).x) };
      const r = embedImageWatermark(img, bitsOf(i, 8), { key: KEY, psnr: 38 });
      expect(r.image.data).toBeInstanceOf(Uint8ClampedArray);
      expect(refPsnr(img, r.image)).toBeGreaterThanOrEqual(38);
      expect(refPsnr(img, r.image)).toBeLessThan(39); // the budget is used, not wasted
      expect(r.psnr).toBeCloseTo(refPsnr(img, r.image), 9);
    }
    for (const [w, h, c] of [[64, 64, 1], [96, 80, 3], [40, 56, 4]] as const) {
      const img = nat(w + c, w, h, c);
      if (c === 4) for (let i = 3; i < img.data.length; i += 4) img.data[i] = 200;
      const r = embedImageWatermark(img, bitsOf(1, M), { key: KEY });
      expect(refPsnr(img, r.image)).toBeGreaterThanOrEqual(40);
      if (c === 4) for (let i = 3; i < img.data.length; i += 4) expect(r.image.data[i]).toBe(200);
      expect(r.strength).toBeGreaterThan(1);
    }
  });

  it('detects every marked image, decodes the payload, and keeps false positives on 120 clean images at 0', () => {
    let fp = 0, tp = 0, exact = 0, pBelow10 = 0;
    const N = 120;
    for (let i = 0; i < N; i++) {
      const img = nat(10_000 + i, 64, 64);
      const payload = bitsOf(i, M);
      const clean = detectImageWatermark(img, { key: KEY, bits: M });
      if (clean.detected) fp++;
      // Without the crop search the p-value is exactly calibrated: P(p < 0.1) ≈ 0.1.
      if (detectImageWatermark(img, { key: KEY, bits: M, maxShift: 0 }).pValue < 0.1) pBelow10++;
      const d = detectImageWatermark(embedImageWatermark(img, payload, { key: KEY }).image, { key: KEY, bits: M });
      if (d.detected) tp++;
      if (d.bits.every((b, k) => b === payload[k])) exact++;
    }
    expect(fp / N).toBeLessThanOrEqual(0.01);
    expect(tp).toBe(N);
    expect(exact).toBe(N);
    expect(pBelow10 / N).toBeGreaterThan(0.03);
    expect(pBelow10 / N).toBeLessThan(0.2);
  });

  it('a wrong key does not detect, and knowing the payload makes the test stronger', () => {
    let wrong = 0, accSum = 0;
    for (let i = 0; i < 100; i++) {
      const payload = bitsOf(i, M);
      const marked = embedImageWatermark(nat(20_000 + i, 64, 64), payload, { key: KEY }).image;
      const d = detectImageWatermark(marked, { key: `not-${KEY}-${i}`, bits: M });
      if (d.detected) wrong++;
      accSum += d.bits.reduce((s, b, k) => s + (b === payload[k] ? 1 : 0), 0) / M;
      if (i < 5) {
        const blind = detectImageWatermark(marked, { key: KEY, bits: M });
        const informed = detectImageWatermark(marked, { key: KEY, bits: M, expected: payload });
        expect(informed.statistic).toBe('known-payload');
        expect(informed.bitAccuracy).toBe(1);
        expect(informed.z).toBeGreaterThan(blind.z);
      }
    }
    expect(wrong).toBeLessThanOrEqual(1);
    expect(accSum / 100).toBeGreaterThan(0.4); // wrong-key bits are coin flips
    expect(accSum / 100).toBeLessThan(0.6);
  });

  it('re-aligns after crops by searching the top/left offset', () => {
    const payload = bitsOf(7, M);
    const marked = embedImageWatermark(nat(7, 96, 96), payload, { key: KEY }).image;
    for (const [top, left] of [[0, 0], [3, 5], [8, 1], [11, 16]] as const) {
      const d = detectImageWatermark(cropImage(marked, { top, left, bottom: 2, right: 7 }), { key: KEY, bits: M, maxShift: 16 });
      expect(d.offset).toEqual({ top, left });
      expect(d.detected).toBe(true);
      expect(d.bits).toEqual(payload);
    }
    // Without the search a grid shift of 3 rows loses the mark.
    expect(detectImageWatermark(cropImage(marked, { top: 3 }), { key: KEY, bits: M, maxShift: 0 }).detected).toBe(false);
  });

  it('robustnessReport: bit accuracy and detection per attack at the stated strengths (6 images, 96×96)', () => {
    const imgs = Array.from({ length: 6 }, (_, i) => nat(i, 96, 96));
    const r = robustnessReport(imgs, { key: KEY, bits: M, seed: 1 });
    expect(r.psnr.min).toBeGreaterThanOrEqual(40);
    expect(r.cleanDetections).toBe(0);
    expect(r.attacks.map((a) => `${a.name} ${a.strength}`)).toEqual(DEFAULT_IMAGE_ATTACKS.map((a) => `${a.name} ${a.strength}`));
    for (const a of r.attacks) {
      expect(a.bitAccuracy, `${a.name} ${a.strength}`).toBeGreaterThanOrEqual(0.97);
      expect(a.detectionRate, `${a.name} ${a.strength}`).toBe(1);
    }
    const z = (name: string, strength: string) => r.attacks.find((a) => a.name === name && a.strength === strength)!.meanZ;
    // Stronger attacks leave less of the mark.
    expect(z('gaussian-noise', 'σ = 10')).toBeLessThan(z('gaussian-noise', 'σ = 5'));
    expect(z('jpeg', 'quality 50')).toBeLessThan(z('jpeg', 'quality 90'));
    expect(z('resize', '50% and back')).toBeLessThan(z('resize', '75% and back'));
  });

  it('breaks down under attacks stronger than the design point (reported, not hidden)', () => {
    const imgs = Array.from({ length: 4 }, (_, i) => nat(100 + i, 64, 64));
    const r = robustnessReport(imgs, {
      key: KEY, bits: M, attacks: [
        { name: 'gaussian-noise', strength: 'σ = 40', apply: (x, s) => addGaussianNoise(x, 40, s) },
        { name: 'jpeg', strength: 'quality 10', apply: (x) => jpegLike(x, 10) },
        { name: 'resize', strength: '25% and back', apply: (x) => resizeBilinear(resizeBilinear(x, 16, 16), 64, 64) },
      ],
    });
    for (const a of r.attacks) expect(a.bitAccuracy).toBeLessThan(0.9);
  });

  it('rejects malformed inputs with typed errors and reads tensors without leaking', () => {
    const img = nat(0, 32, 32);
    expect(() => embedImageWatermark(img, [0, 2], { key: KEY })).toThrow(InvalidArgumentError);
    expect(() => embedImageWatermark(img, [1], { key: '' })).toThrow(InvalidArgumentError);
    expect(() => embedImageWatermark({ ...img, width: 31 }, [1], { key: KEY })).toThrow(ShapeError);
    expect(() => embedImageWatermark({ width: 4, height: 4, channels: 1, data: new Uint8Array(16) }, [1], { key: KEY })).toThrow(InvalidArgumentError);
    expect(() => embedImageWatermark(img, [1], { key: KEY, band: [[0, 0]] })).toThrow(InvalidArgumentError);
    expect(() => detectImageWatermark(img, { key: KEY, bits: 0 })).toThrow(InvalidArgumentError);
    expect(() => detectImageWatermark(img, { key: KEY, bits: 2, expected: [1] })).toThrow(InvalidArgumentError);
    expect(() => psnr(img, nat(0, 32, 16))).toThrow(ShapeError);
    expectNoLeak(() => {
      const t = tf.tidy(() => tf.randomUniform([32, 40, 3], 0, 1, 'float32', 3));
      const im = imageFromTensor(t, 255);
      t.dispose();
      expect([im.height, im.width, im.channels]).toEqual([32, 40, 3]);
      const r = embedImageWatermark(im, [1, 0, 1], { key: KEY });
      expect(r.image.data).toBeInstanceOf(Float32Array);
    });
    const bad = tf.zeros([2, 2, 2]);
    expect(() => imageFromTensor(bad)).toThrow(ShapeError);
    bad.dispose();
  });
});
