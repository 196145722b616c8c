// Membership-inference benchmark: a candidate pool of MNIST digits (downsampled to 14×14 so the
// shadow models train in seconds), a target trained on a random half of the pool until it overfits,
// S shadow models trained on balanced random halves, then the loss-threshold attack and LiRA
// (online and offline). The same attacks run against a DP-SGD-trained target on the same members,
// once with the non-private shadows (mismatched) and once through membershipAudit with shadows
// trained by the target's own DP-SGD recipe (matched), reporting every shadow's ε.
//   node packages/ethics-audit/bench/mia.mjs [--pool 1000] [--shadows 8] [--epochs 60]
//        [--dp-epochs 20] [--sigma 1] [--clip 1] [--backend wasm|cpu] [--json out.json]
// Prints one JSON object, then a table (AUC, TPR at 0.1% and 1% FPR per attack and target).
import { writeFileSync } from 'node:fs';
import { Rng, tf, useBackend } from '@nutshell/core';
import { loadMnist } from '@nutshell/datasets';
import { Adam, DataLoader, MLP, SGD, crossEntropy } from '@nutshell/nn';
import { classifierSignals, evaluateMembership, makePrivate, membershipAudit, shadowStatistics } from '@nutshell/ethics-audit';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean));
const pool = Number(args.pool ?? 1000);
const numShadows = Number(args.shadows ?? 8);
const epochs = Number(args.epochs ?? 60);
const dpEpochs = Number(args['dp-epochs'] ?? 20);
const sigma = Number(args.sigma ?? 1);
const clip = Number(args.clip ?? 1);
const backend = args.backend ?? 'wasm';

try {
  if (backend === 'cpu') await useBackend('cpu');
  else await useBackend((await import(`@nutshell/backend-${backend}`)).default);
} catch (e) {
  console.error(`backend ${backend} unavailable (${e.message}); using cpu`);
  await useBackend('cpu');
}

const t0 = performance.now();
const mnist = await loadMnist({ seed: 0 });
const rng = new Rng('mia-bench');
const chosen = rng.permutation(mnist.train.length).slice(0, pool);
const X = tf.tidy(() => {
  const all = tf.tensor4d(mnist.train.x, [mnist.train.length, 28, 28, 1]);
  const sub = tf.gather(all, tf.tensor1d(chosen, 'int32'));
  return tf.reshape(tf.avgPool(sub, 2, 2, 'valid'), [pool, 196]);
});
const labels = chosen.map((i) => mnist.train.y[i]);
const Y = tf.tensor1d(labels, 'int32');

function subset(members) {
  const idx = tf.tensor1d(members, 'int32');
  const out = [tf.gather(X, idx), tf.gather(Y, idx)];
  idx.dispose();
  return out;
}
const free = (m) => m.parameters().forEach((p) => p.dispose());

function trainOverfit(members, seed) {
  const model = new MLP({ sizes: [196, 256, 10], seed });
  const opt = new Adam(model, { lr: 1e-3 });
  const data = subset(members);
  const loader = new DataLoader(data, { batchSize: 100, shuffle: true, seed });
  for (let e = 0; e < epochs; e++) {
    for (const [x, y] of loader) {
      opt.minimize(() => crossEntropy(model.forward(x), y));
      tf.dispose([x, y]);
    }
  }
  tf.dispose(data);
  opt.dispose();
  return model;
}

function testAccuracy(model) {
  const pred = tf.tidy(() => tf.argMax(model.forward(X), 1));
  const p = pred.dataSync();
  pred.dispose();
  let inOk = 0, outOk = 0;
  for (let i = 0; i < pool; i++) (isMember[i] ? (inOk += p[i] === labels[i] ? 1 : 0) : (outOk += p[i] === labels[i] ? 1 : 0));
  return { trainAccuracy: inOk / (pool / 2), heldOutAccuracy: outOk / (pool / 2) };
}

const targetMembers = rng.permutation(pool).slice(0, pool / 2);
const isMember = Array.from({ length: pool }, () => false);
for (const i of targetMembers) isMember[i] = true;

const target = trainOverfit(targetMembers, 1000);
const targetSignals = classifierSignals(target, X, Y);
const targetAcc = testAccuracy(target);
console.error(`target trained (${((performance.now() - t0) / 1000).toFixed(1)} s): ${JSON.stringify(targetAcc)}`);

const shadows = await shadowStatistics({
  numExamples: pool, numShadows, seed: 'shadows',
  trainAndScore(members, s) {
    const m = trainOverfit(members, s);
    const { phi } = classifierSignals(m, X, Y);
    free(m);
    console.error(`shadow ${s + 1}/${numShadows} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return phi;
  },
});
const overfit = evaluateMembership({ isMember, target: targetSignals, shadows });

const dpModel = new MLP({ sizes: [196, 256, 10], seed: 1000 });
const dpData = subset(targetMembers);
const dp = makePrivate(dpModel, new SGD(dpModel, { lr: 0.5, momentum: 0.9 }), new DataLoader(dpData, { batchSize: 50 }), { noiseMultiplier: sigma, maxGradNorm: clip, delta: 1e-5, seed: 0 });
dp.fit((m, [x, y]) => crossEntropy(m.forward(x), y, { reduction: 'none' }), { epochs: dpEpochs });
const dpAcc = testAccuracy(dpModel);
const dpEval = evaluateMembership({ isMember, target: classifierSignals(dpModel, X, Y), shadows });
console.error(`dp target trained: ε = ${dp.getEpsilon().toFixed(2)} ${JSON.stringify(dpAcc)}`);

// Matched shadows: the same DP-SGD recipe as the target (σ, C, batch, epochs, optimizer).
const dpRecipe = {
  createModel: (seed) => new MLP({ sizes: [196, 256, 10], seed }),
  createOptimizer: (m) => new SGD(m, { lr: 0.5, momentum: 0.9 }),
  epochs: dpEpochs, batchSize: 50, dp: { noiseMultiplier: sigma, maxGradNorm: clip, delta: 1e-5 },
};
const matched = await membershipAudit({
  x: X, y: Y, targetMembers, recipe: dpRecipe, target: { model: dpModel, privacy: dp }, numShadows, seed: 1,
  onShadow: (s, p) => console.error(`dp shadow ${s + 1}/${numShadows}: ε = ${p.epsilon.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`),
});

const pick = (r) => ({ auc: r.auc, tpr_at_0_1pct_fpr: r.tpr_at_0_1pct_fpr, tpr_at_1pct_fpr: r.tpr_at_1pct_fpr });
const attacks = (e) => ({ loss: pick(e.loss), liraOnline: pick(e.liraOnline), liraOffline: pick(e.liraOffline) });
const out = {
  bench: 'mia', backend: tf.getBackend(), pool, members: pool / 2, numShadows, model: 'MLP 196-256-10 (MNIST 14×14)',
  overfit: { epochs, ...targetAcc, attacks: attacks(overfit) },
  dp: { epochs: dpEpochs, noiseMultiplier: sigma, maxGradNorm: clip, epsilon: dp.getEpsilon(), delta: 1e-5, ...dpAcc, attacks: attacks(dpEval) },
  dpMatchedShadows: { ...dpAcc, epsilon: dp.getEpsilon(), shadowEpsilons: matched.privacy.shadows.map((p) => p.epsilon), attacks: attacks(matched) },
  seconds: (performance.now() - t0) / 1000,
  note: 'dp: LiRA with the non-private shadows (mismatched); dpMatchedShadows: LiRA with shadows trained by the same DP-SGD recipe; the loss attack needs no shadows',
};
console.log(JSON.stringify(out));
if (args.json) writeFileSync(args.json, JSON.stringify(out, null, 2));
console.log('\n| target | train / held-out acc | attack | AUC | TPR @ 0.1% FPR | TPR @ 1% FPR |\n|---|---|---|---|---|---|');
for (const [name, t] of [['overfit', out.overfit], [`DP-SGD (ε = ${out.dp.epsilon.toFixed(2)}), non-DP shadows`, out.dp], [`DP-SGD (ε = ${out.dp.epsilon.toFixed(2)}), DP shadows`, out.dpMatchedShadows]]) {
  for (const [a, r] of Object.entries(t.attacks)) {
    console.log(`| ${name} | ${(100 * t.trainAccuracy).toFixed(1)}% / ${(100 * t.heldOutAccuracy).toFixed(1)}% | ${a} | ${r.auc.toFixed(3)} | ${(100 * r.tpr_at_0_1pct_fpr).toFixed(2)}% | ${(100 * r.tpr_at_1pct_fpr).toFixed(2)}% |`);
  }
}
