import { readSafetensorsFile, writeSafetensorsFile } from '@nutshell/core/node';
import { FormatError, tf } from '@nutshell/core';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeAdapterIntoWeights } from './merge-weights.js';
import { readAdapterFiles } from './node.js';
import { parsePeftFiles } from './peft-files.js';

export interface MergeFilesResult {
  outFile: string;
  merged: string[];
  replaced: string[];
}

/** File-level merge behind `nutshell finetune merge`. */
export async function mergeAdapterDirectory(o: { adapterDir: string; model: string; outDir: string }): Promise<MergeFilesResult> {
  const isDir = (await stat(o.model)).isDirectory();
  const modelFile = isDir ? join(o.model, 'model.safetensors') : o.model;
  const base = await readSafetensorsFile(modelFile).catch((e) => {
    throw e instanceof FormatError ? e : new FormatError('safetensors', `cannot read ${modelFile}: ${(e as Error).message}`);
  });
  const { config, tensors } = parsePeftFiles(await readAdapterFiles(o.adapterDir));
  try {
    const { weights, report } = mergeAdapterIntoWeights(base.tensors, config, tensors);
    await mkdir(o.outDir, { recursive: true });
    const outFile = join(o.outDir, 'model.safetensors');
    try {
      await writeSafetensorsFile(outFile, weights, { metadata: { ...(base.metadata ?? {}), format: 'pt' } });
    } finally {
      tf.dispose(Object.values(weights));
    }
    if (isDir) {
      for (const f of await readdir(o.model)) {
        if (f !== 'model.safetensors' && /\.(json|txt|model)$/.test(f)) await copyFile(join(o.model, f), join(o.outDir, f));
      }
    }
    return { outFile, ...report };
  } finally {
    tf.dispose([...Object.values(base.tensors), ...Object.values(tensors)]);
  }
}
