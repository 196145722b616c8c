import { InvalidArgumentError } from '@nutshell/core';

/** Integer storage types of affine quantization. Sub-byte types are packed (see packing.ts). */
export type QuantDType = 'int8' | 'uint8' | 'int4' | 'uint4' | 'int2' | 'uint2';

export interface QuantDTypeInfo {
  bits: 8 | 4 | 2;
  signed: boolean;
  /** Smallest and largest stored integer. */
  qmin: number;
  qmax: number;
}

export const QUANT_DTYPES: Readonly<Record<QuantDType, QuantDTypeInfo>> = Object.freeze({
  int8: { bits: 8, signed: true, qmin: -128, qmax: 127 },
  uint8: { bits: 8, signed: false, qmin: 0, qmax: 255 },
  int4: { bits: 4, signed: true, qmin: -8, qmax: 7 },
  uint4: { bits: 4, signed: false, qmin: 0, qmax: 15 },
  int2: { bits: 2, signed: true, qmin: -2, qmax: 1 },
  uint2: { bits: 2, signed: false, qmin: 0, qmax: 3 },
});

export function dtypeInfo(dtype: unknown): QuantDTypeInfo {
  if (typeof dtype !== 'string' || !Object.hasOwn(QUANT_DTYPES, dtype)) {
    throw new InvalidArgumentError(`dtype must be one of ${Object.keys(QUANT_DTYPES).join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  return QUANT_DTYPES[dtype as QuantDType];
}

/**
 * The integer range a scheme uses: the dtype's full range, or with `narrowRange` the symmetric one
 * that drops the most negative code (−127..127 for int8), as TensorRT and ONNX weight quantizers do.
 */
export function quantRange(dtype: QuantDType, narrowRange = false): { qmin: number; qmax: number } {
  const info = dtypeInfo(dtype);
  if (!narrowRange) return { qmin: info.qmin, qmax: info.qmax };
  return info.signed ? { qmin: -info.qmax, qmax: info.qmax } : { qmin: info.qmin + 1, qmax: info.qmax };
}
