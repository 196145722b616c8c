/**
 * A tiny line-plot rasterizer for the demo report: series of (x, y) points drawn into an RGBA image
 * with axes, light grid lines and numeric tick labels (a 3×5 pixel font, scaled ×2), so loss
 * curves are plain PNGs that any browser shows without scripts or fonts.
 */
export interface PlotSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  /** RGB, 0..255. */
  color: readonly [number, number, number];
}

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

// 3×5 glyphs, rows top to bottom, 3 bits each (MSB = left column).
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], 'e': [0, 7, 7, 4, 7], 'k': [4, 5, 6, 5, 5],
};
const SCALE = 2;

export function plotLines(series: readonly PlotSeries[], options: { width?: number; height?: number } = {}): RgbaImage {
  const width = options.width ?? 560;
  const height = options.height ?? 300;
  const data = new Uint8Array(width * height * 4).fill(255);
  const img = { width, height, data };
  const left = 56;
  const right = 12;
  const top = 12;
  const bottom = 28;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let [x0, x1] = extent(pts.map((p) => p[0]));
  let [y0, y1] = extent(pts.map((p) => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y: number) => height - bottom - ((y - y0) / (y1 - y0)) * (height - top - bottom);

  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    const y = Math.round(py(yv));
    line(img, left, y, width - right, y, [225, 225, 225]);
    text(img, formatTick(yv), left - 4, y - 5, 'right');
    const xv = x0 + ((x1 - x0) * i) / 4;
    const x = Math.round(px(xv));
    line(img, x, top, x, height - bottom, [225, 225, 225]);
    text(img, formatTick(xv, true), x, height - bottom + 6, i === 0 ? 'left' : i === 4 ? 'right' : 'center');
  }
  line(img, left, top, left, height - bottom, [0, 0, 0]);
  line(img, left, height - bottom, width - right, height - bottom, [0, 0, 0]);
  for (const s of series) {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    for (let i = 1; i < p.length; i++) line(img, px(p[i - 1]![0]), py(p[i - 1]![1]), px(p[i]![0]), py(p[i]![1]), s.color);
    if (p.length === 1) dot(img, px(p[0]![0]), py(p[0]![1]), s.color);
  }
  return img;
}

function extent(values: number[]): [number, number] {
  if (!values.length) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function formatTick(v: number, integer = false): string {
  if (integer) return Math.abs(v) >= 10000 ? `${Math.round(v / 1000)}k` : String(Math.round(v));
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return v.toExponential(0).replace('+', '');
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function setPixel(img: RgbaImage, x: number, y: number, c: readonly [number, number, number]): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 4;
  img.data[o] = c[0];
  img.data[o + 1] = c[1];
  img.data[o + 2] = c[2];
  img.data[o + 3] = 255;
}

/** Bresenham, 2 px thick so curves stay visible when the browser scales the image down. */
function line(img: RgbaImage, ax: number, ay: number, bx: number, by: number, c: readonly [number, number, number]): void {
  let x = Math.round(ax);
  let y = Math.round(ay);
  const x2 = Math.round(bx);
  const y2 = Math.round(by);
  const dx = Math.abs(x2 - x);
  const dy = -Math.abs(y2 - y);
  const sx = x < x2 ? 1 : -1;
  const sy = y < y2 ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    setPixel(img, x, y, c);
    setPixel(img, x, y + 1, c);
    if (x === x2 && y === y2) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

function dot(img: RgbaImage, x: number, y: number, c: readonly [number, number, number]): void {
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) setPixel(img, Math.round(x) + i, Math.round(y) + j, c);
}

function text(img: RgbaImage, s: string, x: number, y: number, align: 'left' | 'right' | 'center'): void {
  const w = s.length * 4 * SCALE - SCALE;
  let cx = align === 'left' ? x : align === 'right' ? x - w : x - w / 2;
  for (const ch of s) {
    const g = GLYPHS[ch];
    if (g) {
      for (let r = 0; r < 5; r++) {
        for (let col = 0; col < 3; col++) {
          if (!((g[r]! >> (2 - col)) & 1)) continue;
          for (let a = 0; a < SCALE; a++) for (let b = 0; b < SCALE; b++) setPixel(img, Math.round(cx) + col * SCALE + a, y + r * SCALE + b, [60, 60, 60]);
        }
      }
    }
    cx += 4 * SCALE;
  }
}
