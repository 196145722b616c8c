import { InvalidArgumentError, type CommandSpec } from '@nutshell/core';
import { generate } from '../models/gpt/generate.js';
import { intOption, numOption, openModelDir, parseIds } from './model-dir.js';

/** `nutshell generate --model DIR (--ids 5,17 | --prompt TEXT) [--max-new-tokens N] [--greedy | --temperature T --top-k K --top-p P] [--num-beams B] [--json]`. */
export const generateCommand: CommandSpec = {
  summary: 'generate tokens (or text) from a GPT model folder (Hugging Face GPT-2 layout)',
  description:
    'Loads config.json + model.safetensors from --model. Give the prompt as --ids (prints {"ids": new ids}) or as --prompt TEXT with tokenizer files in the folder (also prints the text). ' +
    'Sampling uses --seed; --greedy (or --temperature 0) takes the most likely token; --num-beams runs beam search.',
  options: [
    { name: 'model', type: 'string', description: 'model folder (config.json + model.safetensors [+ tokenizer files])' },
    { name: 'ids', type: 'string', description: 'prompt token ids, comma separated' },
    { name: 'prompt', type: 'string', description: 'prompt text (needs a tokenizer in the model folder)' },
    { name: 'max-new-tokens', type: 'number', description: 'tokens to generate (default 32)' },
    { name: 'max-tokens', type: 'number', description: 'alias of --max-new-tokens' },
    { name: 'greedy', type: 'boolean', description: 'always take the most likely token', default: false },
    { name: 'temperature', type: 'number', description: 'sampling temperature (default 1; 0 = greedy)' },
    { name: 'top-k', type: 'number', description: 'sample among the k most likely tokens' },
    { name: 'top-p', type: 'number', description: 'nucleus sampling threshold' },
    { name: 'repetition-penalty', type: 'number', description: 'CTRL repetition penalty (> 1 discourages repeats)' },
    { name: 'num-beams', type: 'number', description: 'beam search with this many beams' },
    { name: 'stop', type: 'string', multiple: true, description: 'stop when the text contains this (repeatable)' },
    { name: 'stop-ids', type: 'string', description: 'stop after any of these token ids' },
    { name: 'no-cache', type: 'boolean', description: 'do not use the KV cache', default: false },
  ],
  async run({ options, print }) {
    if (options.ids === undefined && options.prompt === undefined) throw new InvalidArgumentError('generate: give --ids 5,17,42 or --prompt TEXT');
    const text = typeof options.prompt === 'string';
    const { model, tokenizer } = await openModelDir(options.model, text || options.stop !== undefined);
    try {
      const prompt = text ? tokenizer!.encode(options.prompt as string) : parseIds(options.ids);
      const stream = !text || options.json ? undefined : (t: { text?: string }) => void (t.text && process.stdout.write(t.text));
      const r = await generate(model, prompt, {
        maxNewTokens: intOption(options, 'max-new-tokens') ?? intOption(options, 'max-tokens') ?? 32,
        greedy: options.greedy === true,
        temperature: numOption(options, 'temperature'),
        topK: intOption(options, 'top-k'),
        topP: numOption(options, 'top-p'),
        repetitionPenalty: numOption(options, 'repetition-penalty'),
        numBeams: intOption(options, 'num-beams'),
        stop: options.stop === undefined ? undefined : ([] as unknown[]).concat(options.stop).map(String),
        stopTokens: options['stop-ids'] === undefined ? undefined : parseIds(options['stop-ids'], '--stop-ids'),
        seed: typeof options.seed === 'number' ? options.seed : 0,
        useCache: options['no-cache'] !== true,
        tokenizer,
        onToken: stream,
      });
      if (stream) process.stdout.write('\n');
      else if (r.text !== undefined) print(r.text);
      else print(r.ids.join(','));
      return { ids: r.ids, ...(r.text !== undefined ? { text: r.text } : {}), finish_reason: r.finishReason };
    } finally {
      model.dispose();
    }
  },
};
