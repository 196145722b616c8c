import type { TextTokenizer } from '@nutshell/core';
import type { GPT } from '@nutshell/transformer';

/**
 * Mean next-token negative log-likelihood (nats) of a text under the model, through the GPT's
 * TokenScorer (sliding window past the context). Perplexity is exp of it.
 */
export async function textLoss(model: GPT, tokenizer: TextTokenizer, text: string): Promise<{ loss: number; perplexity: number; tokens: number }> {
  const ids = tokenizer.encode(text);
  if (ids.length < 2) throw new Error('the text is too short to score: it needs at least two tokens');
  const [logprobs] = await model.scoreTokens([ids]);
  let sum = 0;
  for (const lp of logprobs!) sum -= lp;
  const loss = sum / logprobs!.length;
  return { loss, perplexity: Math.exp(loss), tokens: ids.length };
}
