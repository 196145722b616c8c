import { InvalidArgumentError } from '@nutshell/core';
import { quantRange, dtypeInfo, type QuantDType } from './dtypes.js';
import { FLOAT32_EPS, f32, roundHalfEven } from './float32.js';

/** How observed ranges become a scale and zero point. */
export interface QScheme {
  dtype: QuantDType;
  /** Symmetric: zero point fixed (0, or the mid code for unsigned types); else affine. Default false. */
  symmetric?: boolean;
  /** Use −qmax..qmax instead of the dtype's full range (e.g. −127..127). Default false. */
  narrowRange?: boolean;
}

export interface QParams {
  scale: number;
  zeroPoint: number;
}

/**
 * PyTorch's `_calculate_qparams` (MinMaxObserver and friends), in float32:
 * the range is first widened to include 0 so that 0.0 is exactly representable; then
 * - symmetric: scale = max(−min, max) / ((qmax − qmin) / 2), zero point 0 (signed) or
 *   ⌈(qmin + qmax) / 2⌉ (unsigned: 128 for uint8);
 * - affine: scale = (max − min) / (qmax − qmin), zero point = qmin − round(min / scale) (ties to
 *   even), clamped to [qmin, qmax].
 * The scale never goes below float32 eps (so an all-zero tensor gets scale 2^-23, not 0).
 */
export function computeQParams(min: number, max: number, scheme: QScheme): QParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new InvalidArgumentError(`computeQParams: expected finite min ≤ max, got min ${min}, max ${max}`);
  }
  const info = dtypeInfo(scheme.dtype);
  const { qmin, qmax } = quantRange(scheme.dtype, scheme.narrowRange);
  const minNeg = f32(Math.min(min, 0));
  const maxPos = f32(Math.max(max, 0));
  if (scheme.symmetric) {
    const m = Math.max(-minNeg, maxPos);
    const scale = Math.max(f32(m / f32((qmax - qmin) / 2)), FLOAT32_EPS);
    const zeroPoint = info.signed ? 0 : Math.ceil((qmin + qmax) / 2);
    return { scale, zeroPoint };
  }
  const scale = Math.max(f32(f32(maxPos - minNeg) / (qmax - qmin)), FLOAT32_EPS);
  const zp = qmin - roundHalfEven(f32(minNeg / scale));
  return { scale, zeroPoint: Math.min(qmax, Math.max(qmin, zp)) };
}
