import { InvalidArgumentError, Rng, describe } from '@nutshell/core';
import { DEFAULT_IMAGE_ATTACKS, type ImageAttack } from './attacks.js';
import type { PixelImage } from './image.js';
import { detectImageWatermark, embedImageWatermark, type EmbedImageOptions } from './spread-spectrum.js';

export interface RobustnessOptions extends EmbedImageOptions {
  /** Payload length; each image gets its own seeded random payload (default 32 bits). */
  bits?: number;
  attacks?: readonly ImageAttack[];
  falsePositiveRate?: number;
  maxShift?: number;
  seed?: number;
}

export interface AttackResult {
  name: string;
  strength: string;
  /** Mean fraction of payload bits decoded correctly (blind decoding at the best alignment). */
  bitAccuracy: number;
  minBitAccuracy: number;
  /** Fraction of images detected at the false-positive rate (blind χ² test). */
  detectionRate: number;
  meanZ: number;
  /** PSNR of the attacked image against the marked one (how strong the attack was); NaN when the size changed. */
  meanAttackPsnr: number;
}

export interface RobustnessReport {
  images: number;
  bits: number;
  falsePositiveRate: number;
  /** PSNR of marked vs original. */
  psnr: { mean: number; min: number };
  /** Detections on the unmarked originals (an empirical false-positive check). */
  cleanDetections: number;
  attacks: AttackResult[];
}

function psnrSameSize(a: PixelImage, b: PixelImage): number {
  if (a.width !== b.width || a.height !== b.height) return NaN;
  const c = a.channels, cc = Math.min(c, 3);
  let se = 0, n = 0;
  for (let i = 0; i < a.width * a.height; i++) for (let k = 0; k < cc; k++) { const e = a.data[i * c + k]! - b.data[i * c + k]!; se += e * e; n++; }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}

/**
 * Marks every image with a random payload, runs each attack, and reports per attack the bit accuracy
 * and the detection rate of the blind detector, plus the PSNR of the marks and detections on the
 * unmarked originals.
 */
export function robustnessReport(images: readonly PixelImage[], options: RobustnessOptions): RobustnessReport {
  if (!Array.isArray(images) || images.length === 0) throw new InvalidArgumentError(`robustnessReport: expected a non-empty array of images, got ${describe(images)}`);
  const m = options.bits ?? 32;
  const attacks = options.attacks ?? DEFAULT_IMAGE_ATTACKS;
  const fpr = options.falsePositiveRate ?? 1e-4;
  const rng = new Rng(options.seed ?? 0);
  const det = { key: options.key, band: options.band, bits: m, falsePositiveRate: fpr, maxShift: options.maxShift };
  const acc = attacks.map(() => ({ bits: 0, minBits: 1, detected: 0, z: 0, psnr: 0 }));
  let psnrSum = 0, psnrMin = Infinity, clean = 0;
  images.forEach((img, n) => {
    const payload = Array.from({ length: m }, () => rng.int(2));
    const marked = embedImageWatermark(img, payload, options);
    psnrSum += marked.psnr;
    psnrMin = Math.min(psnrMin, marked.psnr);
    if (detectImageWatermark(img, det).detected) clean++;
    attacks.forEach((a, j) => {
      const attacked = a.apply(marked.image, 1000 * n + j);
      const d = detectImageWatermark(attacked, det);
      const ba = d.bits.reduce((s, b, k) => s + (b === payload[k] ? 1 : 0), 0) / m;
      const r = acc[j]!;
      r.bits += ba;
      r.minBits = Math.min(r.minBits, ba);
      r.detected += d.detected ? 1 : 0;
      r.z += d.z;
      r.psnr += psnrSameSize(marked.image, attacked);
    });
  });
  const N = images.length;
  return {
    images: N,
    bits: m,
    falsePositiveRate: fpr,
    psnr: { mean: psnrSum / N, min: psnrMin },
    cleanDetections: clean,
    attacks: attacks.map((a, j) => ({ name: a.name, strength: a.strength, bitAccuracy: acc[j]!.bits / N, minBitAccuracy: acc[j]!.minBits, detectionRate: acc[j]!.detected / N, meanZ: acc[j]!.z / N, meanAttackPsnr: acc[j]!.psnr / N })),
  };
}
