import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';

/** Token ids of the parenthesis toy language: 0 = '(', 1 = ')'. */
export const OPEN = 0;
export const CLOSE = 1;

/** Whether a token sequence (0 = '(', 1 = ')') is a balanced parenthesis string (a Dyck word). */
export function isBalanced(tokens: ArrayLike<number>): boolean {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === OPEN) depth++;
    else if (t === CLOSE) depth--;
    else return false;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * Every balanced parenthesis string of an even `length` (the Catalan number C(length/2) of them:
 * 14 for 8, 42 for 10) as token ids, in lexicographic order.
 */
export function balancedParentheses(length: number): number[][] {
  if (!Number.isInteger(length) || length < 2 || length % 2 || length > 24) {
    throw new InvalidArgumentError(`balancedParentheses: length must be an even integer in [2, 24], got ${length}`);
  }
  const out: number[][] = [];
  const cur: number[] = [];
  const walk = (open: number, close: number): void => {
    if (cur.length === length) { out.push(cur.slice()); return; }
    if (open < length / 2) { cur.push(OPEN); walk(open + 1, close); cur.pop(); }
    if (close < open) { cur.push(CLOSE); walk(open, close + 1); cur.pop(); }
  };
  walk(0, 0);
  return out;
}

/** Token sequences → one-hot float32 [n, length, vocabSize] (the real data of a text GAN). */
export function oneHotSequences(seqs: number[][], vocabSize: number): Tensor {
  if (seqs.length === 0) throw new InvalidArgumentError('oneHotSequences: no sequences');
  const len = seqs[0]!.length;
  if (seqs.some((s) => s.length !== len)) throw new InvalidArgumentError('oneHotSequences: sequences must share one length');
  if (seqs.some((s) => s.some((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize))) throw new InvalidArgumentError(`oneHotSequences: token ids must be integers in [0, ${vocabSize})`);
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor2d(seqs, [seqs.length, len], 'int32'), vocabSize), 'float32'));
}
