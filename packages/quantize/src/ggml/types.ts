import { InvalidArgumentError } from '@nutshell/core';

/**
 * ggml tensor types as numbered in ggml.h (the numbers GGUF stores), with each type's block: how many
 * values one block holds and how many bytes it takes. Removed ids (4, 5, 31–33, 36–38) are absent.
 */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, typeSize: 4 },
  F16: { id: 1, blockSize: 1, typeSize: 2 },
  Q4_0: { id: 2, blockSize: 32, typeSize: 18 },
  Q4_1: { id: 3, blockSize: 32, typeSize: 20 },
  Q5_0: { id: 6, blockSize: 32, typeSize: 22 },
  Q5_1: { id: 7, blockSize: 32, typeSize: 24 },
  Q8_0: { id: 8, blockSize: 32, typeSize: 34 },
  Q8_1: { id: 9, blockSize: 32, typeSize: 36 },
  Q2_K: { id: 10, blockSize: 256, typeSize: 84 },
  Q3_K: { id: 11, blockSize: 256, typeSize: 110 },
  Q4_K: { id: 12, blockSize: 256, typeSize: 144 },
  Q5_K: { id: 13, blockSize: 256, typeSize: 176 },
  Q6_K: { id: 14, blockSize: 256, typeSize: 210 },
  Q8_K: { id: 15, blockSize: 256, typeSize: 292 },
  IQ2_XXS: { id: 16, blockSize: 256, typeSize: 66 },
  IQ2_XS: { id: 17, blockSize: 256, typeSize: 74 },
  IQ3_XXS: { id: 18, blockSize: 256, typeSize: 98 },
  IQ1_S: { id: 19, blockSize: 256, typeSize: 50 },
  IQ4_NL: { id: 20, blockSize: 32, typeSize: 18 },
  IQ3_S: { id: 21, blockSize: 256, typeSize: 110 },
  IQ2_S: { id: 22, blockSize: 256, typeSize: 82 },
  IQ4_XS: { id: 23, blockSize: 256, typeSize: 136 },
  I8: { id: 24, blockSize: 1, typeSize: 1 },
  I16: { id: 25, blockSize: 1, typeSize: 2 },
  I32: { id: 26, blockSize: 1, typeSize: 4 },
  I64: { id: 27, blockSize: 1, typeSize: 8 },
  F64: { id: 28, blockSize: 1, typeSize: 8 },
  IQ1_M: { id: 29, blockSize: 256, typeSize: 56 },
  BF16: { id: 30, blockSize: 1, typeSize: 2 },
  TQ1_0: { id: 34, blockSize: 256, typeSize: 54 },
  TQ2_0: { id: 35, blockSize: 256, typeSize: 66 },
  MXFP4: { id: 39, blockSize: 32, typeSize: 17 },
} as const satisfies Record<string, { id: number; blockSize: number; typeSize: number }>;

export type GgmlType = keyof typeof GGML_TYPES;

const BY_ID = new Map<number, GgmlType>(Object.entries(GGML_TYPES).map(([name, t]) => [t.id, name as GgmlType]));

export function ggmlTypeName(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

export function ggmlTypeInfo(type: unknown): { name: GgmlType; id: number; blockSize: number; typeSize: number } {
  if (typeof type !== 'string' || !Object.hasOwn(GGML_TYPES, type)) {
    throw new InvalidArgumentError(`unknown ggml type ${JSON.stringify(type)}; known: ${Object.keys(GGML_TYPES).join(', ')}`);
  }
  return { name: type as GgmlType, ...GGML_TYPES[type as GgmlType] };
}

/** Bytes of a row of `n` values (n must be a multiple of the block size). */
export function ggmlRowSize(type: GgmlType, n: number): number {
  const t = ggmlTypeInfo(type);
  if (!Number.isInteger(n) || n < 0 || n % t.blockSize !== 0) throw new InvalidArgumentError(`${type}: ${n} values is not a whole number of ${t.blockSize}-value blocks`);
  return (n / t.blockSize) * t.typeSize;
}
