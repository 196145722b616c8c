import { InvalidArgumentError, type CommandSpec } from '@nutshell/core';
import { NANOGPT_CPU_RECIPE, trainGpt } from '../models/gpt/train.js';
import { intOption, numOption } from './model-dir.js';

/** Where tiny Shakespeare lives when --data is not given: the shared data folder. */
async function defaultData(): Promise<string> {
  const { join } = await import('node:path');
  const { access } = await import('node:fs/promises');
  const dirs = [process.env.NUTSHELL_DATA_DIR, join(process.cwd(), '..', 'shared', 'datasets')].filter((d): d is string => !!d);
  for (const d of dirs) {
    const p = join(d, 'tinyshakespeare', 'input.txt');
    if (await access(p).then(() => true, () => false)) return p;
  }
  throw new InvalidArgumentError('train gpt: give --data FILE (tiny Shakespeare was not found in NUTSHELL_DATA_DIR)');
}

/** `nutshell train gpt --data FILE --out DIR [--steps N] …`: nanoGPT's shakespeare_char recipe with a char tokenizer. */
export const trainCommand: CommandSpec = {
  summary: 'train a character-level GPT on a text file (nanoGPT shakespeare_char recipe)',
  description:
    'Trains `gpt` (the only model this command knows) with AdamW, warmup + cosine decay, gradient clipping, 90/10 split, periodic validation and checkpoints in --out; ' +
    'rerunning with the same --out resumes. Writes the model in Hugging Face GPT-2 layout plus char-tokenizer.json, loss-curve.json and loss-curve.svg. Progress: JSON lines on stderr.',
  args: [{ name: 'model', description: 'what to train: gpt', required: true }],
  options: [
    { name: 'data', type: 'string', description: 'UTF-8 training text (default: tiny Shakespeare from NUTSHELL_DATA_DIR)' },
    { name: 'steps', type: 'number', description: `optimizer steps (default ${NANOGPT_CPU_RECIPE.steps})` },
    { name: 'batch-size', type: 'number', description: `sequences per step (default ${NANOGPT_CPU_RECIPE.batchSize})` },
    { name: 'lr', type: 'number', description: `peak learning rate (default ${NANOGPT_CPU_RECIPE.lr})` },
    { name: 'context', type: 'number', description: `context length (default ${NANOGPT_CPU_RECIPE.nPositions})` },
    { name: 'layers', type: 'number', description: `transformer blocks (default ${NANOGPT_CPU_RECIPE.nLayer})` },
    { name: 'heads', type: 'number', description: `attention heads (default ${NANOGPT_CPU_RECIPE.nHead})` },
    { name: 'embd', type: 'number', description: `model width (default ${NANOGPT_CPU_RECIPE.nEmbd})` },
    { name: 'dropout', type: 'number', description: 'dropout (default 0)' },
    { name: 'eval-every', type: 'number', description: 'validate (and checkpoint) every N steps' },
    { name: 'eval-batches', type: 'number', description: 'validation batches per evaluation (default 20)' },
  ],
  async run({ args, options, print }) {
    if (args[0] !== 'gpt') throw new InvalidArgumentError(`train: unknown model ${JSON.stringify(args[0] ?? '')}; this command trains: gpt`);
    if (typeof options.out !== 'string') throw new InvalidArgumentError('train gpt: give --out DIR for checkpoints and the trained model');
    const { readFile } = await import('node:fs/promises');
    const data = typeof options.data === 'string' ? options.data : await defaultData();
    const text = await readFile(data, 'utf8');
    const config: Record<string, number> = {};
    for (const [opt, key] of [['context', 'nPositions'], ['layers', 'nLayer'], ['heads', 'nHead'], ['embd', 'nEmbd']] as const) {
      const v = intOption(options, opt);
      if (v !== undefined) config[key] = v;
    }
    const dropout = numOption(options, 'dropout');
    if (dropout !== undefined) config.dropout = dropout;
    const r = await trainGpt({
      text,
      config,
      steps: intOption(options, 'steps'),
      batchSize: intOption(options, 'batch-size'),
      lr: numOption(options, 'lr'),
      evalEvery: intOption(options, 'eval-every'),
      evalBatches: intOption(options, 'eval-batches'),
      seed: typeof options.seed === 'number' ? options.seed : 1337,
      outDir: options.out,
      progress: { mode: 'json' },
    });
    r.model.dispose();
    print(`trained ${r.history.steps.at(-1)?.step ?? 0} steps: val loss ${r.valLoss.toFixed(4)}, ${Math.round(r.tokensPerSecond)} tokens/s; wrote ${r.files.join(', ')}`);
    return { steps: r.history.steps.at(-1)?.step ?? 0, val_loss: r.valLoss, val_perplexity: r.valPerplexity, tokens_per_second: r.tokensPerSecond, seconds: r.seconds, files: r.files, data };
  },
};
