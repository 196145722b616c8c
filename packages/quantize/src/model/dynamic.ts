import { DTypeError, InvalidArgumentError, tf, type Scalar, type Tensor } from '@nutshell/core';

/** Result of ONNX DynamicQuantizeLinear: uint8 codes (held in an int32 tensor), scale and zero point. */
export interface DynamicQuantized {
  y: Tensor;
  scale: Scalar;
  zeroPoint: Scalar;
}

function checkFloat(x: Tensor, name: string): void {
  if (!x || typeof x !== 'object' || !('dtype' in x)) throw new InvalidArgumentError(`${name}: expected a tensor`);
  if (x.dtype !== 'float32') throw new DTypeError(`${name}: expected a float32 tensor, got ${x.dtype}`);
}

/** The scale and zero point DynamicQuantizeLinear picks, as float32 scalar tensors (tf ops, no sync). */
function dynamicQParams(x: Tensor): { scale: Tensor; zeroPoint: Tensor; safeScale: Tensor } {
  // ONNX: x_min = min(0, min(x)), x_max = max(0, max(x)), y_scale = (x_max − x_min) / 255.
  const xmin = tf.minimum(tf.min(x), 0);
  const xmax = tf.maximum(tf.max(x), 0);
  const scale = tf.div(tf.sub(xmax, xmin), 255);
  // An all-zero input gives scale 0: divide by 1 instead so codes and zero point are 0 (not NaN).
  const safeScale = tf.where(tf.equal(scale, 0), tf.onesLike(scale), scale);
  // zero point = saturate(round(0 − x_min / y_scale)); tf.round rounds half to even, as ONNX requires.
  const zeroPoint = tf.clipByValue(tf.round(tf.neg(tf.div(xmin, safeScale))), 0, 255);
  return { scale, zeroPoint, safeScale };
}

/**
 * ONNX `DynamicQuantizeLinear` (opset 11): y_scale = (max(0, x_max) − min(0, x_min)) / 255,
 * y_zero_point = saturate(round(0 − x_min / y_scale)), y = saturate(round(x / y_scale) + y_zero_point),
 * saturating to [0, 255] and rounding half to even, all in float32. An all-zero input gives scale 0,
 * zero point 0 and codes 0. The caller owns the three tensors.
 */
export function dynamicQuantizeLinear(x: Tensor): DynamicQuantized {
  checkFloat(x, 'dynamicQuantizeLinear');
  return tf.tidy(() => {
    const { scale, zeroPoint, safeScale } = dynamicQParams(x);
    const y = tf.cast(tf.clipByValue(tf.add(tf.round(tf.div(x, safeScale)), zeroPoint), 0, 255), 'int32');
    return { y, scale: scale as Scalar, zeroPoint: tf.cast(zeroPoint, 'int32') as Scalar };
  });
}

/**
 * x → DynamicQuantizeLinear → dequantized (y − zp) · scale, the activation a dynamically quantized
 * layer multiplies with its int8 weights (equal, up to float accumulation order, to the integer GEMM).
 */
export function dynamicFakeQuantize(x: Tensor): Tensor {
  checkFloat(x, 'dynamicFakeQuantize');
  return tf.tidy(() => {
    const { scale, zeroPoint, safeScale } = dynamicQParams(x);
    const q = tf.clipByValue(tf.add(tf.round(tf.div(x, safeScale)), zeroPoint), 0, 255);
    return tf.mul(tf.sub(q, zeroPoint), scale);
  });
}

/**
 * Fixed-qparams fake quantization of an activation (static PTQ): q = clamp(round(x / s) + zp, qmin, qmax),
 * returns (q − zp) · s. No gradient surgery: use the QAT modules to train through quantization.
 */
export function staticFakeQuantize(x: Tensor, scale: number, zeroPoint: number, qmin = 0, qmax = 255): Tensor {
  checkFloat(x, 'staticFakeQuantize');
  if (!(scale > 0) || !Number.isFinite(scale)) throw new InvalidArgumentError(`staticFakeQuantize: scale must be positive, got ${scale}`);
  return tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(tf.add(tf.round(tf.div(x, scale)), zeroPoint), qmin, qmax), zeroPoint), scale));
}
