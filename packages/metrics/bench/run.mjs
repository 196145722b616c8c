// Timing of the pure-JS float64 metrics (no backend involved; single-threaded):
//   node packages/metrics/bench/run.mjs [fidN] [fidD] [--methods cholesky,eigen] [--skip-bleu]
// FID time is split into the covariance accumulation (two N×d sets) and the square-root trace part,
// and extrapolated to N = 10,000 (the covariance part is linear in N; the rest does not depend on N).
import { Rng } from '@nutshell/core';
import { corpusBleu, covariance, colMeans, frechetDistance } from '@nutshell/metrics';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const methods = (flag('methods') ?? 'cholesky,eigen').split(',');
const skipBleu = argv.includes('--skip-bleu');
const [nArg, dArg] = argv.filter((a) => !a.startsWith('--'));
const rng = new Rng(1);
if (!skipBleu) {
  const words = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`);
  const sentence = () => Array.from({ length: 5 + rng.int(25) }, () => words[rng.int(words.length)]).join(' ') + '.';
  const hyps = Array.from({ length: 10_000 }, sentence);
  const refs = [Array.from({ length: 10_000 }, sentence)];
  const t = performance.now();
  const bleu = corpusBleu(hyps, refs);
  console.log(`BLEU, 10k sentences: ${((performance.now() - t) / 1000).toFixed(2)} s (score ${bleu.score.toFixed(2)})`);
}

const n = Number(nArg ?? 2000);
const d = Number(dArg ?? 256);
// Correlated features (a random mixing of d normals) so the covariances are not near-diagonal.
const mix = Float64Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
const mk = (shift) => {
  const z = new Float64Array(d);
  const data = new Float64Array(n * d);
  for (let s = 0; s < n; s++) {
    for (let k = 0; k < d; k++) z[k] = rng.normal(shift, 1);
    for (let i = 0; i < d; i++) {
      let v = 0;
      for (let k = 0; k < d; k++) v += mix[i * d + k] * z[k];
      data[s * d + i] = Math.max(v, 0); // ReLU-like, as pool3 features are non-negative
    }
  }
  return { rows: n, cols: d, data };
};
const a = mk(0);
const b = mk(0.1);
// Wall time and this process's CPU time (the two differ on a shared, loaded machine).
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let t = performance.now();
let c = cpu();
const sa = { mu: colMeans(a), sigma: covariance(a), dim: d };
const sb = { mu: colMeans(b), sigma: covariance(b), dim: d };
const covSeconds = (performance.now() - t) / 1000;
const covCpu = cpu() - c;
const results = { n, d, covarianceSeconds: +covSeconds.toFixed(2), covarianceCpuSeconds: +covCpu.toFixed(2) };
for (const method of methods) {
  t = performance.now();
  c = cpu();
  const value = frechetDistance(sa, sb, { method });
  const s = (performance.now() - t) / 1000;
  const sc = cpu() - c;
  results[method] = {
    value, sqrtTraceSeconds: +s.toFixed(2), sqrtTraceCpuSeconds: +sc.toFixed(2), totalSeconds: +(covSeconds + s).toFixed(2),
    extrapolated10kSeconds: +((covSeconds * 10_000) / n + s).toFixed(1), extrapolated10kCpuSeconds: +((covCpu * 10_000) / n + sc).toFixed(1),
  };
}
console.log(`FID ${n}×${d}: ${JSON.stringify(results, null, 2)}`);
