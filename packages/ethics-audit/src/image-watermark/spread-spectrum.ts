import { InvalidArgumentError, describe } from '@nutshell/core';
import { logChiSquareSf, logNormalSf, normalIsfLog } from '../stats/distributions.js';
import { dct8x8, idct8x8 } from './dct8.js';
import { addToLuma, checkImage, lumaPlane, psnr, type PixelImage } from './image.js';
import { KeyedPattern } from './keyed-pattern.js';

/**
 * Invisible image watermark: spread spectrum in the block DCT domain (Cox et al. 1997, with the
 * host-interference rejection of Malvar & Florêncio's improved spread spectrum, 2003).
 *
 * Every 8×8 luma block's mid-band coefficients are slots; the key assigns each slot a chip pᵢ = ±1 and
 * one of the m payload bits. Bit k with sign bₖ = ±1 is embedded on its slots Sₖ as
 * cᵢ ← cᵢ + (α bₖ − λ x̃ₖ) pᵢ, where x̃ₖ = Σ pᵢcᵢ / |Sₖ| is the host's own projection on the pattern
 * (λ = 1 removes it, so the decoder sees only the mark and the attack). α is set so the PSNR meets
 * the target after clipping and 8-bit rounding.
 *
 * Detection is blind (no original): rₖ = Σ pᵢyᵢ / √(Σ yᵢ²) over Sₖ. Without the mark, the key's chips
 * are independent of the image, so each rₖ has mean 0 and variance 1 given the image, and
 * Σ rₖ² ~ χ²ₘ (with the payload known: Σ bₖrₖ/√m ~ N(0,1)). The p-value is therefore calibrated
 * for any image, and the threshold is a false-positive rate. Crops are handled by re-alignment: the
 * detector tries every top/left crop of 0…maxShift pixels (each fixes the 8×8 grid phase and the block
 * offset) and Bonferroni-corrects the best p-value for the number of offsets tried.
 */

/** Default band: (v, u) with 2 ≤ u + v ≤ 5 and max(u, v) ≤ 4 — 16 coefficients that JPEG and resizing mostly keep. */
export const DEFAULT_WATERMARK_BAND: readonly (readonly [number, number])[] = Object.freeze(
  (() => {
    const b: [number, number][] = [];
    for (let s = 2; s <= 5; s++) for (let v = 0; v <= s; v++) { const u = s - v; if (u <= 4 && v <= 4) b.push([v, u]); }
    return b;
  })(),
);

export interface ImageWatermarkKey {
  /** Secret key that seeds the pattern. */
  key: string;
  /** DCT coefficients (v, u) used in each 8×8 block (default DEFAULT_WATERMARK_BAND). */
  band?: readonly (readonly [number, number])[];
}

export interface EmbedImageOptions extends ImageWatermarkKey {
  /** Target PSNR in dB; the strength is set so the marked image meets it (default 40). */
  psnr?: number;
  /** Host-interference rejection λ in [0, 1] (default 1; lowered automatically if it would take over half the distortion budget). */
  hostRejection?: number;
}

export interface EmbeddedImageWatermark {
  image: PixelImage;
  /** Measured PSNR of the returned image against the input (after clipping and rounding). */
  psnr: number;
  /** Mark amplitude α per coefficient. */
  strength: number;
  hostRejection: number;
  /** Slots used (blocks × band coefficients). */
  slots: number;
  bits: number[];
}

export interface DetectImageOptions extends ImageWatermarkKey {
  /** Payload length m the image was marked with. */
  bits: number;
  /** The payload, if known: the test becomes the more powerful Σ bₖrₖ/√m ~ N(0,1) and bit accuracy is reported. */
  expected?: readonly number[];
  /** Detection threshold as a false-positive rate per image (default 1e-4). */
  falsePositiveRate?: number;
  /** Largest top/left crop, in pixels, to re-align for (default min(16, ⌊min(width, height)/8⌋); 0 = aligned only). */
  maxShift?: number;
}

export interface ImageWatermarkDetection {
  detected: boolean;
  /** Bonferroni-corrected p-value under "not marked with this key" and its one-sided normal z (floored at 0). */
  pValue: number;
  logPValue: number;
  z: number;
  /** Decoded payload bits (0/1) at the best offset, and |rₖ| per bit. */
  bits: number[];
  bitConfidence: number[];
  /** Bit accuracy against `expected` (when given). */
  bitAccuracy?: number;
  /** Top/left crop of the best alignment, in pixels. */
  offset: { top: number; left: number };
  /** Offsets tried (the Bonferroni factor). */
  hypotheses: number;
  statistic: 'chi-square' | 'known-payload';
  threshold: number;
}

function checkKey(o: ImageWatermarkKey, who: string): readonly (readonly [number, number])[] {
  if (!o || typeof o.key !== 'string' || !o.key) throw new InvalidArgumentError(`${who}: options.key must be a non-empty string, got ${describe(o?.key)}`);
  const band = o.band ?? DEFAULT_WATERMARK_BAND;
  if (!Array.isArray(band) || band.length === 0) throw new InvalidArgumentError(`${who}: band must be a non-empty list of [v, u] pairs`);
  for (const p of band) {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= 0 && x < 8) || (p[0] === 0 && p[1] === 0)) throw new InvalidArgumentError(`${who}: band entries must be [v, u] with 0 ≤ v, u < 8 and not the DC (0, 0), got ${describe(p)}`);
  }
  return band;
}

function checkBits(bits: readonly number[], who: string): void {
  if (!Array.isArray(bits) || bits.length === 0 || bits.length > 1024) throw new InvalidArgumentError(`${who}: payload must be an array of 1…1024 bits, got ${describe(bits)}`);
  bits.forEach((b, i) => { if (b !== 0 && b !== 1) throw new InvalidArgumentError(`${who}: payload[${i}] must be 0 or 1, got ${describe(b)}`); });
}

/** Band coefficients of every full 8×8 block of the grid that starts at (oy, ox): [block][coef]. */
function bandCoefficients(plane: Float64Array, width: number, height: number, oy: number, ox: number, band: readonly (readonly [number, number])[]) {
  const rows = Math.floor((height - oy) / 8), cols = Math.floor((width - ox) / 8), K = band.length;
  const out = new Float64Array(Math.max(0, rows * cols * K));
  const blk = new Float64Array(64);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      dct8x8(plane, width, oy + 8 * r, ox + 8 * c, blk);
      for (let t = 0; t < K; t++) out[(r * cols + c) * K + t] = blk[band[t]![0] * 8 + band[t]![1]]!;
    }
  }
  // Inverse band energy of each block: the locally optimum weight for a host whose variance changes
  // from block to block (flat blocks carry the mark almost noise-free, edges bury it). It depends only
  // on magnitudes, never on the key's chips, so the null distribution stays exact.
  const weight = new Float64Array(Math.max(0, rows * cols));
  for (let b = 0; b < rows * cols; b++) {
    let e = 0;
    for (let t = 0; t < K; t++) e += out[b * K + t]! * out[b * K + t]!;
    weight[b] = 1 / (e / K + 1);
  }
  return { rows, cols, coef: out, weight };
}

/**
 * Embeds the payload bits into the image's luma (grayscale, RGB or RGBA; 0–255 scale). Returns an image
 * of the same shape and storage type (8-bit storage is rounded) with its measured PSNR.
 */
export function embedImageWatermark(img: PixelImage, payload: readonly number[], options: EmbedImageOptions): EmbeddedImageWatermark {
  checkImage(img, 'embedImageWatermark');
  checkBits(payload, 'embedImageWatermark');
  const band = checkKey(options, 'embedImageWatermark');
  const target = options.psnr ?? 40;
  if (!(target > 0 && target < 100)) throw new InvalidArgumentError(`embedImageWatermark: psnr must be in (0, 100) dB, got ${describe(options.psnr)}`);
  let lambda = options.hostRejection ?? 1;
  if (!(lambda >= 0 && lambda <= 1)) throw new InvalidArgumentError(`embedImageWatermark: hostRejection must be in [0, 1], got ${describe(options.hostRejection)}`);
  const { width, height } = img;
  if (width < 8 || height < 8) throw new InvalidArgumentError(`embedImageWatermark: the image must be at least 8×8, got ${width}×${height}`);
  const m = payload.length, K = band.length;
  const pattern = new KeyedPattern(options.key, m);
  const y = lumaPlane(img);
  const { rows, cols, coef, weight } = bandCoefficients(y, width, height, 0, 0, band);
  const nBlocks = rows * cols, nSlots = nBlocks * K;
  const chip = new Int8Array(nSlots), bitOf = new Int32Array(nSlots), tmp = new Int32Array(2);
  const count = new Float64Array(m);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) for (let t = 0; t < K; t++) {
    const i = (r * cols + c) * K + t;
    pattern.slot(r, c, t, tmp);
    chip[i] = tmp[0]!;
    bitOf[i] = tmp[1]!;
    count[tmp[1]!]!++;
  }
  const sign = payload.map((b) => (b ? 1 : -1));
  // Distortion budget (squared error summed over the luma plane; the DCT is orthonormal).
  const budget = width * height * 255 * 255 * 10 ** (-target / 10);
  // The detector correlates with per-block weights computed from the marked image, so the host's
  // projection is cancelled in that weighted domain; the weights depend on the mark, hence a few rounds.
  const w = weight.slice(), hostProj = new Float64Array(m), wSum = new Float64Array(m);
  let alpha = 0;
  for (let round = 0; round < 3; round++) {
    hostProj.fill(0);
    wSum.fill(0);
    for (let i = 0; i < nSlots; i++) {
      const b = (i / K) | 0, k = bitOf[i]!;
      hostProj[k]! += w[b]! * chip[i]! * coef[i]!;
      wSum[k]! += w[b]!;
    }
    let B = 0, Hh = 0;
    for (let k = 0; k < m; k++) {
      if (!count[k]) continue;
      hostProj[k] = hostProj[k]! / wSum[k]!;
      B += sign[k]! * count[k]! * hostProj[k]!;
      Hh += count[k]! * hostProj[k]! * hostProj[k]!;
    }
    lambda = Math.min(options.hostRejection ?? 1, Hh > 0 ? Math.sqrt(budget / (2 * Hh)) : 1);
    alpha = (lambda * B + Math.sqrt(lambda * lambda * B * B - nSlots * (lambda * lambda * Hh - budget))) / nSlots;
    for (let b = 0; b < nBlocks; b++) {
      let e = 0;
      for (let t = 0; t < K; t++) {
        const i = b * K + t, k = bitOf[i]!;
        const v = coef[i]! + (alpha * sign[k]! - lambda * hostProj[k]!) * chip[i]!;
        e += v * v;
      }
      w[b] = 1 / (e / K + 1);
    }
  }

  // Pixel-domain fields of the mark (per unit α) and of the host cancellation (per unit λ).
  const field = (amp: (k: number) => number) => {
    const out = new Float64Array(width * height), blk = new Float64Array(64);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      blk.fill(0);
      for (let t = 0; t < K; t++) {
        const i = (r * cols + c) * K + t;
        blk[band[t]![0] * 8 + band[t]![1]] = amp(bitOf[i]!) * chip[i]!;
      }
      idct8x8(blk, out, width, 8 * r, 8 * c);
    }
    return out;
  };
  const markField = field((k) => sign[k]!), hostField = field((k) => -hostProj[k]!);
  const dY = new Float64Array(width * height);
  const make = (a: number) => {
    for (let i = 0; i < dY.length; i++) dY[i] = a * markField[i]! + lambda * hostField[i]!;
    const out = addToLuma(img, dY);
    return { out, p: psnr(img, out) };
  };
  // Clipping at 0/255 removes part of the mark (e.g. on black backgrounds); a few secant-free
  // fixed-point steps on α win it back, then α shrinks until the PSNR target is met.
  let best = make(alpha);
  for (let it = 0; it < 4 && Number.isFinite(best.p) && Math.abs(best.p - target) > 0.02; it++) {
    alpha *= 10 ** ((best.p - target) / 20);
    best = make(alpha);
  }
  for (let it = 0; it < 40 && best.p < target; it++) { alpha *= 0.98; best = make(alpha); }
  return { image: best.out, psnr: best.p, strength: alpha, hostRejection: lambda, slots: nSlots, bits: [...payload] };
}

/** Blind detection and decoding; see the file comment for the test and its calibration. */
export function detectImageWatermark(img: PixelImage, options: DetectImageOptions): ImageWatermarkDetection {
  checkImage(img, 'detectImageWatermark');
  const band = checkKey(options, 'detectImageWatermark');
  const m = options.bits;
  if (!Number.isInteger(m) || m < 1 || m > 1024) throw new InvalidArgumentError(`detectImageWatermark: bits must be the payload length (1…1024), got ${describe(m)}`);
  if (options.expected !== undefined) {
    checkBits(options.expected, 'detectImageWatermark');
    if (options.expected.length !== m) throw new InvalidArgumentError(`detectImageWatermark: expected has ${options.expected.length} bits but bits = ${m}`);
  }
  const fpr = options.falsePositiveRate ?? 1e-4;
  if (!(fpr > 0 && fpr < 1)) throw new InvalidArgumentError(`detectImageWatermark: falsePositiveRate must be in (0, 1), got ${describe(fpr)}`);
  const maxShift = options.maxShift ?? Math.min(16, Math.floor(Math.min(img.width, img.height) / 8));
  if (!Number.isInteger(maxShift) || maxShift < 0) throw new InvalidArgumentError(`detectImageWatermark: maxShift must be an integer >= 0, got ${describe(maxShift)}`);
  const K = band.length;
  const pattern = new KeyedPattern(options.key, m), tmp = new Int32Array(2);
  const y = lumaPlane(img);
  const grids = new Map<number, ReturnType<typeof bandCoefficients>>();
  // Chips and bit indices of every original-grid slot an offset can reach, hashed once.
  const tRows = Math.floor(img.height / 8) + Math.ceil(maxShift / 8) + 1, tCols = Math.floor(img.width / 8) + Math.ceil(maxShift / 8) + 1;
  const tChip = new Int8Array(tRows * tCols * K), tBit = new Int32Array(tRows * tCols * K);
  for (let r = 0; r < tRows; r++) for (let c = 0; c < tCols; c++) for (let t = 0; t < K; t++) {
    pattern.slot(r, c, t, tmp);
    tChip[(r * tCols + c) * K + t] = tmp[0]!;
    tBit[(r * tCols + c) * K + t] = tmp[1]!;
  }
  const num = new Float64Array(m), den = new Float64Array(m);
  const sgn = options.expected?.map((b) => (b ? 1 : -1));
  let best: { logP: number; top: number; left: number; num: Float64Array; den: Float64Array } | undefined;
  let hypotheses = 0;
  for (let top = 0; top <= maxShift; top++) {
    for (let left = 0; left <= maxShift; left++) {
      // A crop of `top` rows puts the original grid at phase oy and block offset by.
      const oy = (8 - (top % 8)) % 8, ox = (8 - (left % 8)) % 8;
      const by = (oy + top) / 8, bx = (ox + left) / 8;
      if (oy + 8 > img.height || ox + 8 > img.width) continue;
      const key = oy * 8 + ox;
      let g = grids.get(key);
      if (!g) { g = bandCoefficients(y, img.width, img.height, oy, ox, band); grids.set(key, g); }
      hypotheses++;
      num.fill(0);
      den.fill(0);
      for (let r = 0; r < g.rows; r++) for (let c = 0; c < g.cols; c++) {
        const src = (r * g.cols + c) * K, dst = ((r + by) * tCols + c + bx) * K, w = g.weight[r * g.cols + c]!;
        for (let t = 0; t < K; t++) {
          const v = w * g.coef[src + t]!, k = tBit[dst + t]!;
          num[k]! += tChip[dst + t]! * v;
          den[k]! += v * v;
        }
      }
      let logP: number;
      if (sgn) {
        let s = 0, used = 0;
        for (let k = 0; k < m; k++) if (den[k]! > 0) { s += (sgn[k]! * num[k]!) / Math.sqrt(den[k]!); used++; }
        logP = used ? logNormalSf(s / Math.sqrt(used)) : 0;
      } else {
        let chi = 0, used = 0;
        for (let k = 0; k < m; k++) if (den[k]! > 0) { chi += (num[k]! * num[k]!) / den[k]!; used++; }
        logP = used ? logChiSquareSf(chi, used) : 0;
      }
      if (!best || logP < best.logP) best = { logP, top, left, num: num.slice(), den: den.slice() };
    }
  }
  if (!best) throw new InvalidArgumentError(`detectImageWatermark: the image (${img.width}×${img.height}) holds no full 8×8 block`);
  const logPValue = Math.min(0, best.logP + Math.log(hypotheses));
  const bits: number[] = [], bitConfidence: number[] = [];
  for (let k = 0; k < m; k++) {
    bits.push(best.num[k]! > 0 ? 1 : 0);
    bitConfidence.push(best.den[k]! > 0 ? Math.abs(best.num[k]!) / Math.sqrt(best.den[k]!) : 0);
  }
  const pValue = Math.exp(logPValue);
  const res: ImageWatermarkDetection = {
    detected: logPValue < Math.log(fpr),
    pValue,
    logPValue,
    z: Math.max(0, normalIsfLog(logPValue)),
    bits,
    bitConfidence,
    offset: { top: best.top, left: best.left },
    hypotheses,
    statistic: sgn ? 'known-payload' : 'chi-square',
    threshold: fpr,
  };
  if (options.expected) res.bitAccuracy = bits.reduce((s, b, k) => s + (b === options.expected![k] ? 1 : 0), 0) / m;
  return res;
}
