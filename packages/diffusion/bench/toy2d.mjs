// 2-D toy diffusion benchmark, per backend: trains the MLP denoiser on a Gaussian mixture (an
// 8-mode ring and a 4-mode ring) and samples it with every scheduler, reporting the sliced
// Wasserstein distance (SWD) of the samples to held-out data beside two references at the same n:
// a fresh draw of the data itself (the floor) and N(0, I) noise (the ceiling). Wall time of training
// and sampling is recorded per backend. Prints JSON, then a table.
//
//   node packages/diffusion/bench/toy2d.mjs [--backends cpu,wasm,native] [--steps 1500] [--n 1000] [--modes 8] [--json out.json]
import { writeFileSync } from 'node:fs';
import { getBackendPlugins, registerBackendPlugin, tf, useBackend } from '@nutshell/core';
import { gaussianRing } from '@nutshell/datasets';
import { MLPDenoiser, NoiseSchedule, SCHEDULERS, createScheduler, generate, toySampleScore, trainDenoiser } from '@nutshell/diffusion';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const backends = arg('backends', 'cpu,wasm,native').split(',');
const trainSteps = Number(arg('steps', 1500));
const n = Number(arg('n', 1000));
const modesList = arg('modes', '8,4').split(',').map(Number);
const jsonOut = arg('json', undefined);
const SAMPLE_STEPS = { ddpm: 100, ddim: 50, 'dpmpp-2m': 20, euler: 50, 'euler-ancestral': 50, heun: 25 };

async function load(name) {
  try {
    if (name === 'wasm') await import('@nutshell/backend-wasm');
    if (name === 'native') {
      const mod = await import('@nutshell/backend-native');
      if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
    }
    await useBackend(name);
    return true;
  } catch (e) {
    console.error(`skipping ${name}: ${e.message}`);
    return false;
  }
}

const results = [];
for (const backend of backends) {
  if (!(await load(backend))) continue;
  for (const modes of modesList) {
    const ring = (seed, count) => {
      const ds = gaussianRing({ n: count, modes, radius: 2, std: 0.1, seed });
      return tf.tensor2d(ds.x, [ds.length, 2]);
    };
    const train = ring(1, 4000);
    const heldOut = ring(2, n);
    const fresh = ring(3, n);
    const noise = tf.randomNormal([n, 2], 0, 1, 'float32', 4);
    const schedule = new NoiseSchedule();
    const model = new MLPDenoiser({ dim: 2, hidden: 128, blocks: 3, seed: 0 });
    const t0 = performance.now();
    const { losses, ema } = trainDenoiser({ model, data: train, schedule, steps: trainSteps, batchSize: 256, lr: 2e-3, emaDecay: 0.995, rng: 0 });
    const trainSeconds = (performance.now() - t0) / 1000;
    ema.copyTo(model);
    ema.dispose();
    const floor = toySampleScore(fresh, heldOut, { noise }).swd;
    const noiseSwd = toySampleScore(noise, heldOut).swd;
    const samplers = [];
    for (const name of Object.keys(SCHEDULERS)) {
      const s0 = performance.now();
      const { samples } = generate({ model, scheduler: createScheduler(name, { schedule }), shape: [n, 2], steps: SAMPLE_STEPS[name], rng: 5 });
      const seconds = (performance.now() - s0) / 1000;
      const { swd } = toySampleScore(samples, heldOut);
      samples.dispose();
      samplers.push({ sampler: name, steps: SAMPLE_STEPS[name], swd, seconds });
      console.error(`${backend} ${modes}-mode ${name}: SWD ${swd.toFixed(4)} (floor ${floor.toFixed(4)}, noise ${noiseSwd.toFixed(4)}), ${seconds.toFixed(2)} s`);
    }
    const lossFirst = losses.slice(0, 50).reduce((a, b) => a + b) / 50;
    const lossLast = losses.slice(-100).reduce((a, b) => a + b) / 100;
    results.push({ backend, modes, trainSteps, n, trainSeconds, lossFirst, lossLast, floorSwd: floor, noiseSwd, samplers });
    tf.dispose([train, heldOut, fresh, noise]);
    model.dispose();
  }
}

const out = { task: 'toy2d', model: 'MLPDenoiser(hidden 128, blocks 3)', data: 'gaussianRing(radius 2, std 0.1)', results };
console.log(JSON.stringify(out));
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(out, null, 1)}\n`);
console.log('\n| backend | modes | train (s) | sampler | steps | SWD | SWD fresh data (floor) | SWD N(0, I) | sampling (s) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const s of r.samplers) {
    console.log(`| ${r.backend} | ${r.modes} | ${r.trainSeconds.toFixed(1)} | ${s.sampler} | ${s.steps} | ${s.swd.toFixed(4)} | ${r.floorSwd.toFixed(4)} | ${r.noiseSwd.toFixed(4)} | ${s.seconds.toFixed(2)} |`);
  }
}
