#!/usr/bin/env node
// Writes GPT-2's vocab.json, merges.txt and tokenizer.json into a folder, derived from the r50k
// ranks that the js-tiktoken devDependency ships (see vocabMergesFromRanks in src/tokenizers/ranks.ts
// for why the merge list is recoverable from ranks). Needs `pnpm build` first.
//   node packages/transformer/scripts/gpt2-files-from-ranks.mjs OUT_DIR
import gpt2 from 'js-tiktoken/ranks/gpt2';
import { bpeFromRanks, saveTokenizer } from '../dist/index.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: gpt2-files-from-ranks.mjs OUT_DIR');
  process.exit(2);
}
const ranks = [];
for (const line of gpt2.bpe_ranks.split('\n')) {
  if (!line) continue;
  // "! <first rank> <base64 token> <base64 token> …": consecutive ranks from the first.
  const [, offset, ...tokens] = line.split(' ');
  tokens.forEach((t, i) => ranks.push([Uint8Array.from(atob(t), (c) => c.charCodeAt(0)), Number(offset) + i]));
}
const tokenizer = bpeFromRanks(ranks, { specialTokens: gpt2.special_tokens });
const paths = await saveTokenizer(tokenizer, out);
console.log(`GPT-2 tokenizer: ${tokenizer.vocabSize} ids, ${tokenizer.merges.length} merges → ${paths.join(', ')}`);
