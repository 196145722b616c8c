import type { FileFormat } from '@nutshell/core';
import { isGguf, parseGguf } from './reader.js';
import type { GgufValue } from './values.js';

/** Items shown per array value in `nutshell inspect` unless values are asked for. */
const ARRAY_PREVIEW = 16;

type JsonScalar = number | string | boolean | null;
export interface GgufInspection {
  format: 'gguf';
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: Record<string, { type: string; value: unknown; itemType?: string; length?: number; truncated?: boolean }>;
  tensors: { name: string; type: string; shape: number[]; dims: number[]; offset: number; bytes: number }[];
}

function jsonScalar(v: unknown): JsonScalar {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  return v as JsonScalar;
}

function jsonValue(value: GgufValue, all: boolean): GgufInspection['metadata'][string] {
  if (value.type !== 'ARRAY') return { type: value.type, value: jsonScalar(value.value) };
  const items = value.value as unknown[];
  const shown = all ? items : items.slice(0, ARRAY_PREVIEW);
  const entry: GgufInspection['metadata'][string] = {
    type: 'ARRAY',
    itemType: value.itemType,
    length: items.length,
    value: shown.map((item) => (value.itemType === 'ARRAY' ? jsonValue(item as GgufValue, all) : jsonScalar(item))),
  };
  if (shown.length < items.length) entry.truncated = true;
  return entry;
}

/**
 * The JSON description `nutshell inspect FILE.gguf --json` prints: version, alignment, every metadata
 * key with its type and value (arrays cut to 16 items unless `values`), and each tensor's name, ggml
 * type, row-major shape, ggml dims, offset in the data section and byte size. 64-bit integers beyond
 * 2^53 and non-finite floats are printed as strings.
 */
export function inspectGguf(bytes: Uint8Array, options: { values?: boolean } = {}): GgufInspection {
  const file = parseGguf(bytes);
  const metadata: GgufInspection['metadata'] = {};
  for (const [key, value] of Object.entries(file.metadata)) Object.defineProperty(metadata, key, { value: jsonValue(value, Boolean(options.values)), enumerable: true, writable: true, configurable: true });
  return {
    format: 'gguf',
    version: file.version,
    alignment: file.alignment,
    dataOffset: file.dataOffset,
    metadata,
    tensors: file.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, dims: t.dims, offset: t.offset, bytes: t.byteLength })),
  };
}

/** The `formats` registry entry that teaches `nutshell inspect` GGUF files. */
export const ggufFormat: FileFormat = {
  name: 'gguf',
  extensions: ['.gguf'],
  sniff: isGguf,
  inspect: (bytes, options) => inspectGguf(bytes, options),
};
