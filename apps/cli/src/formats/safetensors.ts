import { inspectSafetensors } from '@nutshell/core';
import type { FileFormat } from '@nutshell/core';
import { toJsonValues } from './json-values.js';
import type { JsonValue } from './json-values.js';

export interface SafetensorsSummary {
  format: 'safetensors';
  metadata: Record<string, string> | null;
  tensors: Record<string, { dtype: string; shape: number[]; values?: JsonValue[] }>;
}

/**
 * safetensors for `nutshell inspect`: u64 little-endian header size, then a JSON object. Parsing
 * and validation are core's `inspectSafetensors`; this pins the CLI's output to exactly
 * {format, metadata, tensors: {name: {dtype, shape[, values]}}}.
 */
export const safetensorsFormat: FileFormat = {
  name: 'safetensors',
  extensions: ['.safetensors'],
  sniff(head) {
    if (head.byteLength < 10) return false;
    const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
    return size >= 2n && head[8] === 0x7b; // '{'
  },
  inspect(bytes, options): SafetensorsSummary {
    const parsed = inspectSafetensors(bytes, { values: options.values === true });
    const out: SafetensorsSummary = { format: 'safetensors', metadata: parsed.metadata ?? null, tensors: {} };
    for (const [name, t] of Object.entries(parsed.tensors)) {
      const entry: SafetensorsSummary['tensors'][string] = { dtype: t.dtype, shape: [...t.shape] };
      if (options.values === true && t.values !== undefined) entry.values = toJsonValues(t.values);
      // defineProperty: a tensor may be called "__proto__".
      Object.defineProperty(out.tensors, name, { value: entry, enumerable: true, writable: true, configurable: true });
    }
    return out;
  },
};
