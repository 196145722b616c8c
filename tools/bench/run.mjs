#!/usr/bin/env node
// Speed of every available backend: matmul and conv2d in GFLOP/s (median of timed runs after
// warm-up; each run awaits data(), so async backends are measured to completion).
//   pnpm bench                         # all backends
//   node tools/bench/run.mjs --backends wasm,native --min-ms 1000
// Prints one JSON object, then a table. Not part of the tests: numbers depend on the machine.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { tf, useBackend, Rng } from '@nutshell/core';

const KNOWN = { cpu: null, wasm: '@nutshell/backend-wasm', native: '@nutshell/backend-native', webgpu: '@nutshell/backend-webgpu' };
const { values: opts } = parseArgs({
  options: {
    backends: { type: 'string', default: Object.keys(KNOWN).join(',') },
    'min-ms': { type: 'string', default: '1500' },
    'min-runs': { type: 'string', default: '3' },
    'max-runs': { type: 'string', default: '25' },
    json: { type: 'boolean', default: false },
  },
});
const minMs = Number(opts['min-ms']);
const minRuns = Number(opts['min-runs']);
const maxRuns = Number(opts['max-runs']);

const cases = [
  ...[256, 512, 1024].map((n) => ({
    name: `matmul ${n}`,
    flops: 2 * n ** 3,
    inputs: (rng) => [rng.normalTensor([n, n]), rng.normalTensor([n, n])],
    run: (a, b) => tf.matMul(a, b),
  })),
  conv('conv2d [8,32,32,16]x[3,3,16,32]', [8, 32, 32, 16], [3, 3, 16, 32]),
  conv('conv2d [8,64,64,32]x[3,3,32,64]', [8, 64, 64, 32], [3, 3, 32, 64]),
];

function conv(name, x, w) {
  const [b, h, wd] = x;
  const [kh, kw, ci, co] = w;
  // 'same', stride 1: every output pixel does kh·kw·ci multiply-adds per output channel.
  return { name, flops: 2 * b * h * wd * co * kh * kw * ci, inputs: (rng) => [rng.normalTensor(x), rng.normalTensor(w)], run: (a, f) => tf.conv2d(a, f, 1, 'same') };
}

async function loadPlugin(name) {
  if (!(name in KNOWN)) return { reason: `unknown backend (known: ${Object.keys(KNOWN).join(', ')})` };
  if (KNOWN[name] === null) return { plugin: name };
  try {
    const plugin = (await import(KNOWN[name])).default;
    const a = await plugin.isAvailable();
    return a.available ? { plugin, reason: a.reason } : { reason: a.reason };
  } catch (err) {
    return { reason: `cannot load ${KNOWN[name]}: ${err.message}` };
  }
}

async function time(c) {
  const inputs = c.inputs(new Rng(c.name));
  const once = async () => {
    const t0 = performance.now();
    const y = c.run(...inputs);
    await y.data();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  await once(); // warm-up: shader compilation, wasm/native buffers, caches
  await once();
  const samples = [];
  const start = performance.now();
  while (samples.length < maxRuns && (samples.length < minRuns || performance.now() - start < minMs)) samples.push(await once());
  tf.dispose(inputs);
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  return { gflops: round(c.flops / median / 1e6), medianMs: round(median), runs: samples.length };
}

const round = (x) => Math.round(x * 100) / 100;

const report = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, backends: {}, unavailable: {}, ratios: {} };
for (const name of opts.backends.split(',').map((s) => s.trim()).filter(Boolean)) {
  const { plugin, reason } = await loadPlugin(name);
  if (!plugin) {
    report.unavailable[name] = reason;
    continue;
  }
  await useBackend(plugin);
  const results = {};
  for (const c of cases) {
    process.stderr.write(`bench ${name} ${c.name} …\n`);
    results[c.name] = await time(c);
  }
  report.backends[name] = { reason: reason ?? 'tfjs cpu (pure JavaScript)', results };
}
const ratio = (num, den) => {
  const a = report.backends[num], b = report.backends[den];
  if (!a || !b) return;
  report.ratios[`${num}/${den}`] = Object.fromEntries(cases.map((c) => [c.name, Number((a.results[c.name].gflops / b.results[c.name].gflops).toPrecision(3))]));
};
ratio('native', 'wasm');
ratio('wasm', 'cpu');
ratio('webgpu', 'wasm');

console.log(JSON.stringify(report));
if (!opts.json) {
  const names = Object.keys(report.backends);
  const header = ['GFLOP/s', ...names, ...Object.keys(report.ratios)];
  const rows = cases.map((c) => [c.name, ...names.map((n) => String(report.backends[n].results[c.name].gflops)), ...Object.values(report.ratios).map((r) => `${r[c.name]}x`)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(['', fmt(header), ...rows.map(fmt)].join('\n'));
  for (const [n, why] of Object.entries(report.unavailable)) console.log(`${n}: unavailable — ${why}`);
}
