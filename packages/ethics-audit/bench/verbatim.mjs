// Extraction-check speed: `node bench/verbatim.mjs [MB]` indexes a synthetic word corpus of that size
// with a suffix array and checks 100 generated texts of 2,000 characters (10 with a planted 300-char span).
import { Rng } from '@nutshell/core';
import { VerbatimIndex, verbatimOverlap } from '@nutshell/ethics-audit';

const mb = Number(process.argv[2] ?? 4);
const rng = new Rng(0);
const word = () => Array.from({ length: 3 + rng.int(6) }, () => String.fromCharCode(97 + rng.int(26))).join('');
const vocab = Array.from({ length: 20000 }, word);
const corpus = [];
for (let size = 0; size < mb * 1e6;) { const d = Array.from({ length: 300 }, () => vocab[rng.int(vocab.length)]).join(' '); corpus.push(d); size += d.length; }
let t = performance.now();
const index = new VerbatimIndex(corpus);
const build = (performance.now() - t) / 1000;
const gen = Array.from({ length: 100 }, (_, i) => {
  let g = Array.from({ length: 330 }, () => vocab[rng.int(vocab.length)]).join(' ').slice(0, 2000);
  if (i % 10 === 0) { const d = corpus[rng.int(corpus.length)]; const s = rng.int(d.length - 300); g = g.slice(0, 800) + d.slice(s, s + 300) + g.slice(1100); }
  return g;
});
t = performance.now();
const r = verbatimOverlap(gen, index, { minLength: 50 });
const check = (performance.now() - t) / 1000;
console.log(`corpus ${(index.size / 1e6).toFixed(2)} M chars in ${corpus.length} docs: suffix array ${build.toFixed(2)} s; 100 × 2,000-char texts checked in ${check.toFixed(2)} s; extracted ${r.extractedCount}/100 (planted 10), longest ${r.longestMatch} chars`);
