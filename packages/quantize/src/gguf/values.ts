import { InvalidArgumentError, describe } from '@nutshell/core';

/** GGUF metadata value types with their on-disk numbers. */
export const GGUF_VALUE_TYPES = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufValueType = keyof typeof GGUF_VALUE_TYPES;
export type GgufNumberType = 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'UINT32' | 'INT32' | 'FLOAT32' | 'FLOAT64';
export type GgufBigIntType = 'UINT64' | 'INT64';

/** Items of an array value: plain JS values for scalar item types, nested array values for ARRAY. */
export type GgufArrayItems = number[] | bigint[] | boolean[] | string[] | GgufArrayValue[];
export interface GgufArrayValue {
  type: 'ARRAY';
  itemType: GgufValueType;
  value: GgufArrayItems;
}

/** A typed metadata value. 64-bit integers are bigints; the other numbers are JS numbers. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'BOOL'; value: boolean }
  | { type: 'STRING'; value: string }
  | GgufArrayValue;

const TYPE_BY_ID = new Map<number, GgufValueType>(Object.entries(GGUF_VALUE_TYPES).map(([k, v]) => [v, k as GgufValueType]));
export function ggufValueTypeName(id: number): GgufValueType | undefined {
  return TYPE_BY_ID.get(id);
}

/** Constructors that pin the on-disk type (llama.cpp checks types: general.alignment must be u32). */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'UINT8', value }),
  i8: (value: number): GgufValue => ({ type: 'INT8', value }),
  u16: (value: number): GgufValue => ({ type: 'UINT16', value }),
  i16: (value: number): GgufValue => ({ type: 'INT16', value }),
  u32: (value: number): GgufValue => ({ type: 'UINT32', value }),
  i32: (value: number): GgufValue => ({ type: 'INT32', value }),
  f32: (value: number): GgufValue => ({ type: 'FLOAT32', value }),
  f64: (value: number): GgufValue => ({ type: 'FLOAT64', value }),
  u64: (value: bigint | number): GgufValue => ({ type: 'UINT64', value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: 'INT64', value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: 'BOOL', value }),
  string: (value: string): GgufValue => ({ type: 'STRING', value }),
  array: (itemType: GgufValueType, value: GgufArrayItems): GgufArrayValue => ({ type: 'ARRAY', itemType, value }),
};

/** What the writer accepts as a metadata value: a typed value, or a plain one whose type is inferred. */
export type GgufMetadataInput = GgufValue | string | boolean | number | bigint | readonly string[] | readonly number[] | readonly boolean[];

/**
 * Plain values get a type: string → STRING, boolean → BOOL, bigint → INT64, integers → UINT32 (≥ 0)
 * or INT32 (negative) when they fit, other numbers → FLOAT32; arrays take their items' type (numbers:
 * INT32 if all are int32, else FLOAT32). Use the `gguf.*` constructors for anything else.
 */
export function toGgufValue(input: GgufMetadataInput, key: string): GgufValue {
  if (typeof input === 'string') return { type: 'STRING', value: input };
  if (typeof input === 'boolean') return { type: 'BOOL', value: input };
  if (typeof input === 'bigint') return { type: 'INT64', value: input };
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0 && input < 2 ** 32) return { type: 'UINT32', value: input };
    if (Number.isInteger(input) && input >= -(2 ** 31) && input < 0) return { type: 'INT32', value: input };
    return { type: 'FLOAT32', value: input };
  }
  if (Array.isArray(input)) {
    if (input.every((v) => typeof v === 'string')) return { type: 'ARRAY', itemType: 'STRING', value: [...input] as string[] };
    if (input.every((v) => typeof v === 'boolean')) return { type: 'ARRAY', itemType: 'BOOL', value: [...input] as boolean[] };
    if (input.every((v) => typeof v === 'number')) {
      const ints = (input as number[]).every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
      return { type: 'ARRAY', itemType: ints ? 'INT32' : 'FLOAT32', value: [...input] as number[] };
    }
  }
  if (typeof input === 'object' && input !== null && 'type' in input && typeof (input as { type: unknown }).type === 'string' && Object.hasOwn(GGUF_VALUE_TYPES, (input as { type: string }).type)) {
    return input as GgufValue;
  }
  throw new InvalidArgumentError(`GGUF metadata "${key}": cannot store ${describe(input)}; use a string, boolean, number, bigint, an array of one of those, or gguf.u32(…) etc.`);
}
