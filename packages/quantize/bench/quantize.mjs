#!/usr/bin/env node
// Quantize/dequantize throughput per format, in million values per second (median of timed runs).
//   node packages/quantize/bench/quantize.mjs [--n 1048576] [--min-ms 1000] [--json]
// Prints one JSON object, then a table (the table is left out with --json).
import { parseArgs } from 'node:util';
import { Rng } from '@nutshell/core';
import {
  dequantize4bitValues, dequantizeAffineValues, dequantizeGgml, fourBitBitsPerParameter, ggmlBitsPerValue, quantize4bit, quantizeAffine, quantizeGgml,
} from '@nutshell/quantize';

const { values: opts } = parseArgs({ options: { n: { type: 'string', default: String(1 << 20) }, 'min-ms': { type: 'string', default: '800' }, json: { type: 'boolean', default: false } } });
const n = Number(opts.n);
const minMs = Number(opts['min-ms']);
const rng = new Rng('bench');
const x = Float32Array.from({ length: n }, () => rng.normal() * 0.02);
const shape = [n / 1024, 1024];

const formats = [
  ['int8 per-channel', () => quantizeAffine(x, { dtype: 'int8', symmetric: true, granularity: { kind: 'channel', axis: 0 }, shape }), dequantizeAffineValues, (q) => (8 * (q.data.length + 4 * q.scale.length)) / n],
  ['uint4 g32', () => quantizeAffine(x, { dtype: 'uint4', granularity: { kind: 'group', size: 32 }, shape }), dequantizeAffineValues, (q) => (8 * (q.data.length + 8 * q.scale.length)) / n],
  ['nf4', () => quantize4bit(x), dequantize4bitValues, fourBitBitsPerParameter],
  ['nf4+dq', () => quantize4bit(x, { doubleQuant: true }), dequantize4bitValues, fourBitBitsPerParameter],
  ['fp4+dq', () => quantize4bit(x, { quantType: 'fp4', doubleQuant: true }), dequantize4bitValues, fourBitBitsPerParameter],
  ...['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q4_K', 'Q6_K'].map((t) => [t, () => quantizeGgml(t, x), (b) => dequantizeGgml(t, b, n), () => ggmlBitsPerValue(t)]),
];

function time(fn) {
  fn(); // warm-up
  const samples = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < minMs && samples.length < 50)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const round = (v, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
const results = [];
for (const [name, quantize, dequantize, bits] of formats) {
  const q = quantize();
  const back = dequantize(q);
  let se = 0, power = 0;
  for (let i = 0; i < n; i++) { se += (back[i] - x[i]) ** 2; power += x[i] ** 2; }
  const qMs = time(quantize);
  const dMs = time(() => dequantize(q));
  results.push({ format: name, bitsPerValue: round(bits(q), 4), sqnrDb: round(10 * Math.log10(power / se)), quantizeMValuesPerS: round(n / qMs / 1e3), dequantizeMValuesPerS: round(n / dMs / 1e3) });
}
const report = { node: process.version, values: n, results };
console.log(JSON.stringify(report));
if (!opts.json) {
  console.log(['format', 'bits/value', 'SQNR dB', 'quantize Mval/s', 'dequantize Mval/s'].join('\t'));
  for (const r of results) console.log([r.format.padEnd(16), r.bitsPerValue, r.sqnrDb, r.quantizeMValuesPerS, r.dequantizeMValuesPerS].join('\t'));
}
