import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

/** Sums a gradient over the axes where `target` was broadcast, giving `target`'s shape. */
export function reduceToShape(g: Tensor, shape: readonly number[]): Tensor {
  return tf.tidy(() => {
    let out = g;
    const lead = out.rank - shape.length;
    if (lead > 0) out = tf.sum(out, Array.from({ length: lead }, (_, i) => i));
    const axes = shape.map((d, i) => (d === 1 && out.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    if (axes.length) out = tf.sum(out, axes, true);
    return tf.reshape(out, [...shape]);
  });
}

function checkRange(qmin: number, qmax: number): void {
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin >= qmax) throw new InvalidArgumentError(`fake quantization needs integers qmin < qmax, got ${qmin}, ${qmax}`);
}

/**
 * Fake quantization with the straight-through estimator (PyTorch's fake_quantize_per_channel_affine):
 * forward (clamp(round(x · (1/s)) + zp, qmin, qmax) − zp) · s, rounding half to even; backward passes
 * the gradient where round(x/s) + zp lies inside [qmin, qmax] and blocks it where the value was
 * clamped. `scale` and `zeroPoint` broadcast against x (per tensor or per channel) and get no gradient.
 */
export function fakeQuantSTE(x: Tensor, scale: Tensor | number, zeroPoint: Tensor | number, qmin: number, qmax: number): Tensor {
  checkRange(qmin, qmax);
  const s = typeof scale === 'number' ? tf.scalar(scale) : scale;
  const z = typeof zeroPoint === 'number' ? tf.scalar(zeroPoint) : zeroPoint;
  const f = tf.customGrad(((xi: Tensor, si: Tensor, zi: Tensor, save: tf.GradSaveFunc) => {
    const q = tf.add(tf.round(tf.mul(xi, tf.reciprocal(si))), zi);
    const inside = tf.logicalAnd(tf.greaterEqual(q, qmin), tf.lessEqual(q, qmax));
    save([inside]);
    const value = tf.mul(tf.sub(tf.clipByValue(q, qmin, qmax), zi), si);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.mul(dy, tf.cast(saved[0]!, 'float32')), tf.zerosLike(si), tf.zerosLike(zi)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = f(x, s, z);
  if (typeof scale === 'number') s.dispose();
  if (typeof zeroPoint === 'number') z.dispose();
  return out;
}

/**
 * LSQ (Esser et al., "Learned Step Size Quantization", 2020): x̂ = round(clamp(x/s, qn, qp)) · s with
 * a learnable step s. Gradients (paper eq. 3, with the STE through round):
 *   ∂x̂/∂x = 1 inside (qn < x/s < qp), 0 outside;
 *   ∂x̂/∂s = −x/s + round(x/s) inside, qn below, qp above; times `gradScale` (the paper's
 *   g = 1/√(N·qp), N = values per step), summed over the values sharing a step.
 */
export function lsqFakeQuant(x: Tensor, step: Tensor, qn: number, qp: number, gradScale = 1): Tensor {
  checkRange(qn, qp);
  const f = tf.customGrad(((xi: Tensor, si: Tensor, save: tf.GradSaveFunc) => {
    const v = tf.div(xi, si);
    save([v, si]);
    const value = tf.mul(tf.round(tf.clipByValue(v, qn, qp)), si);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [vv, ss] = saved as [Tensor, Tensor];
        const below = tf.lessEqual(vv, qn);
        const above = tf.greaterEqual(vv, qp);
        const inside = tf.logicalNot(tf.logicalOr(below, above));
        const dx = tf.mul(dy, tf.cast(inside, 'float32'));
        const local = tf.where(below, tf.fill(vv.shape, qn), tf.where(above, tf.fill(vv.shape, qp), tf.sub(tf.round(vv), vv)));
        const ds = tf.mul(reduceToShape(tf.mul(dy, local), ss.shape), gradScale);
        return [dx, ds];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, step);
}

/** The paper's step initialisation: 2·mean(|x|)/√qp (per row of a weight when `perChannel`). */
export function lsqInitStep(w: Tensor, qp: number, perChannel: boolean): Tensor {
  return tf.tidy(() => {
    if (!perChannel) return tf.div(tf.mul(tf.mean(tf.abs(w)), 2), Math.sqrt(qp));
    const rows = tf.reshape(tf.abs(w), [w.shape[0]!, -1]);
    const shape = [w.shape[0]!, ...w.shape.slice(1).map(() => 1)];
    return tf.reshape(tf.maximum(tf.div(tf.mul(tf.mean(rows, 1), 2), Math.sqrt(qp)), 1e-8), shape);
  });
}
