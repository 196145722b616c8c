import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions of build/nutshell_native.node (src-c/addon.c). Sizes are element counts. */
export interface NativeAddon {
  /** out[i] = op(a[ia]) × op(b[ib]); op(a) is m×k, op(b) is k×n; maps pick ia/ib per output batch. */
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batchA: number,
    batchB: number,
    batchOut: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    mapA: Int32Array | null,
    mapB: Int32Array | null,
  ): void;
  /** params: see convParams(). */
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, params: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  /** out = a op b (op: BINARY_OPS index) over a view with operands [a, b] (see viewParams); out contiguous. */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, view: Int32Array): void;
  /** out[i] = op(x[i]) (op: UNARY_OPS index); equal lengths. */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** dst[dstOffset + view operand 1] = src[srcOffset + view operand 0]. */
  copy(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, view: Int32Array): void;
  /** out[r] = reduce over row r of a [rows, cols] array (op: REDUCE_OPS index; sums in double). */
  reduceRows(op: number, x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** Row-wise softmax of a [rows, cols] array. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  setThreads(n: number): void;
  getThreads(): number;
  config(): { config: string; core: string };
  /** Bytes held by the reusable im2col buffer. */
  scratchBytes(): number;
}

export type AddonProbe = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

/** <package>/build, next to dist/. */
export const defaultBuildDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'build');

const ADDON_FILE = 'nutshell_native.node';
const probes = new Map<string, AddonProbe>();

/**
 * Loads the addon from `buildDir` (cached per folder). Never throws: when it is missing, the
 * reason recorded by scripts/build-addon.mjs (build/unavailable.json) or the load error comes back.
 */
export function probeNativeAddon(buildDir: string = defaultBuildDir): AddonProbe {
  const dir = resolve(buildDir);
  let probe = probes.get(dir);
  if (!probe) {
    probe = load(dir);
    probes.set(dir, probe);
  }
  return probe;
}

function load(dir: string): AddonProbe {
  const file = join(dir, ADDON_FILE);
  if (!existsSync(file)) {
    const recorded = readUnavailable(dir);
    if (recorded) return { ok: false, reason: recorded };
    return {
      ok: false,
      reason: `the addon was not built (${file} is missing; run \`node scripts/build-addon.mjs\` in @nutshell/backend-native)`,
    };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    if (typeof addon?.matmul !== 'function') return { ok: false, reason: `${file} is not the nutshell native addon` };
    addon.setThreads(defaultThreads());
    return { ok: true, addon, path: file };
  } catch (err) {
    return { ok: false, reason: `loading ${file} failed: ${(err as Error)?.message ?? String(err)}` };
  }
}

function readUnavailable(dir: string): string | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, 'unavailable.json'), 'utf8')) as { reason?: string };
    return record.reason ? `the addon was not built: ${record.reason}` : undefined;
  } catch {
    return undefined;
  }
}

/** BLAS threads: NUTSHELL_NATIVE_THREADS if set, else one per core. */
export function defaultThreads(): number {
  const fromEnv = Number.parseInt(process.env.NUTSHELL_NATIVE_THREADS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  return Math.max(1, cores);
}
