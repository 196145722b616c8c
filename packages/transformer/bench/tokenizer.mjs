#!/usr/bin/env node
// Encode throughput of the GPT-2 byte-level BPE on tiny Shakespeare (target ≥ 1 MB/s), beside
// js-tiktoken's pure-JS encoder on the same text; also BPE training time. Not a test: prints JSON
// and a table. Needs `pnpm build` and the devDependency js-tiktoken.
//   node packages/transformer/bench/tokenizer.mjs [path/to/input.txt]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gpt2 from 'js-tiktoken/ranks/gpt2';
import { Tiktoken } from 'js-tiktoken/lite';
import { CharTokenizer, bpeFromRanks, trainByteLevelBPE } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [
  process.argv[2],
  process.env.NUTSHELL_DATA_DIR && join(process.env.NUTSHELL_DATA_DIR, 'tinyshakespeare/input.txt'),
  join(here, '../../../../shared/datasets/tinyshakespeare/input.txt'),
  '/work/shared/datasets/tinyshakespeare/input.txt',
].filter(Boolean);
const path = candidates.find((p) => existsSync(p));
if (!path) {
  console.error(`tiny Shakespeare not found (tried ${candidates.join(', ')}); pass its path or set NUTSHELL_DATA_DIR`);
  process.exit(2);
}
const text = readFileSync(path, 'utf8');
const mb = Buffer.byteLength(text) / 1e6;

function time(fn) {
  const t0 = performance.now();
  const out = fn();
  return [out, (performance.now() - t0) / 1000];
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ranks = [];
for (const line of gpt2.bpe_ranks.split('\n')) {
  if (!line) continue;
  const [, offset, ...tokens] = line.split(' ');
  tokens.forEach((t, i) => ranks.push([Uint8Array.from(atob(t), (c) => c.charCodeAt(0)), Number(offset) + i]));
}
const [tok, buildS] = time(() => bpeFromRanks(ranks, { specialTokens: gpt2.special_tokens }));
const [ids] = time(() => tok.encode(text));
// Cold: a fresh tokenizer (empty word cache), so every distinct word is merged once; median of 3.
const Ctor = Object.getPrototypeOf(tok).constructor;
const fresh = (cacheSize) => new Ctor({ vocab: tok.getVocab(), merges: tok.merges, specialTokens: ['<|endoftext|>'], cacheSize });
const cold = [];
for (let i = 0; i < 3; i++) {
  const t = fresh();
  cold.push(time(() => t.encode(text))[1]);
}
const coldS = median(cold);
const warm = [];
for (let i = 0; i < 5; i++) warm.push(time(() => tok.encode(text))[1]);
const noCacheTok = fresh(0);
const [, noCacheS] = time(() => noCacheTok.encode(text));
const [, decodeS] = time(() => tok.decode(ids));

const oracle = new Tiktoken(gpt2);
const tik = [];
let oracleIds;
for (let i = 0; i < 3; i++) {
  const [o, s] = time(() => oracle.encode(text));
  oracleIds = o;
  tik.push(s);
}
const same = oracleIds.length === ids.length && oracleIds.every((x, i) => x === ids[i]);

const [, trainS] = time(() => trainByteLevelBPE(text, { vocabSize: 2048, specialTokens: ['<|endoftext|>'] }));
const [charTok, charBuildS] = time(() => CharTokenizer.fromText(text));
const charWarm = [];
for (let i = 0; i < 3; i++) charWarm.push(time(() => charTok.encode(text))[1]);

const result = {
  benchmark: 'tokenizer',
  corpus: { path, megabytes: +mb.toFixed(3) },
  node: process.version,
  gpt2: {
    tokens: ids.length,
    idsEqualJsTiktoken: same,
    buildFromRanksSeconds: +buildS.toFixed(3),
    encodeMBps: { cold: +(mb / coldS).toFixed(2), warm: +(mb / median(warm)).toFixed(2), noCache: +(mb / noCacheS).toFixed(2) },
    decodeMBps: +(mb / decodeS).toFixed(2),
    jsTiktokenEncodeMBps: +(mb / median(tik)).toFixed(2),
  },
  trainBPE: { vocabSize: 2048, seconds: +trainS.toFixed(2) },
  char: { vocabSize: charTok.vocabSize, buildSeconds: +charBuildS.toFixed(3), encodeMBps: +(mb / median(charWarm)).toFixed(2) },
  targetMBps: 1,
  meetsTarget: mb / coldS >= 1,
};
console.log(JSON.stringify(result, null, 2));
const rows = [
  ['GPT-2 BPE encode, cold cache', `${result.gpt2.encodeMBps.cold} MB/s`],
  ['GPT-2 BPE encode, warm cache', `${result.gpt2.encodeMBps.warm} MB/s`],
  ['GPT-2 BPE encode, no cache', `${result.gpt2.encodeMBps.noCache} MB/s`],
  ['GPT-2 BPE decode', `${result.gpt2.decodeMBps} MB/s`],
  ['js-tiktoken encode (oracle)', `${result.gpt2.jsTiktokenEncodeMBps} MB/s`],
  ['ids equal to js-tiktoken', String(same)],
  ['train BPE, vocab 2048', `${result.trainBPE.seconds} s`],
  ['char tokenizer encode', `${result.char.encodeMBps} MB/s`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`\ntiny Shakespeare, ${mb.toFixed(2)} MB, ${ids.length} GPT-2 tokens`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
