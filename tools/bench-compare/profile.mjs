// Profiles GPT training steps (nanoGPT CPU config) on one backend: every kernel call is timed by
// wrapping the backend's registered kernel functions. Prints JSON, then a table sorted by time.
//
//   node tools/bench-compare/profile.mjs [--backend native] [--steps 6] [--top 30]
import { getKernelsForBackend, getBackendPlugins, registerBackendPlugin, useBackend, tf } from '@nutshell/core';
import { trainGpt } from '@nutshell/transformer';
import { corpusText } from './corpus.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const backend = arg('backend', 'native');
const steps = Number(arg('steps', 6));
const top = Number(arg('top', 30));

if (backend === 'wasm') await import('@nutshell/backend-wasm');
if (backend === 'native') {
  const mod = await import('@nutshell/backend-native');
  if (!getBackendPlugins().some((p) => p.name === 'native')) registerBackendPlugin(mod.default);
}
await useBackend(backend);

const stats = new Map(); // kernel → { calls, ms }
let recording = false;
for (const config of getKernelsForBackend(backend)) {
  const inner = config.kernelFunc;
  // The registry hands this same config object to the engine on every call.
  config.kernelFunc = (args) => {
    if (!recording) return inner(args);
    const t0 = performance.now();
    const out = inner(args);
    const dt = performance.now() - t0;
    const s = stats.get(config.kernelName) ?? { calls: 0, ms: 0 };
    s.calls++;
    s.ms += dt;
    stats.set(config.kernelName, s);
    return out;
  };
}

const text = await corpusText();
const stamps = [];
const r = await trainGpt({
  text, steps: steps + 1, evalEvery: 1e9, evalBatches: 1, progress: false,
  callbacks: [{ onStepEnd: () => { stamps.push(performance.now()); recording = true; } }],
});
r.model.dispose();
const stepMs = (stamps.at(-1) - stamps[0]) / steps;
const rows = [...stats.entries()].map(([k, s]) => ({ kernel: k, callsPerStep: s.calls / steps, msPerStep: s.ms / steps }));
rows.sort((a, b) => b.msPerStep - a.msPerStep);
const kernelMs = rows.reduce((a, r) => a + r.msPerStep, 0);
const calls = rows.reduce((a, r) => a + r.callsPerStep, 0);
const out = { backend, steps, msPerStep: stepMs, kernelMsPerStep: kernelMs, kernelCallsPerStep: calls, outsideKernelsMsPerStep: stepMs - kernelMs, kernels: rows };
console.log(JSON.stringify(out));
console.log(`\n${backend}: ${stepMs.toFixed(1)} ms/step, ${calls.toFixed(0)} kernel calls/step, ${kernelMs.toFixed(1)} ms in kernels, ${(stepMs - kernelMs).toFixed(1)} ms outside (dispatch, tape, JS)`);
console.log('\n| kernel | calls/step | ms/step | % of step |\n|---|---|---|---|');
for (const r of rows.slice(0, top)) console.log(`| ${r.kernel} | ${r.callsPerStep.toFixed(0)} | ${r.msPerStep.toFixed(2)} | ${((100 * r.msPerStep) / stepMs).toFixed(1)} |`);
