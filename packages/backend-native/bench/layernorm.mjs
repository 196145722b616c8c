// LayerNorm forward + backward on [12·64, 128] (GPT training's shape): composed tfjs ops vs the
// fused NutshellLayerNorm kernel, both on the native backend. Prints ms per forward+backward.
//   node packages/backend-native/bench/layernorm.mjs
import { tf } from '@nutshell/core';
import nativeBackend, { LAYER_NORM_KERNEL } from '@nutshell/backend-native';

await nativeBackend.setup();
await tf.setBackend('native');
const x = tf.randomNormal([12, 64, 128]);
const g = tf.randomNormal([128]);
const b = tf.randomNormal([128]);
const composed = (a, gm, bt) => {
  const { mean, variance } = tf.moments(a, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(a, mean), tf.rsqrt(tf.add(variance, 1e-5))), gm), bt);
};
const fused = (a, gm, bt) => tf.engine().runKernel(LAYER_NORM_KERNEL, { x: a, gamma: gm, beta: bt }, { epsilon: 1e-5 });
for (const [name, fn] of [['composed', composed], ['fused', fused]]) {
  const step = () => tf.tidy(() => tf.grads((a, gm, bt) => tf.sum(tf.square(fn(a, gm, bt))))([x, g, b]).forEach((t) => t.dataSync()));
  for (let i = 0; i < 5; i++) step();
  const n = 40;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  console.log(`${name}: ${((performance.now() - t0) / n).toFixed(2)} ms per forward+backward`);
}
