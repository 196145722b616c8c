/**
 * A small progress reporter for long CLI tasks: a redrawn bar when the stream is a terminal, JSON
 * lines (`{"type":"progress",...}`) otherwise, so logs and scripts get something parseable. Either
 * way it writes to stderr by default, keeping stdout for results.
 */
export type ProgressMode = 'bar' | 'json' | 'none';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, e.g. "train wasm". */
  label: string;
  /** Number of units of work (steps). */
  total: number;
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** Default: 'bar' on a TTY, else 'json'; the NUTSHELL_PROGRESS environment variable overrides. */
  mode?: ProgressMode;
  /** Minimum milliseconds between two bar redraws (default 80). */
  redrawMs?: number;
  /** JSON mode: emit a line each time this fraction of the work is done (default 0.1). */
  jsonEvery?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Progress {
  readonly mode: ProgressMode;
  /** Reports that `current` of `total` units are done; `info` is shown/serialized alongside. */
  update(current: number, info?: Record<string, unknown>): void;
  /** Final line: the bar at 100% plus a newline, or a `{"type":"done"}` JSON line. */
  done(info?: Record<string, unknown>): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? envMode() ?? (stream.isTTY ? 'bar' : 'json');
  const now = options.now ?? Date.now;
  const total = Math.max(1, options.total);
  const start = now();
  let lastDraw = -Infinity;
  let nextBucket = 0;
  let finished = false;

  const elapsed = () => (now() - start) / 1000;

  const drawBar = (current: number, info: Record<string, unknown> | undefined, final: boolean) => {
    const fraction = Math.min(1, Math.max(0, current / total));
    const suffix = `${String(Math.round(fraction * 100)).padStart(3)}% ${current}/${total} ${formatInfo(info)}`.trimEnd();
    const columns = stream.columns || 80;
    const width = Math.max(10, Math.min(30, columns - options.label.length - suffix.length - 6));
    const filled = Math.round(fraction * width);
    const line = `${options.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${suffix}`;
    stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, columns - 1))}${final ? '\n' : ''}`);
  };

  const emitJson = (type: 'progress' | 'done', current: number, info?: Record<string, unknown>) => {
    const record = { type, label: options.label, current, total, fraction: round(current / total), elapsed: round(elapsed()), ...info };
    stream.write(`${JSON.stringify(record)}\n`);
  };

  return {
    mode,
    update(current, info) {
      if (finished || mode === 'none') return;
      if (mode === 'bar') {
        const t = now();
        if (t - lastDraw < (options.redrawMs ?? 80) && current < total) return;
        lastDraw = t;
        drawBar(current, info, false);
      } else {
        // Buckets of `every`, counted in integers so 0.1 steps do not drift (0.30000000000000004).
        const bucket = Math.floor(current / total / (options.jsonEvery ?? 0.1) + 1e-9);
        if (bucket < nextBucket) return;
        nextBucket = bucket + 1;
        emitJson('progress', current, info);
      }
    },
    done(info) {
      if (finished) return;
      finished = true;
      if (mode === 'bar') drawBar(total, info, true);
      else if (mode === 'json') emitJson('done', total, info);
    },
  };
}

function envMode(): ProgressMode | undefined {
  const value = typeof process !== 'undefined' ? process.env.NUTSHELL_PROGRESS : undefined;
  return value === 'bar' || value === 'json' || value === 'none' ? value : undefined;
}

function formatInfo(info: Record<string, unknown> | undefined): string {
  if (!info) return '';
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`)
    .join(' ');
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
