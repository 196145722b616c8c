// Seeded natural-looking test images for the image-watermark tests and bench: multi-octave value
// noise with a roughly 1/f amplitude spectrum (smooth regions, texture) plus a few hard-edged shapes,
// 8-bit. Real photographs are not available offline; these have the properties that matter to a DCT
// watermark (energy concentrated at low frequencies, edges, flat areas).
import { Rng } from '@nutshell/core';

/** One grayscale (channels 1) or RGB (channels 3) image as { width, height, channels, data: Uint8ClampedArray }. */
export function naturalImage(seed, width, height, channels = 1) {
  const rng = new Rng(`natural-image:${seed}`);
  const planes = [];
  const base = field(rng, width, height);
  for (let k = 0; k < channels; k++) {
    // Colour channels share most of the structure (like real images) plus some of their own.
    const own = channels > 1 ? field(rng, width, height) : null;
    planes.push(own ? base.map((v, i) => 0.8 * v + 0.45 * own[i]) : base);
  }
  const shapes = 3 + rng.int(4);
  for (let s = 0; s < shapes; s++) {
    const cy = rng.uniform() * height, cx = rng.uniform() * width, r = (0.08 + 0.2 * rng.uniform()) * Math.min(width, height);
    const disc = rng.uniform() < 0.5, amp = (rng.uniform() - 0.5) * 140;
    const tint = Array.from({ length: channels }, () => 0.7 + 0.6 * rng.uniform());
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const inside = disc ? (y - cy) ** 2 + (x - cx) ** 2 < r * r : Math.abs(y - cy) < r && Math.abs(x - cx) < 0.7 * r;
      if (inside) for (let k = 0; k < channels; k++) planes[k][y * width + x] += amp * tint[k];
    }
  }
  const data = new Uint8ClampedArray(width * height * channels);
  for (let i = 0; i < width * height; i++) for (let k = 0; k < channels; k++) data[i * channels + k] = Math.round(128 + planes[k][i]);
  return { width, height, channels, data };
}

/** Sum of bilinear value-noise octaves, amplitude ∝ cell size (≈ 1/f), scaled to std ≈ 40. */
function field(rng, width, height) {
  const out = new Float64Array(width * height);
  for (let cell = 64; cell >= 2; cell /= 2) {
    const gw = Math.ceil(width / cell) + 2, gh = Math.ceil(height / cell) + 2;
    const g = Float64Array.from({ length: gw * gh }, () => rng.normal());
    const amp = cell;
    for (let y = 0; y < height; y++) {
      const fy = y / cell, y0 = Math.floor(fy), ty = smooth(fy - y0);
      for (let x = 0; x < width; x++) {
        const fx = x / cell, x0 = Math.floor(fx), tx = smooth(fx - x0);
        const a = g[y0 * gw + x0], b = g[y0 * gw + x0 + 1], c = g[(y0 + 1) * gw + x0], d = g[(y0 + 1) * gw + x0 + 1];
        out[y * width + x] += amp * ((1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * c + tx * d));
      }
    }
  }
  let s = 0;
  for (const v of out) s += v * v;
  const k = 40 / Math.sqrt(s / out.length);
  for (let i = 0; i < out.length; i++) out[i] *= k;
  return out;
}

const smooth = (t) => t * t * (3 - 2 * t);
