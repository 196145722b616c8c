// WGAN-GP on the 2-D ring of 8 Gaussians (radius 2, σ = 0.02), the mode-collapse benchmark of
// Metz et al. 2017 (Unrolled GAN) and Srivastava et al. 2017 (VEEGAN). After training, 2,500
// samples are drawn; a sample is "high quality" when it lies within 3σ (0.06) of its nearest
// centre (Unrolled GAN's definition), and a mode is covered when it receives at least 20 of
// them (VEEGAN's rule: < 1/5 of the 312 expected per mode means the mode is lost). The looser
// 0.5 radius used elsewhere in this package is also reported. Prints JSON, then a table.
// Recipe: Gulrajani et al.'s toy script (gan_toy.py: critic 5×, Adam β = (0.5, 0.9), λ = 0.1 for the
// toy, 2-d noise, batch 256) scaled to a CPU minute budget: 3×128 MLPs and lr 1e-3 instead of 3×512
// and 1e-4 for 100k iterations.
//   NUTSHELL_NATIVE_THREADS=1 node packages/gan/bench/ring-wgan-gp.mjs [--steps 1000] [--seeds 0] [--lambda 0.1] [--hidden 128] [--lr 1e-3] [--backend native]
import { Rng, tf, useBackend } from '@nutshell/core';
import { gaussianRing } from '@nutshell/datasets';
import { Adam, DataLoader } from '@nutshell/nn';
import { GanTrainer, MLPDiscriminator, MLPGenerator, modeCoverage, ringCenters, writeImageGrid } from '@nutshell/gan';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const steps = Number(args.steps ?? 1000);
const seeds = (args.seeds ?? '0').split(',').map(Number);
const lambda = Number(args.lambda ?? 0.1);
const hidden = Number(args.hidden ?? 128);
const lr = Number(args.lr ?? 1e-3);
const layers = Number(args.layers ?? 3);
const batchSize = Number(args.batch ?? 256);
const nCritic = Number(args.critic ?? 5);
const latentDim = Number(args.latent ?? 2);
const backend = args.backend ?? 'native';
const outDir = args.out ?? '/tmp/gan-bench/ring';
const sigma = 0.02;
const every = Number(args.every ?? 250);

const plugin = backend === 'cpu' ? 'cpu' : (await import(`@nutshell/backend-${backend}`)).default;
await useBackend(plugin);
const centres = ringCenters(8, 2);
const ring = gaussianRing({ n: 8192, std: sigma, seed: 0 });
const points = tf.tensor(ring.x, [ring.length, 2]);

const runs = [];
for (const seed of seeds) {
  const G = new MLPGenerator(latentDim, 2, { hidden: Array(layers).fill(hidden), seed: 10 + seed });
  const curve = [];
  const D = new MLPDiscriminator(2, { hidden: Array(layers).fill(hidden), seed: 20 + seed });
  const trainer = new GanTrainer({
    generator: G, discriminator: D, latentDim, loss: 'wasserstein', gradientPenalty: lambda, nCritic, seed,
    optimizerG: new Adam(G, { lr, betas: [0.5, 0.9] }),
    optimizerD: new Adam(D, { lr, betas: [0.5, 0.9] }),
    log: false,
    // Coverage along the way (3σ rule, 1,000 samples) every `every` steps.
    onStep: (log) => {
      if (log.step % every) return;
      G.eval();
      const s = tf.tidy(() => G.forward(new Rng(`curve${log.step}`).normalTensor([1000, latentDim])));
      G.train();
      const c = modeCoverage(s, centres, { threshold: 3 * sigma, minCount: 8 });
      s.dispose();
      curve.push({ step: log.step, modes: c.covered, highQuality: +c.highQuality.toFixed(3) });
      console.error(`[seed ${seed}] step ${log.step}: ${c.covered}/8 modes, ${(100 * c.highQuality).toFixed(1)}% within 3σ`);
    },
  });
  const t0 = Date.now();
  await trainer.fit(new DataLoader(points, { batchSize, shuffle: true, seed }), { steps });
  const seconds = (Date.now() - t0) / 1000;
  G.eval();
  const samples = tf.tidy(() => G.forward(new Rng(`eval${seed}`).normalTensor([2500, latentDim])));
  const strict = modeCoverage(samples, centres, { threshold: 3 * sigma, minCount: 20 });
  const loose = modeCoverage(samples, centres, { threshold: 0.5, minCount: 20 });
  // A scatter plot as a 64×64 image for a look.
  const img = tf.tidy(() => {
    const xy = samples.dataSync();
    const px = new Float32Array(128 * 128).fill(-1);
    for (let i = 0; i < xy.length / 2; i++) {
      const u = Math.round(((xy[2 * i] + 2.6) / 5.2) * 127);
      const v = Math.round(((2.6 - xy[2 * i + 1]) / 5.2) * 127);
      if (u >= 0 && u < 128 && v >= 0 && v < 128) px[v * 128 + u] = 1;
    }
    return tf.tensor4d(px, [1, 128, 128, 1]);
  });
  const file = await writeImageGrid(`${outDir}/ring-seed${seed}.png`, img);
  img.dispose();
  samples.dispose();
  const last = trainer.history.slice(-50);
  runs.push({
    seed, steps, seconds: +seconds.toFixed(1), secondsPerStep: +(seconds / steps).toFixed(4),
    modesCovered3sigma: strict.covered, highQuality3sigma: +strict.highQuality.toFixed(3), countsPerMode3sigma: strict.counts,
    modesCovered0_5: loose.covered, within0_5: +loose.highQuality.toFixed(3),
    wassersteinEstimate: +(last.reduce((s, h) => s + (h.dReal - h.dFake), 0) / last.length).toFixed(4), scatter: file, curve,
  });
  trainer.dispose();
  G.dispose();
  D.dispose();
}
points.dispose();
const result = {
  bench: 'ring-wgan-gp', backend: tf.getBackend(), data: '8 Gaussians, radius 2, σ 0.02, 8192 points',
  model: `MLP G ${latentDim}-${Array(layers).fill(hidden).join('-')}-2 (ReLU), critic 2-${Array(layers).fill(hidden).join('-')}-1 (LeakyReLU 0.2)`,
  loss: 'wasserstein + gradient penalty', lambda, nCritic, batchSize, optimizer: `Adam lr ${lr}, betas (0.5, 0.9) for G and D`,
  eval: '2500 samples; high quality = within 3σ = 0.06 of the nearest centre; mode covered = ≥ 20 high-quality samples',
  runs,
};
console.log(JSON.stringify(result, null, 2));
console.log('\n| seed | steps | s | modes (3σ) | high-quality (3σ) | modes (r 0.5) | within 0.5 | W estimate |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of runs) console.log(`| ${r.seed} | ${r.steps} | ${r.seconds} | ${r.modesCovered3sigma}/8 | ${(100 * r.highQuality3sigma).toFixed(1)}% | ${r.modesCovered0_5}/8 | ${(100 * r.within0_5).toFixed(1)}% | ${r.wassersteinEstimate} |`);
