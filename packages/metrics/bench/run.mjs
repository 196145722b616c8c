// Timing of the pure-JS float64 metrics (no backend involved): node packages/metrics/bench/run.mjs [fidN] [fidD]
import { Rng } from '@nutshell/core';
import { corpusBleu, fid } from '@nutshell/metrics';

const rng = new Rng(1);
const words = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`);
const sentence = () => Array.from({ length: 5 + rng.int(25) }, () => words[rng.int(words.length)]).join(' ') + '.';
const hyps = Array.from({ length: 10_000 }, sentence);
const refs = [Array.from({ length: 10_000 }, sentence)];
let t = performance.now();
const bleu = corpusBleu(hyps, refs);
console.log(`BLEU, 10k sentences: ${((performance.now() - t) / 1000).toFixed(2)} s (score ${bleu.score.toFixed(2)})`);

const n = Number(process.argv[2] ?? 2000);
const d = Number(process.argv[3] ?? 256);
const mk = (shift) => ({ rows: n, cols: d, data: Float64Array.from({ length: n * d }, () => rng.normal(shift, 1)) });
const a = mk(0);
const b = mk(0.1);
t = performance.now();
const r = fid(a, b);
console.log(`FID, ${n}×${d}: ${((performance.now() - t) / 1000).toFixed(2)} s (${r.details.method}, value ${r.value.toFixed(4)})`);
