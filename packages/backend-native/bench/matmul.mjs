// GFLOP/s of float32 matmul (n×n × n×n) and one conv2d on the 'native' backend vs tfjs 'cpu'.
// Not a test: run after building, `node packages/backend-native/bench/matmul.mjs [--quick]`.
// NUTSHELL_NATIVE_THREADS sets the BLAS threads (default: one per core).
import * as core from '@nutshell/core';
import nativeBackend from '@nutshell/backend-native';

const { tf } = core;
const quick = process.argv.includes('--quick');
const sizes = [256, 512, 1024];

const availability = await nativeBackend.isAvailable();
if (!availability.available) {
  console.error(`native backend unavailable: ${availability.reason}`);
  process.exit(1);
}
await nativeBackend.setup();

/** Median seconds of `fn` (which returns a tensor whose data is read to force completion). */
function time(fn, reps) {
  const out = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const y = fn();
    y.dataSync();
    out.push(Number(process.hrtime.bigint() - t0) / 1e9);
    y.dispose();
  }
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)];
}

function bench(backend, label, flops, make, fn, reps) {
  tf.setBackend(backend);
  const inputs = make();
  fn(...inputs).dispose(); // warm-up: first-use costs and scratch growth
  const seconds = time(() => fn(...inputs), reps);
  tf.dispose(inputs);
  return { backend, label, ms: +(seconds * 1e3).toFixed(2), gflops: +(flops / seconds / 1e9).toFixed(1) };
}

const rows = [];
for (const n of sizes) {
  const make = () => [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
  const flops = 2 * n ** 3;
  rows.push(bench('native', `matmul ${n}²`, flops, make, (a, b) => tf.matMul(a, b), quick ? 5 : 20));
  // The cpu backend needs seconds for 1024²; a couple of runs tell its speed.
  rows.push(bench('cpu', `matmul ${n}²`, flops, make, (a, b) => tf.matMul(a, b), n >= 1024 || quick ? 1 : 3));
}
{
  const make = () => [tf.randomNormal([8, 32, 32, 16]), tf.randomNormal([3, 3, 16, 32])];
  const flops = 2 * 8 * 32 * 32 * 32 * 3 * 3 * 16;
  const conv = (x, w) => tf.conv2d(x, w, 1, 'same');
  rows.push(bench('native', 'conv2d [8,32,32,16]×[3,3,16,32] same', flops, make, conv, quick ? 5 : 20));
  rows.push(bench('cpu', 'conv2d [8,32,32,16]×[3,3,16,32] same', flops, make, conv, quick ? 1 : 3));
}

console.log(`native: ${availability.reason}`);
console.table(rows);
for (const n of sizes) {
  const nat = rows.find((r) => r.backend === 'native' && r.label === `matmul ${n}²`);
  const cpu = rows.find((r) => r.backend === 'cpu' && r.label === `matmul ${n}²`);
  console.log(`matmul ${n}²: native ${nat.gflops} GFLOP/s, cpu ${cpu.gflops} GFLOP/s (${(nat.gflops / cpu.gflops).toFixed(0)}×)`);
}
