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
  /** out[i] = op(x[i]) (op: UNARY_OPS index); equal lengths. `param` is Step's alpha. */
  unary(op: number, x: Float32Array, out: Float32Array, param?: number): void;
  /** dst[dstOffset + view operand 1] = src[srcOffset + view operand 0]. */
  copy(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, view: Int32Array): void;
  /** out[r] = reduce over row r of a [rows, cols] array (op: REDUCE_OPS index; sums in double). */
  reduceRows(op: number, x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * Sum (or mean) of x viewed as blocks of merged axes `sizes` over the blocks with reduced[b] = 1,
   * reading x once in memory order (double sums); out holds the kept blocks in order.
   */
  reduceBlocks(mean: boolean, x: Float32Array, out: Float32Array, sizes: Int32Array, reduced: Int32Array): void;
  /** Row-wise softmax of a [rows, cols] array. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** out = LayerNorm over the last axis of a [rows, cols] array (statistics in double); gamma/beta optional. */
  layerNorm(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, out: Float32Array, rows: number, cols: number, eps: number): void;
  /** The adjoint of layerNorm: dx, and dgamma / dbeta summed over rows (double sums); gamma optional. */
  layerNormGrad(
    dy: Float32Array, x: Float32Array, gamma: Float32Array | null, dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null,
    rows: number, cols: number, eps: number,
  ): void;
  /** out[M,N] = act(x[M,K]·op(w) + bias) + residual; op(w) = w [K,N], or w [N,K]ᵀ when transposeB; act: LINEAR_ACTIVATIONS index. */
  linear(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    residual: Float32Array | null,
    out: Float32Array,
    m: number,
    n: number,
    k: number,
    transposeB: boolean,
    activation: number,
  ): void;
  /**
   * Causal attention of qkv [B, T, 3·H·d] over KV caches [B, H, capacity, d] after writing the T new
   * keys/values (rotated when rope) into them in place at start..start+T−1; out is [B, T, H·d].
   * params: [B, T, H, d, capacity, start, rope ? 1 : 0].
   */
  cachedAttention(qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, out: Float32Array, params: Int32Array, scale: number, ropeTheta: number): void;
  /** Causal attention for training: y [B, T, H·d] and lse [B, H, T] from qkv [B, T, 3·H·d]; params [B, T, H, d]. */
  causalAttention(qkv: Float32Array, y: Float32Array, lse: Float32Array, params: Int32Array, scale: number): void;
  /** Its adjoint: dqkv [B, T, 3·H·d] for dy [B, T, H·d], given the forward's qkv, y and lse. */
  causalAttentionGrad(dy: Float32Array, qkv: Float32Array, y: Float32Array, lse: Float32Array, dqkv: Float32Array, params: Int32Array, scale: number): void;
  /** out = act(x) elementwise over n values; act: LINEAR_ACTIVATIONS index. */
  activation(x: Float32Array, out: Float32Array, n: number, act: number): void;
  /** dx = dy · act′(x) elementwise. */
  activationGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number, act: number): void;
  /** GroupNorm of channels-last x [N, S, C] in G groups; params [N, S, C, G]; beta optional. */
  groupNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array | null, out: Float32Array, params: Int32Array, eps: number): void;
  /** Its adjoint: dx, and dgamma / dbeta summed over samples and positions (double sums). */
  groupNormGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, params: Int32Array, eps: number): void;
  /** NHWC max pooling; params: [n, inH, inW, c, outH, outW, fH, fW, sH, sW, padTop, padLeft]. */
  maxPool(x: Float32Array, out: Float32Array, params: Int32Array): void;
  /** dx (zeroed first) += dy at each window's first maximum; same params as maxPool. */
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, params: Int32Array): void;
  /** out [batch, outer, nIdx, inner] = x [batch, outer, dimSize, inner] rows picked by indices [batch, nIdx] (4-byte words). */
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, batch: number, outer: number, dimSize: number, inner: number): void;
  /** out [numSegments, inner] = Σ x[i] over ids[i] == segment (ids outside [0, numSegments) dropped; double sums). */
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, numSegments: number, inner: number): void;
  /**
   * Fused Adam/AdamW update of one parameter (src-c/optim.c); outputs may alias inputs.
   * coef: [decay, b1, 1 - b1, b2, 1 - b2, sqrt(bc2), eps, lr / bc1, l2].
   */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, coef: Float64Array): void;
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
