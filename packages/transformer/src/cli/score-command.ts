import { InvalidArgumentError, type CommandSpec } from '@nutshell/core';
import { openModelDir, parseIds } from './model-dir.js';

/** `nutshell score --model DIR (--ids 5,17,42 | --file TEXT_FILE | TEXT) [--json]` → per-token log-probs and perplexity. */
export const scoreCommand: CommandSpec = {
  summary: 'log-probabilities and perplexity of token ids or a text under a GPT model folder',
  description:
    'token_logprobs[i] is log p(id_{i+1} | ids_<=i) (natural log) for every token after the first; sequences longer than the context use a sliding window. ' +
    'Text (--file or arguments) needs tokenizer files in the model folder.',
  args: [{ name: 'text', description: 'text to score (alternative to --ids / --file)' }],
  options: [
    { name: 'model', type: 'string', description: 'model folder (config.json + model.safetensors [+ tokenizer files])' },
    { name: 'ids', type: 'string', description: 'token ids, comma separated' },
    { name: 'file', type: 'string', description: 'a UTF-8 text file to score' },
  ],
  async run({ args, options, print }) {
    const hasText = options.file !== undefined || args.length > 0;
    if (options.ids === undefined && !hasText) throw new InvalidArgumentError('score: give --ids 5,17,42, --file TEXT_FILE or the text');
    const { model, tokenizer } = await openModelDir(options.model, options.ids === undefined);
    try {
      let ids: number[];
      if (options.ids !== undefined) ids = parseIds(options.ids);
      else {
        const { readFile } = await import('node:fs/promises');
        const text = options.file !== undefined ? await readFile(String(options.file), 'utf8') : args.join(' ');
        ids = tokenizer!.encode(text);
      }
      if (ids.length < 2) throw new InvalidArgumentError(`score: need at least 2 tokens, got ${ids.length}`);
      const [lp] = await model.scoreTokens([ids]);
      const logprobs = Array.from(lp!);
      const meanNll = -logprobs.reduce((a, b) => a + b, 0) / logprobs.length;
      print(`${logprobs.length} tokens scored: mean NLL ${meanNll.toFixed(4)} nats, perplexity ${Math.exp(meanNll).toFixed(3)}`);
      return { token_logprobs: logprobs, token_count: logprobs.length, mean_nll: meanNll, perplexity: Math.exp(meanNll) };
    } finally {
      model.dispose();
    }
  },
};
