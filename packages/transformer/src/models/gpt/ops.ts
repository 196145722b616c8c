import { tf, type Tensor } from '@nutshell/core';

/**
 * Kernels chosen for speed on the backends nutshell runs on. tfjs' own gradients use
 * matMul(…, transposeA/B) and UnsortedSegmentSum, which the wasm backend runs 4–7× and ~1000×
 * slower than an explicit transpose + plain matMul and a one-hot matMul; these ops compute the
 * same values with gradients written in the fast forms.
 */

const swap = (t: Tensor): Tensor => {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1]!, perm[t.rank - 2]!];
  return tf.transpose(t, perm);
};

/**
 * Backends whose transposed matMul is as fast as the plain one (BLAS takes the transpose as a flag);
 * on them tfjs' own gradient (products with transposeA/B) beats an explicit transpose + matMul.
 */
const TRANSPOSE_FLAG_BACKENDS = new Set(['native', 'cpu', 'webgpu']);

/** tf.matMul with tfjs' own gradient; a rank-2 b multiplies a flattened to 2-D (tfjs' gradient does not sum a broadcast batch back). */
function flagMatMul(a: Tensor, b: Tensor, transposeB: boolean): Tensor {
  if (b.rank !== 2 || a.rank <= 2) return tf.matMul(a, b, false, transposeB);
  const n = b.shape[transposeB ? 0 : 1]!;
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]), b, false, transposeB), [...a.shape.slice(0, -1), n]));
}

/** a·b for [..., m, k] × [..., k, n] with equal batch dims (or rank-2 b); on wasm, gradients without transposed matMuls. */
export function mm(a: Tensor, b: Tensor): Tensor {
  if (TRANSPOSE_FLAG_BACKENDS.has(tf.getBackend())) return flagMatMul(a, b, false);
  const f = tf.customGrad(((x: Tensor, y: Tensor, save: (t: Tensor[]) => void) => {
    save([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sy] = saved as [Tensor, Tensor];
        const dx = tf.matMul(dy, swap(sy));
        let dw = sy.rank === 2 && sx.rank > 2
          ? tf.matMul(swap(tf.reshape(sx, [-1, sx.shape[sx.rank - 1]!])), tf.reshape(dy, [-1, dy.shape[dy.rank - 1]!]))
          : tf.matMul(swap(sx), dy);
        if (dw.rank !== sy.rank) dw = tf.reshape(dw, sy.shape);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: Tensor, y: Tensor) => Tensor;
  return f(a, b);
}

/** a·bᵀ (b stored [n, k], e.g. a tied embedding used as the output layer). */
export function mmT(a: Tensor, b: Tensor): Tensor {
  if (TRANSPOSE_FLAG_BACKENDS.has(tf.getBackend())) return flagMatMul(a, b, true);
  return tf.tidy(() => mm(a, swap(b)));
}

/** Above this many one-hot elements the embedding gradient falls back to tfjs' own (GPT-2's 50k vocabulary). */
const ONE_HOT_LIMIT = 1 << 23;

/** Embedding rows of `weight` [V, C] for int32 `ids` (any shape); gradient as oneHot(ids)ᵀ·dy. */
export function embed(weight: Tensor, ids: Tensor): Tensor {
  const [V, C] = weight.shape as [number, number];
  const flat = tf.reshape(ids, [-1]);
  const n = flat.shape[0]!;
  let out: Tensor;
  if (n * V > ONE_HOT_LIMIT) out = tf.gather(weight, flat);
  else {
    // The ids are saved (cloned and kept by the engine) so the gradient can use them after this scope.
    const f = tf.customGrad(((w: Tensor, save: (t: Tensor[]) => void) => {
      save([flat]);
      return {
        value: tf.gather(w, flat),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const hot = tf.cast(tf.oneHot(saved[0]!, V), 'float32');
          const rows = tf.reshape(dy, [n, C]);
          return TRANSPOSE_FLAG_BACKENDS.has(tf.getBackend()) ? tf.matMul(hot, rows, true, false) : tf.matMul(swap(hot), rows);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (w: Tensor) => Tensor;
    out = f(weight);
  }
  const shaped = tf.reshape(out, [...ids.shape, C]);
  if (shaped !== out) out.dispose();
  flat.dispose();
  return shaped;
}

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), with x³ as products (Pow's gradient is slow). */
export function geluNew(x: Tensor): Tensor {
  return tf.tidy(() => {
    const x3 = tf.mul(tf.mul(x, x), x);
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, x3)));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}
