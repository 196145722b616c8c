/** Writes safetensors bytes by hand (u64 LE header length, JSON header, data) for tests. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  /** The tensor's bytes, already little-endian. */
  bytes: Uint8Array;
}

export function safetensorsBytes(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  return assemble(JSON.stringify(header), Object.values(tensors).map((t) => t.bytes));
}

/** Length prefix + header text (padded with spaces to 8 bytes, as the reference writer does) + data. */
export function assemble(headerText: string, chunks: Uint8Array[], declaredLength?: bigint): Uint8Array {
  let header = new TextEncoder().encode(headerText);
  const pad = (8 - (header.length % 8)) % 8;
  if (pad) header = new TextEncoder().encode(headerText + ' '.repeat(pad));
  const dataLength = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(8 + header.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
export const i32 = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);
export const i64 = (values: bigint[]) => new Uint8Array(new BigInt64Array(values).buffer);
export const u16 = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);
export const u8 = (values: number[]) => new Uint8Array(values);
