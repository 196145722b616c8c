import { InvalidArgumentError, ShapeError } from '@nutshell/core';
import { quantizeGgml } from '../ggml/codec.js';
import { ggmlTypeInfo, type GgmlType } from '../ggml/types.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS } from './reader.js';
import { GGUF_VALUE_TYPES, toGgufValue, type GgufMetadataInput, type GgufValue, type GgufValueType } from './values.js';

/** One tensor to write: raw block bytes of `type`, or float values that are quantized to `type` here. */
export type GgufTensorInput =
  | { name: string; type: GgmlType; shape: readonly number[]; data: Uint8Array }
  | { name: string; type: GgmlType; shape: readonly number[]; values: Float32Array | readonly number[] };

export interface WriteGgufOptions {
  metadata?: Record<string, GgufMetadataInput>;
  tensors?: GgufTensorInput[];
  /** Data alignment (power of two). Default 32; another value is also written as general.alignment. */
  alignment?: number;
}

/** llama.cpp's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
const MAX_NAME_BYTES = 63;

class Out {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.ensure(1); this.view.setUint8(this.len, v); this.len += 1; }
  i8(v: number) { this.ensure(1); this.view.setInt8(this.len, v); this.len += 1; }
  u16(v: number) { this.ensure(2); this.view.setUint16(this.len, v, true); this.len += 2; }
  i16(v: number) { this.ensure(2); this.view.setInt16(this.len, v, true); this.len += 2; }
  u32(v: number) { this.ensure(4); this.view.setUint32(this.len, v, true); this.len += 4; }
  i32(v: number) { this.ensure(4); this.view.setInt32(this.len, v, true); this.len += 4; }
  f32(v: number) { this.ensure(4); this.view.setFloat32(this.len, v, true); this.len += 4; }
  f64(v: number) { this.ensure(8); this.view.setFloat64(this.len, v, true); this.len += 8; }
  u64(v: bigint) { this.ensure(8); this.view.setBigUint64(this.len, v, true); this.len += 8; }
  i64(v: bigint) { this.ensure(8); this.view.setBigInt64(this.len, v, true); this.len += 8; }
  bytes(b: Uint8Array) { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
  string(s: string) { const b = new TextEncoder().encode(s); this.u64(BigInt(b.length)); this.bytes(b); }
  pad(alignment: number) { const n = (alignment - (this.len % alignment)) % alignment; this.ensure(n); this.len += n; }
  result(): Uint8Array { return this.buf.slice(0, this.len); }
}

const INT_RANGES: Partial<Record<GgufValueType, [number, number]>> = {
  UINT8: [0, 255], INT8: [-128, 127], UINT16: [0, 65535], INT16: [-32768, 32767], UINT32: [0, 2 ** 32 - 1], INT32: [-(2 ** 31), 2 ** 31 - 1],
};

function writeScalar(out: Out, type: GgufValueType, v: unknown, what: string): void {
  const bad = (expected: string) => new InvalidArgumentError(`${what}: a ${type} needs ${expected}, got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`);
  const range = INT_RANGES[type];
  if (range) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) throw bad(`an integer in [${range[0]}, ${range[1]}]`);
  }
  switch (type) {
    case 'UINT8': return out.u8(v as number);
    case 'INT8': return out.i8(v as number);
    case 'UINT16': return out.u16(v as number);
    case 'INT16': return out.i16(v as number);
    case 'UINT32': return out.u32(v as number);
    case 'INT32': return out.i32(v as number);
    case 'FLOAT32': case 'FLOAT64':
      if (typeof v !== 'number') throw bad('a number');
      return type === 'FLOAT32' ? out.f32(v) : out.f64(v);
    case 'UINT64': case 'INT64': {
      if (typeof v !== 'bigint') throw bad('a bigint');
      const ok = type === 'UINT64' ? v >= 0n && v < 2n ** 64n : v >= -(2n ** 63n) && v < 2n ** 63n;
      if (!ok) throw bad(`a ${type === 'UINT64' ? 'u' : 'i'}64 value`);
      return type === 'UINT64' ? out.u64(v) : out.i64(v);
    }
    case 'BOOL':
      if (typeof v !== 'boolean') throw bad('a boolean');
      return out.u8(v ? 1 : 0);
    case 'STRING':
      if (typeof v !== 'string') throw bad('a string');
      return out.string(v);
    default:
      throw bad('a scalar');
  }
}

function writeValue(out: Out, value: GgufValue, what: string, depth = 0): void {
  if (value.type !== 'ARRAY') return writeScalar(out, value.type, value.value, what);
  if (depth > 8) throw new InvalidArgumentError(`${what}: arrays nested deeper than 8`);
  if (!Object.hasOwn(GGUF_VALUE_TYPES, value.itemType)) throw new InvalidArgumentError(`${what}: unknown item type ${JSON.stringify(value.itemType)}`);
  if (!Array.isArray(value.value)) throw new InvalidArgumentError(`${what}: an ARRAY value must be a JS array`);
  out.u32(GGUF_VALUE_TYPES[value.itemType]);
  out.u64(BigInt(value.value.length));
  value.value.forEach((item, i) => {
    if (value.itemType === 'ARRAY') {
      const nested = item as GgufValue;
      if (nested?.type !== 'ARRAY') throw new InvalidArgumentError(`${what}[${i}]: items of an ARRAY of ARRAY must be array values`);
      writeValue(out, nested, `${what}[${i}]`, depth + 1);
    } else writeScalar(out, value.itemType, item, `${what}[${i}]`);
  });
}

/**
 * Writes a GGUF v3 file: header, metadata (in the given order), tensor infos, padding to the
 * alignment, then each tensor's data padded to the alignment, laid out in order as llama.cpp expects.
 * Shapes are row-major (outermost first); the file stores them reversed (ggml's ne[0] innermost).
 */
export function writeGguf(options: WriteGgufOptions = {}): Uint8Array {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > 2 ** 31 || (alignment & (alignment - 1)) !== 0) {
    throw new InvalidArgumentError(`writeGguf: alignment must be a power of two, got ${alignment}`);
  }
  const metadata = new Map<string, GgufValue>();
  for (const [key, raw] of Object.entries(options.metadata ?? {})) metadata.set(key, toGgufValue(raw, key));
  const given = metadata.get('general.alignment');
  if (given && (given.type !== 'UINT32' || given.value !== alignment)) {
    if (options.alignment !== undefined || given.type !== 'UINT32') throw new InvalidArgumentError(`writeGguf: general.alignment (${String(given.value)}) disagrees with alignment ${alignment} or is not a UINT32`);
  }
  const effective = given ? (given.value as number) : alignment;
  if (!given && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.set('general.alignment', { type: 'UINT32', value: alignment });
  if ((effective & (effective - 1)) !== 0 || effective === 0) throw new InvalidArgumentError(`writeGguf: general.alignment must be a power of two, got ${effective}`);

  const names = new Set<string>();
  const tensors = (options.tensors ?? []).map((t, i) => {
    if (!t || typeof t.name !== 'string') throw new InvalidArgumentError(`writeGguf: tensor #${i} needs a name`);
    if (names.has(t.name)) throw new InvalidArgumentError(`writeGguf: duplicate tensor name ${JSON.stringify(t.name)}`);
    names.add(t.name);
    if (new TextEncoder().encode(t.name).length > MAX_NAME_BYTES) throw new InvalidArgumentError(`writeGguf: tensor name ${JSON.stringify(t.name)} is longer than ${MAX_NAME_BYTES} bytes (llama.cpp's limit)`);
    const info = ggmlTypeInfo(t.type);
    const shape = [...t.shape];
    if (shape.length > GGUF_MAX_DIMS || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`writeGguf: tensor "${t.name}" shape [${shape}] must have at most ${GGUF_MAX_DIMS} non-negative integer dimensions`);
    const count = shape.reduce((a, b) => a * b, 1);
    const ne0 = shape.length ? shape[shape.length - 1]! : 1;
    if (ne0 % info.blockSize !== 0) throw new ShapeError(`writeGguf: tensor "${t.name}": the last dimension ${ne0} is not a multiple of ${t.type}'s block size ${info.blockSize}`);
    const byteLength = count === 0 ? 0 : (count / info.blockSize) * info.typeSize;
    let data: Uint8Array;
    if ('data' in t && t.data !== undefined) {
      data = t.data;
      if (!(data instanceof Uint8Array) || data.length !== byteLength) throw new InvalidArgumentError(`writeGguf: tensor "${t.name}" (${t.type}, shape [${shape}]) needs ${byteLength} bytes of data, got ${data instanceof Uint8Array ? data.length : typeof data}`);
    } else {
      const values = (t as { values: Float32Array | readonly number[] }).values;
      if (!values || values.length !== count) throw new ShapeError(`writeGguf: tensor "${t.name}" shape [${shape}] needs ${count} values, got ${values?.length}`);
      data = quantizeGgml(t.type, values);
    }
    return { name: t.name, id: info.id, dims: [...shape].reverse(), data };
  });

  const out = new Out();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(BigInt(tensors.length));
  out.u64(BigInt(metadata.size));
  for (const [key, value] of metadata) {
    out.string(key);
    if (!value || !Object.hasOwn(GGUF_VALUE_TYPES, value.type)) throw new InvalidArgumentError(`writeGguf: metadata "${key}" has an unknown type`);
    out.u32(GGUF_VALUE_TYPES[value.type]);
    writeValue(out, value, `metadata "${key}"`);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(BigInt(d));
    out.u32(t.id);
    out.u64(BigInt(offset));
    offset += Math.ceil(t.data.length / effective) * effective;
  }
  out.pad(effective);
  for (const t of tensors) {
    out.bytes(t.data);
    out.pad(effective);
  }
  return out.result();
}
