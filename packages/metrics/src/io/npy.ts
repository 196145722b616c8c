import { FormatError } from '@nutshell/core';

export interface NpyArray {
  shape: number[];
  /** numpy dtype descriptor, e.g. "<f4". */
  dtype: string;
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Reads a NumPy .npy file (format versions 1–3) holding a C-ordered little- or big-endian float16/32/64
 * or integer array, converted to float64.
 */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new FormatError('npy', 'missing the \\x93NUMPY magic string');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new FormatError('npy', 'truncated header');
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else throw new FormatError('npy', `unsupported format version ${major}`);
  if (offset + headerLen > bytes.length) throw new FormatError('npy', 'truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new FormatError('npy', `cannot parse header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new FormatError('npy', 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new FormatError('npy', `bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) throw new FormatError('npy', `unsupported dtype ${descr}`);
  const little = m[1] !== '>';
  const kind = m[2]!;
  const size = Number(m[3]);
  const start = offset + headerLen;
  if (start + count * size > bytes.length) throw new FormatError('npy', `data holds ${bytes.length - start} bytes, shape (${shape.join(', ')}) of ${descr} needs ${count * size}`);
  const data = new Float64Array(count);
  const read = readerFor(kind, size, little, view, descr);
  for (let i = 0; i < count; i++) data[i] = read(start + i * size);
  return { shape, dtype: descr, data };
}

function readerFor(kind: string, size: number, little: boolean, view: DataView, descr: string): (at: number) => number {
  if (kind === 'f' && size === 8) return (at) => view.getFloat64(at, little);
  if (kind === 'f' && size === 4) return (at) => view.getFloat32(at, little);
  if (kind === 'f' && size === 2) return (at) => half(view.getUint16(at, little));
  if (kind === 'i' && size === 1) return (at) => view.getInt8(at);
  if (kind === 'u' && size === 1) return (at) => view.getUint8(at);
  if (kind === 'b' && size === 1) return (at) => view.getUint8(at);
  if (kind === 'i' && size === 2) return (at) => view.getInt16(at, little);
  if (kind === 'u' && size === 2) return (at) => view.getUint16(at, little);
  if (kind === 'i' && size === 4) return (at) => view.getInt32(at, little);
  if (kind === 'u' && size === 4) return (at) => view.getUint32(at, little);
  if (kind === 'i' && size === 8) return (at) => Number(view.getBigInt64(at, little));
  if (kind === 'u' && size === 8) return (at) => Number(view.getBigUint64(at, little));
  throw new FormatError('npy', `unsupported dtype ${descr}`);
}

function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Writes a float64 (or float32) array as .npy version 1.0. */
export function encodeNpy(data: Float64Array | Float32Array, shape: readonly number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<f8';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
