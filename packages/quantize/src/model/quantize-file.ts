import { parseSafetensors, rawToTensor, saveSafetensors, type RawTensor } from '@nutshell/core';
import { PackedWeight, type WeightScheme } from './packed-weight.js';
import { QUANT_FORMAT_VERSION, QUANT_METADATA_KEY, packedWeightToRaw, type QuantizationMetadata } from './serialize.js';
import { RecipeError, checkSpec, matches, type NamePattern } from './recipe.js';

export interface FileSizeReport {
  tensors: { name: string; shape: number[]; format: string; bytesBefore: number; bytesAfter: number }[];
  bytesBefore: number;
  bytesAfter: number;
  /** Bytes of the quantized 2-D weights before/after (scales included). */
  weightBytesBefore: number;
  weightBytesAfter: number;
  weightRatio: number;
  fileBytesBefore: number;
  fileBytesAfter: number;
}

/**
 * Quantizes the 2-D float tensors of a safetensors file (all of them unless `skip` matches their
 * name) with `scheme`, writing the packed layout of `saveQuantizedModel` (`K_packed`, `K_scale`, …
 * and the `nutshell.quantization` metadata). Other tensors are copied unchanged.
 */
export function quantizeSafetensorsFile(bytes: Uint8Array, scheme: WeightScheme, options: { skip?: NamePattern[]; groupSize?: number } = {}): { bytes: Uint8Array; report: FileSizeReport } {
  checkSpec({ scheme, groupSize: options.groupSize }, 'recipe');
  const { tensors, metadata } = parseSafetensors(bytes);
  const out: Record<string, RawTensor> = {};
  const meta: QuantizationMetadata = { format_version: QUANT_FORMAT_VERSION, tensors: {} };
  const report: FileSizeReport = { tensors: [], bytesBefore: 0, bytesAfter: 0, weightBytesBefore: 0, weightBytesAfter: 0, weightRatio: 1, fileBytesBefore: bytes.length, fileBytesAfter: 0 };
  for (const [name, raw] of Object.entries(tensors)) {
    const isFloat = raw.dtype === 'F32' || raw.dtype === 'F16' || raw.dtype === 'BF16' || raw.dtype === 'F64';
    const skip = options.skip?.some((p) => matches(p, name));
    report.bytesBefore += raw.data.length;
    if (!isFloat || raw.shape.length !== 2 || skip) {
      out[name] = raw;
      report.bytesAfter += raw.data.length;
      continue;
    }
    const t = rawToTensor(raw, name);
    let w: PackedWeight;
    try {
      w = PackedWeight.quantize(t, { scheme, ...(options.groupSize ? { groupSize: options.groupSize } : {}) });
    } finally {
      t.dispose();
    }
    Object.assign(out, packedWeightToRaw(name, w));
    meta.tensors[name] = { ...w.info };
    const after = w.storageBytes();
    report.tensors.push({ name, shape: [...raw.shape], format: scheme, bytesBefore: raw.data.length, bytesAfter: after });
    report.bytesAfter += after;
    report.weightBytesBefore += raw.data.length;
    report.weightBytesAfter += after;
  }
  if (report.tensors.length === 0) throw new RecipeError('the file has no 2-D float tensor to quantize');
  report.weightRatio = report.weightBytesAfter / report.weightBytesBefore;
  const result = saveSafetensors(out, { metadata: { ...(metadata ?? {}), [QUANT_METADATA_KEY]: JSON.stringify(meta) } });
  report.fileBytesAfter = result.length;
  return { bytes: result, report };
}
