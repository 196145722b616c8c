import { readFile } from 'node:fs/promises';
import { FormatError, InvalidArgumentError, parseSafetensors, rawToTensor } from '@nutshell/core';
import type { Matrix } from '../linalg/matrix.js';
import { toMatrix } from '../linalg/matrix.js';
import { parseNpy } from './npy.js';

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new InvalidArgumentError(`${what}: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * Lines of a text file as Python's text mode gives them to sacreBLEU: universal newlines, the line
 * terminator removed, no line for the final newline.
 */
export async function readLines(path: string, what: string): Promise<string[]> {
  const text = (await readBytes(path, what)).toString('utf8').replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export async function readText(path: string, what: string): Promise<string> {
  return (await readBytes(path, what)).toString('utf8');
}

/** An N×d float64 feature matrix from a .npy file or a safetensors file (tensor `key`, or its only/first tensor). */
export async function readFeatureFile(path: string, what: string, key?: string): Promise<Matrix> {
  const bytes = new Uint8Array(await readBytes(path, what));
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) {
    const arr = parseNpy(bytes);
    if (arr.shape.length !== 2) throw new InvalidArgumentError(`${what}: ${path} holds shape (${arr.shape.join(', ')}); expected an N×d matrix`);
    return toMatrix(`${what} (${path})`, { rows: arr.shape[0]!, cols: arr.shape[1]!, data: arr.data });
  }
  let parsed;
  try {
    parsed = parseSafetensors(bytes);
  } catch (err) {
    if (err instanceof FormatError) throw new FormatError('features', `${path} is neither .npy nor safetensors (${err.message})`);
    throw err;
  }
  const names = Object.keys(parsed.tensors);
  const name = key ?? names[0];
  const raw = name === undefined ? undefined : parsed.tensors[name];
  if (!raw) throw new InvalidArgumentError(`${what}: ${path} has no tensor ${JSON.stringify(key)}; it has ${names.join(', ') || 'none'}`);
  if (raw.shape.length !== 2) throw new InvalidArgumentError(`${what}: tensor ${name} has shape [${raw.shape.join(', ')}]; expected [N, d]`);
  const [rows, cols] = raw.shape as [number, number];
  let data: ArrayLike<number>;
  const view = new DataView(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  if (raw.dtype === 'F64') data = Float64Array.from({ length: rows * cols }, (_, i) => view.getFloat64(i * 8, true));
  else if (raw.dtype === 'F32') data = Float64Array.from({ length: rows * cols }, (_, i) => view.getFloat32(i * 4, true));
  else {
    const t = rawToTensor(raw, name);
    try {
      data = Float64Array.from(t.dataSync() as ArrayLike<number>);
    } finally {
      t.dispose();
    }
  }
  return toMatrix(`${what} (${path}:${name})`, { rows, cols, data });
}
