// Loading costs of the embedded datasets: time and memory of a cold load, each in a fresh Node
// process so caches and earlier allocations do not blur the numbers. Not part of the tests.
//   node packages/datasets/bench/load.mjs [--runs 3]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
if (!existsSync(dist)) throw new Error(`build first: ${dist} is missing (pnpm exec tsc -b packages/datasets)`);

const cases = {
  'mnist (loadMnist)': `const m = await ds.loadMnist(); keep = m; count = m.all.length;`,
  'mnist warm 2nd load': `await ds.loadMnist(); gc(); before = snap(); t0 = performance.now(); const m = await ds.loadMnist(); keep = m; count = m.all.length;`,
  'mnist package require (reference)': `const m = await ds.mnistPackage(); keep = m; count = m.reduce((a, d) => a + d.length, 0);`,
  'wordnet (loadWordNet)': `const w = await ds.loadWordNet(); keep = w; count = w.length;`,
  'wordnet gloss lines': `const w = await ds.loadWordNet(); const lines = w.glossLines(); keep = [w, lines]; count = lines.length;`,
  'shapes n=10000 (synthetic)': `const s = ds.shapes({ n: 10000 }); keep = s; count = s.length;`,
};
if (process.env.NUTSHELL_DATA_DIR) cases['tinyshakespeare (data dir)'] = `const c = await ds.loadTinyShakespeare(); keep = c; count = c.text.length;`;

function measure(body) {
  const script = `
    const ds = await import(${JSON.stringify(dist)});
    const snap = () => { const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed, ab: m.arrayBuffers }; };
    let keep, count;
    gc();
    let before = snap();
    let t0 = performance.now();
    ${body}
    const ms = performance.now() - t0;
    gc();
    const after = snap();
    console.log(JSON.stringify({ ms, count, rssMB: (after.rss - before.rss) / 2 ** 20, heapMB: (after.heap - before.heap) / 2 ** 20, arrayBuffersMB: (after.ab - before.ab) / 2 ** 20, keep: typeof keep }));
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const [name, body] of Object.entries(cases)) {
  const samples = Array.from({ length: runs }, () => measure(body));
  results.push({
    name,
    count: samples[0].count,
    ms: Math.round(median(samples.map((s) => s.ms))),
    retainedMB: +median(samples.map((s) => s.heapMB + s.arrayBuffersMB)).toFixed(1),
    rssMB: +median(samples.map((s) => s.rssMB)).toFixed(1),
    runs,
  });
}

console.log(JSON.stringify({ node: process.version, results }, null, 2));
console.log();
console.log(`${'dataset'.padEnd(34)} ${'items'.padStart(9)} ${'ms (median)'.padStart(12)} ${'retained MB'.padStart(12)} ${'Δrss MB'.padStart(9)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(34)} ${String(r.count).padStart(9)} ${String(r.ms).padStart(12)} ${r.retainedMB.toFixed(1).padStart(12)} ${r.rssMB.toFixed(1).padStart(9)}`);
}
