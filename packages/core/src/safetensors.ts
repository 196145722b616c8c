/**
 * Hugging Face safetensors: read, validate, convert and write.
 *
 * Layout: an 8-byte little-endian u64 header size N, N bytes of UTF-8 JSON (an object mapping tensor
 * names to {dtype, shape, data_offsets: [begin, end]}, plus an optional "__metadata__" of strings),
 * then the data buffer. Validation follows the reference Rust crate (`SafeTensors::read_metadata` and
 * `Metadata::validate`): the tensors, taken in offset order, must cover the buffer contiguously from 0
 * with no gap, overlap or trailing bytes, and each must span exactly numel × dtype size bytes.
 * Every problem with the bytes is a `FormatError('safetensors', …)`; sizes are checked before any
 * allocation, so hostile input cannot crash, hang or exhaust memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DTypeError, FormatError, InvalidArgumentError, describe } from './errors.js';
import {
  fromBFloat16Bits,
  fromFloat16Bits,
  fromFloat8E4M3Bits,
  fromFloat8E5M2Bits,
  fromFloat8E8M0Bits,
  toBFloat16Bits,
  toFloat16Bits,
} from './float16.js';

export { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from './float16.js';

/**
 * Every dtype of the reference, in its alignment order (ascending). The writer lays tensors out in the
 * reverse of this order, then by name, exactly like the reference, so each tensor's data is aligned to
 * its element size.
 */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16',
  'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;

export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/** The reference's limit on the JSON header, in bytes. */
export const SAFETENSORS_MAX_HEADER_SIZE = 100_000_000;

const BITS: Record<SafetensorsDType, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16,
  U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};
const ORDER = new Map<string, number>(SAFETENSORS_DTYPES.map((d, i) => [d, i]));

/** One tensor as stored: little-endian, row-major bytes. */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** Exactly numel × element size bytes. From `parseSafetensors` it is a view into the input (no copy). */
  data: Uint8Array;
}

export interface ParsedSafetensors {
  metadata: Record<string, string> | undefined;
  /** In file (offset) order. */
  tensors: Record<string, RawTensor>;
}

export interface LoadedSafetensors {
  metadata: Record<string, string> | undefined;
  tensors: Record<string, tf.Tensor>;
}

/** The dtypes a tfjs tensor can be written as (float32 → floats, int32 → integers, bool → BOOL). */
export type SafetensorsWriteDType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I8' | 'I16' | 'I32' | 'I64' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

export interface SaveSafetensorsOptions {
  /** String-to-string metadata, stored as "__metadata__" (keys written in code-point order). */
  metadata?: Record<string, string>;
  /** Storage dtype per tensor name; default F32 for float32, I32 for int32, BOOL for bool. */
  dtypes?: Record<string, SafetensorsWriteDType>;
}

/** A JSON-ready value: non-finite floats and unsafe 64-bit integers are strings. */
export type SafetensorsJsonValue = number | string;

export interface SafetensorsInspection {
  format: 'safetensors';
  metadata: Record<string, string> | null;
  tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; values?: SafetensorsJsonValue[] }>;
}

const FORMAT = 'safetensors';
const fail = (message: string) => new FormatError(FORMAT, message);
const quote = (name: string) => JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
// serde_json (the reference) rejects lone surrogates; JSON.parse does not, and they cannot be written as UTF-8.
const LONE_SURROGATE = /\p{Surrogate}/u;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sets an own property even for names like "__proto__". */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Element count of `shape`, multiplied in order like the reference; undefined on overflow past 2^53 − 1. */
function checkedNumel(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (d !== 0 && n > Number.MAX_SAFE_INTEGER / d) return undefined;
    n *= d;
  }
  return n;
}

const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
const isDType = (d: unknown): d is SafetensorsDType => typeof d === 'string' && ORDER.has(d);

/** Byte size of a tensor of `dtype` and `shape`, or a reason why there is none. */
function byteSize(dtype: SafetensorsDType, shape: readonly number[]): number | string {
  const numel = checkedNumel(shape);
  const bits = numel === undefined ? undefined : numel * BITS[dtype];
  if (bits === undefined || bits > Number.MAX_SAFE_INTEGER) {
    return `shape ${fmtShape(shape)} overflows: expected numel × ${BITS[dtype]} bits to be at most 2^53 − 1`;
  }
  if (bits % 8 !== 0) return `${numel} elements of ${dtype} (${BITS[dtype]} bits each) do not fill whole bytes`;
  return bits / 8;
}

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, value: unknown): Entry {
  const where = `tensor ${quote(name)}`;
  if (LONE_SURROGATE.test(name)) throw fail(`${where}: expected a well-formed Unicode name, got one with a lone surrogate`);
  if (!isObject(value)) {
    throw fail(`${where}: expected an object with "dtype", "shape" and "data_offsets", got ${kindOf(value)} (${describe(value)})`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDType(dtype)) {
    throw fail(`${where}: expected "dtype" to be one of ${SAFETENSORS_DTYPES.join(', ')}, got ${describe(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    throw fail(`${where}: expected "shape" to be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
    throw fail(`${where}: expected "data_offsets" to be [begin, end] with non-negative integers, got ${describe(offsets)}`);
  }
  return { name, dtype, shape: shape.slice(), begin: offsets[0], end: offsets[1] };
}

function parseMetadata(value: unknown): Record<string, string> | undefined {
  if (value === null) return undefined; // serde reads null as a missing Option
  if (!isObject(value)) throw fail(`expected "__metadata__" to be an object of strings, got ${kindOf(value)}`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw fail(`expected "__metadata__" values to be strings, got ${kindOf(v)} (${describe(v)}) for key ${quote(key)}`);
    }
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(v)) {
      throw fail(`expected well-formed Unicode in "__metadata__", got a lone surrogate in key ${quote(key)}`);
    }
    setOwn(out, key, v);
  }
  return out;
}

/**
 * Parses and validates safetensors bytes. Tensor data are views into `bytes` (no copy); keep `bytes`
 * unchanged while you use them. Throws FormatError for anything the reference would reject.
 */
export function parseSafetensors(bytes: Uint8Array): ParsedSafetensors {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`parseSafetensors: expected a Uint8Array, got ${describe(bytes)}`);
  // A plain view, so a Buffer input still yields plain Uint8Array tensor data.
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (u8.length < 8) throw fail(`expected at least 8 bytes (the header size), got ${u8.length}`);
  const declared = new DataView(u8.buffer, u8.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(SAFETENSORS_MAX_HEADER_SIZE)) {
    throw fail(`header size ${declared} exceeds the limit of ${SAFETENSORS_MAX_HEADER_SIZE} bytes`);
  }
  const n = Number(declared);
  if (8 + n > u8.length) throw fail(`header size is ${n} bytes, but only ${u8.length - 8} bytes follow the size field`);

  let text: string;
  try {
    text = utf8Decoder.decode(u8.subarray(8, 8 + n));
  } catch {
    throw fail(`expected the ${n}-byte header to be UTF-8 text, got invalid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail(`expected the header to be JSON, got a parse error: ${(e as Error).message.slice(0, 200)}`);
  }
  if (!isObject(header)) throw fail(`expected the header to be a JSON object, got ${kindOf(header)}`);

  let metadata: Record<string, string> | undefined;
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(value);
    else entries.push(parseEntry(name, value));
  }

  // Offset order, like the reference; then the buffer must be covered contiguously from 0.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = u8.length - dataStart;
  const tensors: Record<string, RawTensor> = {};
  let cursor = 0;
  for (const e of entries) {
    const where = `tensor ${quote(e.name)}`;
    const offsets = `data_offsets [${e.begin}, ${e.end}]`;
    if (e.begin < cursor) throw fail(`${where}: ${offsets} overlap the previous tensor, which ends at ${cursor}`);
    if (e.begin > cursor) {
      throw fail(`${where}: ${offsets} leave a gap: expected it to begin at ${cursor} (tensors must cover the data buffer contiguously from 0), got ${e.begin}`);
    }
    if (e.end < e.begin) throw fail(`${where}: ${offsets} end before they begin`);
    const size = byteSize(e.dtype, e.shape);
    if (typeof size === 'string') throw fail(`${where}: ${size}`);
    if (e.end - e.begin !== size) {
      throw fail(`${where}: expected ${size} bytes for ${e.dtype} of shape ${fmtShape(e.shape)}, got ${offsets} (${e.end - e.begin} bytes)`);
    }
    if (e.end > dataLength) throw fail(`${where}: ${offsets} run past the end of the ${dataLength}-byte data buffer`);
    cursor = e.end;
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data: u8.subarray(dataStart + e.begin, dataStart + e.end) });
  }
  if (cursor !== dataLength) {
    throw fail(`expected the data buffer to end where the last tensor ends (${cursor} bytes), got ${dataLength} bytes (${dataLength - cursor} trailing)`);
  }
  return { metadata, tensors };
}

// ---------------------------------------------------------------------------------------------------
// Element codecs

type TypedCtor<T> = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of `data`, copying first only when its byte offset is not aligned for the element type. */
function viewAs<T>(data: Uint8Array, Ctor: TypedCtor<T>): T {
  const n = data.byteLength / Ctor.BYTES_PER_ELEMENT;
  if (data.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(data.buffer as ArrayBuffer, data.byteOffset, n);
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return new Ctor(copy.buffer, 0, n);
}

/** A fresh copy of `data` as the element type (a tensor must never alias the file's buffer). */
function copyAs<T>(data: Uint8Array, Ctor: TypedCtor<T>): T {
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return new Ctor(copy.buffer, 0, data.byteLength / Ctor.BYTES_PER_ELEMENT);
}

function assertLittleEndian(): void {
  // Typed arrays use the host's byte order; safetensors is little-endian. Every JS host we know is.
  if (!LITTLE_ENDIAN) throw new DTypeError('safetensors: this host is big-endian; only little-endian hosts are supported');
}

function checkRaw(raw: RawTensor, where: string): void {
  if (!isObject(raw) || !isDType(raw.dtype) || !Array.isArray(raw.shape) || !raw.shape.every(isDim) || !(raw.data instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${where}: expected a RawTensor { dtype, shape, data: Uint8Array }, got ${describe(raw)}`);
  }
  const size = byteSize(raw.dtype, raw.shape);
  if (typeof size === 'string') throw new InvalidArgumentError(`${where}: ${size}`);
  if (raw.data.byteLength !== size) {
    throw new InvalidArgumentError(`${where}: expected ${size} bytes for ${raw.dtype} of shape ${fmtShape(raw.shape)}, got ${raw.data.byteLength}`);
  }
}

const INT_RANGE: Partial<Record<SafetensorsDType, [number, number]>> = {
  I8: [-128, 127], I16: [-32768, 32767], I32: [-2147483648, 2147483647], U8: [0, 255], U16: [0, 65535],
  U32: [0, 4294967295],
};
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

// F16 → float32 through a 65,536-entry table (256 KiB, built on first use): ~15× faster than decoding.
let f16Table: Float32Array | undefined;
function f16ToFloat32(bits: Uint16Array): Float32Array {
  f16Table ??= Float32Array.from({ length: 0x10000 }, (_, b) => fromFloat16Bits(b));
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Table[bits[i]!]!;
  return out;
}

function fromSmallFloats(bits: ArrayLike<number>, decode: (b: number) => number): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i]!);
  return out;
}

/** Decoded numbers of a float dtype (full precision for F64), or undefined for non-float dtypes. */
function floatValues(raw: RawTensor): Float32Array | Float64Array | undefined {
  switch (raw.dtype) {
    case 'F32': return viewAs(raw.data, Float32Array);
    case 'F64': return viewAs(raw.data, Float64Array);
    case 'F16': return f16ToFloat32(viewAs(raw.data, Uint16Array));
    case 'BF16': {
      // BF16 is the top half of an F32: shifting the bits is exact and keeps NaN payloads.
      const bits = viewAs(raw.data, Uint16Array);
      const out = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'F8_E5M2': return fromSmallFloats(raw.data, fromFloat8E5M2Bits);
    case 'F8_E4M3': return fromSmallFloats(raw.data, fromFloat8E4M3Bits);
    case 'F8_E8M0': return fromSmallFloats(raw.data, fromFloat8E8M0Bits);
    default: return undefined;
  }
}

/** Integer values (bigint for 64-bit dtypes), or undefined for non-integer dtypes. */
function intValues(raw: RawTensor): ArrayLike<number> | ArrayLike<bigint> | undefined {
  switch (raw.dtype) {
    case 'I8': return viewAs(raw.data, Int8Array);
    case 'U8': return raw.data;
    case 'I16': return viewAs(raw.data, Int16Array);
    case 'U16': return viewAs(raw.data, Uint16Array);
    case 'I32': return viewAs(raw.data, Int32Array);
    case 'U32': return viewAs(raw.data, Uint32Array);
    case 'I64': return viewAs(raw.data, BigInt64Array);
    case 'U64': return viewAs(raw.data, BigUint64Array);
    default: return undefined;
  }
}

const unsupported = (raw: RawTensor, where: string, what: string) =>
  new DTypeError(`${where}: ${raw.dtype} cannot be ${what}; supported: F64, F32, F16, BF16, F8_E5M2, F8_E4M3, F8_E8M0, I64, I32, I16, I8, U64, U32, U16, U8, BOOL`);

/**
 * Converts a raw tensor to a tfjs tensor (always a copy): floats → float32 (F64 rounded), I32, I16, I8,
 * U16, U8 → int32, I64, U32, U64 → int32 when every value fits (else DTypeError), BOOL → bool.
 */
export function rawToTensor(raw: RawTensor, name = 'tensor'): tf.Tensor {
  const where = `tensor ${quote(name)}`;
  checkRaw(raw, where);
  assertLittleEndian();
  const shape = raw.shape.slice();
  if (raw.dtype === 'BOOL') {
    const out = new Uint8Array(raw.data.length);
    for (let i = 0; i < out.length; i++) out[i] = raw.data[i] ? 1 : 0;
    return tf.tensor(out, shape, 'bool');
  }
  if (raw.dtype === 'F32') return tf.tensor(copyAs(raw.data, Float32Array), shape, 'float32');
  if (raw.dtype === 'I32') return tf.tensor(copyAs(raw.data, Int32Array), shape, 'int32');
  const floats = floatValues(raw);
  if (floats) return tf.tensor(floats instanceof Float32Array ? floats : Float32Array.from(floats), shape, 'float32');
  const ints = intValues(raw);
  if (!ints) throw unsupported(raw, where, 'converted to a tfjs tensor');
  const out = new Int32Array(ints.length);
  for (let i = 0; i < ints.length; i++) {
    const v = Number(ints[i]!);
    if (v < INT32_MIN || v > INT32_MAX) {
      throw new DTypeError(
        `${where}: ${raw.dtype} value ${String(ints[i])} at flat index ${i} does not fit in int32 (tfjs has no 64-bit integers); expected values in [${INT32_MIN}, ${INT32_MAX}]`,
      );
    }
    out[i] = v;
  }
  return tf.tensor(out, shape, 'int32');
}

/**
 * Encodes values into a raw tensor of `dtype`. Floats round to nearest, ties to even (F16, BF16, F32);
 * integer dtypes need integers in range (bigint accepted for I64/U64); BOOL stores truthiness as 0/1.
 */
export function rawTensor(dtype: SafetensorsDType, shape: readonly number[], values: ArrayLike<number | bigint | boolean>): RawTensor {
  if (!isDType(dtype)) throw new InvalidArgumentError(`rawTensor: expected dtype one of ${SAFETENSORS_DTYPES.join(', ')}, got ${describe(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    throw new InvalidArgumentError(`rawTensor: expected shape to be an array of non-negative integers, got ${describe(shape)}`);
  }
  const numel = checkedNumel(shape);
  if (numel === undefined || numel !== values.length) {
    throw new InvalidArgumentError(`rawTensor: expected ${numel ?? 'a representable number of'} values for shape ${fmtShape(shape)}, got ${values.length}`);
  }
  assertLittleEndian();
  const n = values.length;
  const data = new Uint8Array((n * BITS[dtype]) / 8);
  const num = (i: number) => Number(values[i]);
  switch (dtype) {
    case 'F32': { const a = new Float32Array(data.buffer); for (let i = 0; i < n; i++) a[i] = num(i); break; }
    case 'F64': { const a = new Float64Array(data.buffer); for (let i = 0; i < n; i++) a[i] = num(i); break; }
    case 'F16': { const a = new Uint16Array(data.buffer); for (let i = 0; i < n; i++) a[i] = toFloat16Bits(num(i)); break; }
    case 'BF16': { const a = new Uint16Array(data.buffer); for (let i = 0; i < n; i++) a[i] = toBFloat16Bits(num(i)); break; }
    case 'BOOL': for (let i = 0; i < n; i++) data[i] = values[i] ? 1 : 0; break;
    case 'I64': case 'U64': {
      const a = dtype === 'I64' ? new BigInt64Array(data.buffer) : new BigUint64Array(data.buffer);
      const [lo, hi] = dtype === 'I64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
        if (b === undefined || b < lo || b > hi) throw new DTypeError(`rawTensor: value ${describe(v)} at flat index ${i} does not fit in ${dtype}; expected an integer in [${lo}, ${hi}]`);
        a[i] = b;
      }
      break;
    }
    default: {
      const range = INT_RANGE[dtype];
      if (!range) throw new DTypeError(`rawTensor: cannot encode ${dtype}; build its bytes yourself and pass { dtype, shape, data }`);
      const a = (() => {
        switch (dtype) {
          case 'I8': return new Int8Array(data.buffer);
          case 'I16': return new Int16Array(data.buffer);
          case 'I32': return new Int32Array(data.buffer);
          case 'U16': return new Uint16Array(data.buffer);
          case 'U32': return new Uint32Array(data.buffer);
          default: return data;
        }
      })();
      for (let i = 0; i < n; i++) {
        const v = num(i);
        if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
          throw new DTypeError(`rawTensor: value ${describe(values[i])} at flat index ${i} does not fit in ${dtype}; expected an integer in [${range[0]}, ${range[1]}]`);
        }
        a[i] = v;
      }
    }
  }
  return { dtype, shape: shape.slice(), data };
}

const WRITE_DTYPES: Record<string, readonly SafetensorsDType[]> = {
  float32: ['F32', 'F64', 'F16', 'BF16'],
  int32: ['I32', 'I64', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64'],
  bool: ['BOOL'],
};

/** Encodes a tfjs tensor (float32 → F32 by default, int32 → I32, bool → BOOL). Creates no tensors. */
export function tensorToRaw(tensor: tf.Tensor, dtype?: SafetensorsWriteDType, name = 'tensor'): RawTensor {
  const where = `tensor ${quote(name)}`;
  if (!(tensor instanceof tf.Tensor)) throw new InvalidArgumentError(`${where}: expected a tf.Tensor, got ${describe(tensor)}`);
  if (tensor.isDisposed) throw new InvalidArgumentError(`${where}: expected a live tensor, got a disposed one`);
  const allowed = WRITE_DTYPES[tensor.dtype];
  if (!allowed) throw new DTypeError(`${where}: expected a float32, int32 or bool tensor, got ${tensor.dtype}`);
  const target = dtype ?? allowed[0]!;
  if (!allowed.includes(target)) {
    throw new DTypeError(`${where}: a ${tensor.dtype} tensor can be stored as ${allowed.join(', ')}, got ${describe(target)}`);
  }
  // dataSync may return the backend's own array: read it, never write to it.
  const values = tensor.dataSync() as Float32Array | Int32Array | Uint8Array;
  try {
    return rawTensor(target, tensor.shape, values);
  } catch (e) {
    if (e instanceof DTypeError) throw new DTypeError(`${where}: ${e.message.replace(/^rawTensor: /, '')}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** Compares by Unicode code point, i.e. UTF-8 byte order, like Rust's `str::cmp` in the reference. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** Serializes raw tensors in the reference's layout; `saveSafetensors` is the tfjs-facing entry. */
function serialize(raws: [string, RawTensor][], metadata: Record<string, string> | undefined): Uint8Array {
  // Reference order: descending dtype alignment, then name.
  raws.sort(([na, a], [nb, b]) => ORDER.get(b.dtype)! - ORDER.get(a.dtype)! || compareCodePoints(na, nb));
  // Built by hand: a JS object would move integer-like names ("0") ahead of the others.
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareCodePoints);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, raw] of raws) {
    const end = offset + raw.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${raw.dtype}","shape":[${raw.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8Encoder.encode(`{${parts.join(',')}}`);
  const headerSize = Math.ceil(json.length / 8) * 8; // padded with spaces, like the reference
  if (headerSize > SAFETENSORS_MAX_HEADER_SIZE) {
    throw new InvalidArgumentError(`saveSafetensors: expected a header of at most ${SAFETENSORS_MAX_HEADER_SIZE} bytes, got ${headerSize}`);
  }
  const out = new Uint8Array(8 + headerSize + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerSize), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerSize);
  let at = 8 + headerSize;
  for (const [, raw] of raws) {
    out.set(raw.data, at);
    at += raw.data.byteLength;
  }
  return out;
}

/**
 * Writes tensors (tfjs tensors or raw tensors) to safetensors bytes, laid out like the reference writer:
 * sorted by descending dtype alignment then name, header padded with spaces to a multiple of 8.
 * Reads tensor data with dataSync; creates and disposes no tensors.
 */
export function saveSafetensors(tensors: Record<string, tf.Tensor | RawTensor>, options: SaveSafetensorsOptions = {}): Uint8Array {
  if (!isObject(tensors)) throw new InvalidArgumentError(`saveSafetensors: expected an object of tensors by name, got ${describe(tensors)}`);
  const { metadata, dtypes = {} } = options;
  if (!isObject(dtypes)) throw new InvalidArgumentError(`saveSafetensors: expected options.dtypes to be an object, got ${describe(dtypes)}`);
  for (const name of Object.keys(dtypes)) {
    if (!Object.hasOwn(tensors, name)) throw new InvalidArgumentError(`saveSafetensors: options.dtypes names ${quote(name)}, which is not among the tensors`);
  }
  if (metadata !== undefined) {
    if (!isObject(metadata)) throw new InvalidArgumentError(`saveSafetensors: expected options.metadata to be an object of strings, got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`saveSafetensors: expected metadata values to be strings, got ${describe(v)} for key ${quote(k)}`);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) throw new InvalidArgumentError(`saveSafetensors: metadata key ${quote(k)} holds a lone surrogate, which UTF-8 cannot store`);
    }
  }
  const raws: [string, RawTensor][] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const where = `tensor ${quote(name)}`;
    if (name === '__metadata__') throw new InvalidArgumentError(`saveSafetensors: "__metadata__" is reserved and cannot name a tensor`);
    if (LONE_SURROGATE.test(name)) throw new InvalidArgumentError(`saveSafetensors: ${where} has a lone surrogate in its name, which UTF-8 cannot store`);
    const wanted = Object.hasOwn(dtypes, name) ? dtypes[name] : undefined;
    if (t instanceof tf.Tensor) {
      raws.push([name, tensorToRaw(t, wanted, name)]);
    } else {
      checkRaw(t, where);
      if (wanted !== undefined && wanted !== t.dtype) {
        throw new InvalidArgumentError(`saveSafetensors: ${where} is a raw ${t.dtype} tensor and is written as is; options.dtypes asks for ${describe(wanted)}`);
      }
      raws.push([name, t]);
    }
  }
  return serialize(raws, metadata);
}

/** Parses safetensors bytes into tfjs tensors (see `rawToTensor` for dtype mapping). Leaks nothing on error. */
export function loadSafetensors(bytes: Uint8Array): LoadedSafetensors {
  const { metadata, tensors: raws } = parseSafetensors(bytes);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const [name, raw] of Object.entries(raws)) setOwn(tensors, name, rawToTensor(raw, name));
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { metadata, tensors };
}

const jsonFloat = (x: number): SafetensorsJsonValue => (Number.isFinite(x) ? x : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity');
const jsonInt = (x: number | bigint): SafetensorsJsonValue => {
  if (typeof x === 'number') return x;
  const n = Number(x);
  return Number.isSafeInteger(n) ? n : x.toString();
};

/** The flat, JSON-ready values of a raw tensor. */
function jsonValues(raw: RawTensor, where: string): SafetensorsJsonValue[] {
  assertLittleEndian();
  if (raw.dtype === 'BOOL') return Array.from(raw.data, (b) => (b ? 1 : 0));
  const floats = floatValues(raw);
  if (floats) return Array.from(floats, jsonFloat);
  const ints = intValues(raw);
  if (ints) return Array.from(ints as ArrayLike<number | bigint>, jsonInt);
  throw unsupported(raw, where, 'shown as values');
}

/**
 * A JSON-ready description of safetensors bytes, as `nutshell inspect FILE --json` prints it. With
 * `values`, each tensor gets its flat values: numbers, with "NaN", "Infinity", "-Infinity" for
 * non-finite floats and decimal strings for 64-bit integers beyond 2^53 − 1.
 */
export function inspectSafetensors(bytes: Uint8Array, options: { values?: boolean } = {}): SafetensorsInspection {
  const { metadata, tensors } = parseSafetensors(bytes);
  const out: SafetensorsInspection = { format: 'safetensors', metadata: metadata ?? null, tensors: {} };
  for (const [name, raw] of Object.entries(tensors)) {
    const info: SafetensorsInspection['tensors'][string] = { dtype: raw.dtype, shape: raw.shape };
    if (options.values) info.values = jsonValues(raw, `tensor ${quote(name)}`);
    setOwn(out.tensors, name, info);
  }
  return out;
}
