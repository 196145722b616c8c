import type { Callback, EpochLog, EvalLog } from './callbacks.js';
import type { History, Trainer } from './trainer.js';
import { writeFileAtomic } from './serialize.js';

/** One polyline per series, [x, y] points, with axes and labels, as a standalone SVG document. */
export function lineChartSvg(series: { name: string; points: [number, number][]; color?: string }[], options: { title?: string; xLabel?: string; yLabel?: string; width?: number; height?: number; logY?: boolean } = {}): string {
  const W = options.width ?? 640;
  const H = options.height ?? 360;
  const m = { l: 60, r: 20, t: 30, b: 40 };
  const fy = (y: number) => (options.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(fy(y)));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => fy(p[1]));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((fy(y) - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
  const ticks = (a: number, b: number) => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4);
  const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(+v.toFixed(3)));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    ...ticks(x0, x1).map((v) => `<text x="${sx(v).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${fmt(v)}</text>`),
    ...ticks(y0, y1).map((v) => `<text x="${m.l - 4}" y="${(H - m.b - ((v - y0) / (y1 - y0 || 1)) * (H - m.t - m.b) + 4).toFixed(1)}" text-anchor="end">${fmt(options.logY ? 10 ** v : v)}</text>`),
    options.title ? `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(options.title)}</text>` : '',
    options.xLabel ? `<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${esc(options.xLabel)}</text>` : '',
    options.yLabel ? `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${esc(options.yLabel)}</text>` : '',
    ...series.map((s, i) => {
      const c = s.color ?? colors[i % colors.length];
      const d = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(fy(y))).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${d}"/><text x="${W - m.r - 4}" y="${m.t + 14 * (i + 1)}" text-anchor="end" fill="${c}">${esc(s.name)}</text>`;
    }),
    '</svg>',
  ];
  return parts.filter(Boolean).join('\n') + '\n';
}

/** The training loss per step and the eval loss per evaluation of a Trainer history, as an SVG chart. */
export function lossCurveSvg(history: History, options: { title?: string; logY?: boolean } = {}): string {
  const series = [{ name: 'train loss', points: history.steps.map((s) => [s.step, s.loss] as [number, number]) }];
  if (history.evals.some((e) => 'loss' in e.metrics)) series.push({ name: 'eval loss', points: history.evals.map((e) => [e.step, e.metrics.loss!] as [number, number]) });
  return lineChartSvg(series, { title: options.title ?? 'loss', xLabel: 'step', yLabel: 'loss', logY: options.logY });
}

/** Step and eval logs as CSV: `kind,step,epoch,loss,lr,<metric…>`. */
export function historyCsv(history: History): string {
  const metricKeys = [...new Set(history.evals.flatMap((e) => Object.keys(e.metrics)).filter((k) => k !== 'loss'))];
  const rows = ['kind,step,epoch,loss,lr' + metricKeys.map((k) => `,${k}`).join('')];
  for (const s of history.steps) rows.push(`train,${s.step},${s.epoch},${s.loss},${s.lr}${metricKeys.map(() => ',').join('')}`);
  for (const e of history.evals) rows.push(`eval,${e.step},${e.epoch},${e.metrics.loss ?? ''},${metricKeys.map((k) => `,${e.metrics[k] ?? ''}`).join('')}`);
  return rows.join('\n') + '\n';
}

/**
 * Writes the run's metrics to `dir` after every epoch and at the end (atomically): `metrics.csv`,
 * `history.json` and a loss-curve chart `loss.svg` (SVG keeps this package dependency-free; convert
 * with any SVG renderer if you need a PNG). Node only.
 */
export class MetricsLogger implements Callback {
  constructor(readonly dir: string, readonly options: { title?: string; logY?: boolean } = {}) {}
  async write(t: Trainer<any>): Promise<void> {
    const fs = await import('node:fs/promises');
    const { join } = await import('node:path');
    await fs.mkdir(this.dir, { recursive: true });
    const enc = (s: string) => new TextEncoder().encode(s);
    await writeFileAtomic(join(this.dir, 'metrics.csv'), enc(historyCsv(t.history)));
    await writeFileAtomic(join(this.dir, 'history.json'), enc(JSON.stringify(t.history)));
    await writeFileAtomic(join(this.dir, 'loss.svg'), enc(lossCurveSvg(t.history, this.options)));
  }
  async onEpochEnd(t: Trainer<any>, _log: EpochLog): Promise<void> {
    await this.write(t);
  }
  async onEvalEnd(_t: Trainer<any>, _log: EvalLog): Promise<void> {}
  async onTrainEnd(t: Trainer<any>): Promise<void> {
    await this.write(t);
  }
}
