import { FormatError } from '@nutshell/core';
import { ggmlTypeName, GGML_TYPES, type GgmlType } from '../ggml/types.js';
import { ggufValueTypeName, type GgufArrayValue, type GgufValue, type GgufValueType } from './values.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** GGML_MAX_DIMS */
export const GGUF_MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 8;

export interface GgufTensorInfo {
  name: string;
  type: GgmlType;
  /** Row-major shape (outermost first): `dims` reversed. */
  shape: number[];
  /** ggml's ne[]: innermost (contiguous) dimension first, as stored in the file. */
  dims: number[];
  /** Offset of the data from the start of the data section (a multiple of the alignment). */
  offset: number;
  byteLength: number;
  /** A view of the tensor's bytes inside the parsed buffer. */
  data: Uint8Array;
}

export interface GgufFile {
  version: number;
  alignment: number;
  /** Key → typed value, in file order. */
  metadata: Record<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Byte offset of the data section in the file. */
  dataOffset: number;
}

const fail = (message: string): never => {
  throw new FormatError('gguf', message);
};

/** Smallest encoded size of a value of each type, to bound counts before allocating anything. */
const MIN_SIZE: Record<GgufValueType, number> = {
  UINT8: 1, INT8: 1, BOOL: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FLOAT32: 4, UINT64: 8, INT64: 8, FLOAT64: 8, STRING: 8, ARRAY: 12,
};

class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8');
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining) fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A u64 that must be a count/size fitting in a JS number and in `limit`. */
  size(what: string, limit: number): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) fail(`${what} ${v} is larger than the ${limit} the remaining bytes allow`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.size(`${what} length`, this.remaining - 8);
    this.need(n, what);
    const s = this.decoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  scalar(type: Exclude<GgufValueType, 'ARRAY'>, what: string): number | bigint | boolean | string {
    const v = this.view;
    const at = this.pos;
    switch (type) {
      case 'STRING':
        return this.string(what);
      case 'BOOL': {
        const b = this.u8(what);
        if (b > 1) fail(`${what}: a BOOL must be 0 or 1, got ${b}`);
        return b === 1;
      }
      default:
        this.need(MIN_SIZE[type], what);
    }
    this.pos += MIN_SIZE[type];
    switch (type) {
      case 'UINT8': return v.getUint8(at);
      case 'INT8': return v.getInt8(at);
      case 'UINT16': return v.getUint16(at, true);
      case 'INT16': return v.getInt16(at, true);
      case 'UINT32': return v.getUint32(at, true);
      case 'INT32': return v.getInt32(at, true);
      case 'FLOAT32': return v.getFloat32(at, true);
      case 'FLOAT64': return v.getFloat64(at, true);
      case 'UINT64': return v.getBigUint64(at, true);
      default: return v.getBigInt64(at, true);
    }
  }
  valueType(what: string): GgufValueType {
    const id = this.u32(what);
    const t = ggufValueTypeName(id);
    if (t === undefined) fail(`${what}: unknown value type ${id}`);
    return t!;
  }
  array(what: string, depth: number): GgufArrayValue {
    if (depth > MAX_ARRAY_DEPTH) fail(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = this.valueType(`${what} item type`);
    const count = this.size(`${what} length`, Math.floor((this.remaining - 8) / MIN_SIZE[itemType]));
    const value: unknown[] = new Array(count);
    for (let i = 0; i < count; i++) value[i] = itemType === 'ARRAY' ? this.array(`${what}[${i}]`, depth + 1) : this.scalar(itemType, `${what}[${i}]`);
    return { type: 'ARRAY', itemType, value: value as GgufArrayValue['value'] };
  }
  value(type: GgufValueType, what: string): GgufValue {
    if (type === 'ARRAY') return this.array(what, 1);
    return { type, value: this.scalar(type, what) } as GgufValue;
  }
}

/**
 * Parses GGUF (v2 or v3, little-endian) bytes: header, metadata, tensor infos and the data section.
 * Every malformed input gives FormatError('gguf', …): counts and lengths are checked against the
 * bytes left before anything is allocated, and tensor data must lie, aligned and non-overlapping,
 * inside the data section. Tensor `data` are views into `bytes` (no copy).
 */
export function parseGguf(bytes: Uint8Array): GgufFile {
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array');
  const c = new Cursor(bytes);
  if (bytes.length < 4 || c.u32('magic') !== GGUF_MAGIC) fail('not a GGUF file (the first 4 bytes are not "GGUF")');
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    fail(swapped === 2 || swapped === 3 ? `big-endian GGUF (version ${swapped}) is not supported` : `unsupported GGUF version ${version} (this reader handles versions 2 and 3)`);
  }
  // Each tensor info takes at least 24 bytes and each key/value at least 13.
  const tensorCount = c.size('tensor count', Math.floor((bytes.length - 24) / 24));
  const kvCount = c.size('metadata count', Math.floor((bytes.length - 24) / 13));
  const metadata: Record<string, GgufValue> = Object.create(null) as Record<string, GgufValue>;
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`);
    if (Object.hasOwn(metadata, key)) fail(`duplicate metadata key ${JSON.stringify(key)}`);
    const type = c.valueType(`metadata "${key}" type`);
    metadata[key] = c.value(type, `metadata "${key}"`);
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const a = metadata['general.alignment'];
  if (a !== undefined) {
    if (a.type !== 'UINT32') fail(`general.alignment must be a UINT32, got ${a.type}`);
    const v = a.value as number;
    if (v === 0 || (v & (v - 1)) !== 0) fail(`general.alignment must be a power of two, got ${v}`);
    alignment = v;
  }
  const infos: Omit<GgufTensorInfo, 'data'>[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor #${i} name`);
    if (names.has(name)) fail(`duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    const nDims = c.u32(`tensor "${name}" dimension count`);
    if (nDims > GGUF_MAX_DIMS) fail(`tensor "${name}" has ${nDims} dimensions; ggml allows at most ${GGUF_MAX_DIMS}`);
    const dims: number[] = [];
    let count = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64(`tensor "${name}" dimension ${d}`);
      if (ne > BigInt(Number.MAX_SAFE_INTEGER)) fail(`tensor "${name}" dimension ${d} is ${ne}, too large`);
      dims.push(Number(ne));
      count *= Number(ne);
      if (count > Number.MAX_SAFE_INTEGER) fail(`tensor "${name}" has more than 2^53 elements`);
    }
    const typeId = c.u32(`tensor "${name}" type`);
    const type = ggmlTypeName(typeId);
    if (type === undefined) fail(`tensor "${name}" has unknown ggml type ${typeId}`);
    const { blockSize, typeSize } = GGML_TYPES[type!];
    const ne0 = dims[0] ?? 1;
    if (ne0 % blockSize !== 0) fail(`tensor "${name}": its first dimension ${ne0} is not a multiple of ${type}'s block size ${blockSize}`);
    const byteLength = count === 0 ? 0 : (ne0 / blockSize) * typeSize * (count / ne0);
    const offset = c.u64(`tensor "${name}" offset`);
    if (offset > BigInt(bytes.length)) fail(`tensor "${name}" offset ${offset} is beyond the end of the file`);
    if (Number(offset) % alignment !== 0) fail(`tensor "${name}" offset ${offset} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, type: type!, dims, shape: [...dims].reverse(), offset: Number(offset), byteLength });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  if (tensorCount > 0 && dataOffset > bytes.length) fail(`truncated: the data section should start at ${dataOffset}, but the file has ${bytes.length} bytes`);
  const sorted = [...infos].sort((x, y) => x.offset - y.offset);
  let end = 0;
  for (const t of sorted) {
    if (t.offset < end) fail(`tensor "${t.name}" (offset ${t.offset}) overlaps the tensor before it (ending at ${end})`);
    end = t.offset + t.byteLength;
    if (dataOffset + end > bytes.length) fail(`tensor "${t.name}" needs bytes up to ${dataOffset + end}, but the file has ${bytes.length}`);
  }
  const tensors = infos.map((t) => ({ ...t, data: bytes.subarray(dataOffset + t.offset, dataOffset + t.offset + t.byteLength) }));
  return { version, alignment, metadata, tensors, dataOffset: Math.min(dataOffset, bytes.length) };
}

/** True when the bytes start with the GGUF magic. */
export function isGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}
