import { FormatError, InvalidArgumentError, parseSafetensors, type CommandSpec } from '@nutshell/core';
import { exportGpt2Gguf, GGUF_QUANTS, type GgufQuant, type Gpt2Config } from '../export/gpt2-gguf.js';
import type { BpeTokenizerData } from '../gguf/tokenizer.js';
import { requireApproval } from './approval-gate.js';
import { quantizeSafetensorsFile } from '../model/quantize-file.js';
import { WEIGHT_SCHEMES, type WeightScheme } from '../model/packed-weight.js';
import { RecipeError } from '../model/recipe.js';

async function readModelDir(dir: unknown): Promise<{ config: Record<string, unknown> | null; bytes: Uint8Array; dir: string }> {
  if (typeof dir !== 'string' || !dir) throw new InvalidArgumentError('--model DIR is required (a folder with model.safetensors and config.json)');
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path.join(dir, 'model.safetensors')));
  } catch {
    throw new InvalidArgumentError(`--model: no readable model.safetensors in '${dir}'`);
  }
  let config: Record<string, unknown> | null = null;
  try {
    const text = await fs.readFile(path.join(dir, 'config.json'), 'utf8');
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new FormatError('config.json', 'not valid JSON');
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
  }
  return { config, bytes, dir };
}

const RECIPES: Record<string, WeightScheme> = { int8: 'int8', int4: 'int4', nf4: 'nf4', fp4: 'fp4' };

export const quantizeCommand: CommandSpec = {
  summary: 'Quantize the 2-D weights of a model directory (model.safetensors) to int8 / int4 / NF4',
  description: 'Writes DIR2/model.safetensors with packed weights and scales (keys K_packed, K_scale, …; see the @nutshell/quantize README), copies config.json, and prints the size report.',
  needsBackend: false,
  options: [
    { name: 'model', type: 'string', description: 'input model directory' },
    { name: 'recipe', type: 'string', description: `scheme: ${Object.keys(RECIPES).join(', ')}`, default: 'int8' },
    { name: 'out', type: 'string', description: 'output directory' },
    { name: 'skip', type: 'string', description: 'RegExp of tensor names to keep in float', multiple: true },
    { name: 'group-size', type: 'number', description: 'values per scale (int4 default 32, nf4 64)' },
  ],
  async run({ options, print }) {
    const scheme = RECIPES[String(options.recipe)];
    if (!scheme) throw new RecipeError(`--recipe must be one of ${Object.keys(RECIPES).join(', ')}, got ${JSON.stringify(options.recipe)}`);
    const out = options.out;
    if (typeof out !== 'string' || !out) throw new InvalidArgumentError('--out DIR2 is required');
    const { config, bytes } = await readModelDir(options.model);
    const skip = ((options.skip as string[] | undefined) ?? []).map((s) => new RegExp(s));
    const gs = options['group-size'];
    const { bytes: q, report } = quantizeSafetensorsFile(bytes, scheme, { skip, ...(typeof gs === 'number' ? { groupSize: gs } : {}) });
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    await fs.mkdir(out, { recursive: true });
    await fs.writeFile(path.join(out, 'model.safetensors'), q);
    if (config) await fs.writeFile(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    for (const t of report.tensors) print(`${t.name.padEnd(40)} [${t.shape.join('x')}] ${t.format}  ${t.bytesBefore} → ${t.bytesAfter} bytes`);
    print(`weights: ${report.weightBytesBefore} → ${report.weightBytesAfter} bytes (${(report.weightRatio * 100).toFixed(1)}%); file: ${report.fileBytesBefore} → ${report.fileBytesAfter} bytes`);
    return { scheme, out, ...report };
  },
};

export const exportCommand: CommandSpec = {
  summary: 'Export a Hugging Face GPT-2 directory (config.json + model.safetensors) to GGUF for llama.cpp',
  needsBackend: false,
  options: [
    { name: 'format', type: 'string', description: 'output format (gguf)', default: 'gguf' },
    { name: 'quant', type: 'string', description: `tensor type: ${GGUF_QUANTS.join(', ')}`, default: 'f16' },
    { name: 'model', type: 'string', description: 'model directory' },
    { name: 'out', type: 'string', description: 'output FILE.gguf' },
    { name: 'require-approval', type: 'string', description: 'signed approval FILE ({report, decisions, approvers}); export only if approved and the report\'s model_sha256 is this model.safetensors (needs @nutshell/ethics-audit)' },
  ],
  async run({ options, print, kit }) {
    if (options.format !== 'gguf') throw new InvalidArgumentError(`--format: only gguf is supported, got ${JSON.stringify(options.format)}`);
    const quant = String(options.quant) as GgufQuant;
    if (!GGUF_QUANTS.includes(quant)) throw new InvalidArgumentError(`--quant must be one of ${GGUF_QUANTS.join(', ')}, got ${JSON.stringify(options.quant)}`);
    const out = options.out;
    if (typeof out !== 'string' || !out) throw new InvalidArgumentError('--out FILE.gguf is required');
    const { config, bytes } = await readModelDir(options.model);
    if (!config) throw new FormatError('gpt2', 'config.json is missing');
    const approval = typeof options['require-approval'] === 'string' ? await requireApproval(options['require-approval'], bytes, kit) : undefined;
    if (approval) print(`approved by ${approval.approvedBy.join(', ')} (model sha256 ${approval.modelSha256.slice(0, 12)}…)`);
    const { tensors } = parseSafetensors(bytes);
    const tokenizer = await readBpeFiles(String(options.model));
    const file = exportGpt2Gguf(config as unknown as Gpt2Config, tensors, quant, typeof config['_name_or_path'] === 'string' ? (config['_name_or_path'] as string) : 'gpt2', tokenizer);
    const { writeFileAtomic } = await import('@nutshell/core/node');
    await writeFileAtomic(out, file);
    print(`wrote ${out}: ${file.length} bytes, ${quant}${tokenizer ? ', with the tokenizer (vocab.json + merges.txt)' : ', no tokenizer (vocab.json / merges.txt not found)'}`);
    return { out, bytes: file.length, quant, architecture: 'gpt2', tokenizer: !!tokenizer, ...(approval ? { approval } : {}) };
  },
};

/** Hugging Face GPT-2 tokenizer files of a model directory (vocab.json + merges.txt), or undefined. */
async function readBpeFiles(dir: string): Promise<BpeTokenizerData | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let vocabText: string, mergesText: string;
  try {
    [vocabText, mergesText] = await Promise.all([fs.readFile(path.join(dir, 'vocab.json'), 'utf8'), fs.readFile(path.join(dir, 'merges.txt'), 'utf8')]);
  } catch {
    return undefined;
  }
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(vocabText) as Record<string, number>;
  } catch (e) {
    throw new FormatError('gpt2', `vocab.json: ${(e as Error).message}`);
  }
  const merges = mergesText.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '' && !l.startsWith('#version'));
  return { vocab, merges };
}
