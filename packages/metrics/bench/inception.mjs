// InceptionV3 pool3 (pytorch-fid definition) with random weights: one full 299×299 forward per
// backend, FLOPs of the conv/linear layers, and per-layer shapes at 299.
//   node packages/metrics/bench/inception.mjs [--backends native,wasm,cpu]
import { tf, useBackend } from '@nutshell/core';
import { InceptionFeatureExtractor, InceptionV3, countFlops } from '@nutshell/metrics';

const i = process.argv.indexOf('--backends');
const backends = (i > 0 ? process.argv[i + 1] : 'native,wasm').split(',');
const net = new InceptionV3({ seed: 0, fc: false });
const ex = new InceptionFeatureExtractor(net);
const img = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 1); // resized to 299 by the extractor
const x = ex.prepare(img);
const shapes = net.trace(x).map(([name, t]) => {
  const s = `${name} [${t.shape.join(', ')}]`;
  t.dispose();
  return s;
});
console.log(shapes.join('\n'));
const flops = countFlops({ forward: (inp) => net.pool3(inp), namedModules: () => net.namedModules() }, x);
console.log(`conv/linear MACs at 299×299: ${(flops.macs / 1e9).toFixed(3)} G (torchvision lists 5.71 GFLOPS for inception_v3, which counts MACs)`);
for (const b of backends) {
  try {
    await useBackend(b === 'cpu' ? 'cpu' : (await import(`@nutshell/backend-${b}`)).default);
  } catch (e) {
    console.log(`${b}: skipped (${e.message})`);
    continue;
  }
  const t0 = performance.now();
  const f = ex.features(img);
  const t1 = performance.now();
  ex.features(img);
  const t2 = performance.now();
  console.log(`${b}: pool3 ${f.cols}-d, first forward ${((t1 - t0) / 1000).toFixed(2)} s, second ${((t2 - t1) / 1000).toFixed(2)} s per 299×299 image`);
}
