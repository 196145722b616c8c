import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertPositiveInt, InvalidArgumentError, KNOWN_BACKEND_PACKAGES, Rng } from '@nutshell/core';
import type { CommandInput, CommandOption } from '@nutshell/core';
import { writeFileAtomic } from '@nutshell/core/node';
import { activateBackend, backendStatuses } from '../backends.js';
import { createProgress } from '../progress.js';
import { formatTable } from '../table.js';
import { benchMatmul } from './bench.js';
import { initMlp, parameterCount, trainMlp } from './mlp.js';
import type { TrainResult } from './mlp.js';
import { twoSpirals } from './spirals.js';

/**
 * `nutshell demo backends`: the matmul benchmark and the same small MLP trained on every available
 * backend, compared (this was the whole `nutshell demo` before the full pipeline).
 */

interface BackendRun extends TrainResult {
  name: string;
  gflops: number;
  stepsPerSecond: number;
}

/** Losses from different backends agree when within this fraction (or 0.02 absolute). */
const FINAL_TOLERANCE = 0.1;
const INITIAL_TOLERANCE = 1e-3;

export const BACKEND_COMPARISON_OPTIONS: CommandOption[] = [
  { name: 'steps', type: 'number', description: 'training steps per backend', default: 300 },
  { name: 'size', type: 'number', description: 'matrix size n of the matmul benchmark', default: 256 },
  { name: 'points', type: 'number', description: 'training points (the test set has as many)', default: 512 },
  { name: 'hidden', type: 'number', description: 'units in each of the two hidden layers', default: 32 },
  { name: 'lr', type: 'number', description: 'Adam learning rate', default: 0.02 },
  { name: 'backends', type: 'string', description: 'comma-separated backends to run (default: all available)' },
];

/** Throws InvalidArgumentError for bad comparison options (checked before any work starts). */
export function checkBackendComparisonOptions(options: CommandInput['options']): void {
  for (const name of ['steps', 'size', 'points', 'hidden']) assertPositiveInt(`--${name}`, options[name] as number);
  const lr = options.lr as number;
  if (!(lr > 0 && lr < 10)) throw new InvalidArgumentError(`--lr: expected a number in (0, 10), got ${lr}`);
}

export async function runBackendComparison(options: CommandInput['options'], print: (line: string) => void) {
  const steps = options.steps as number;
  const size = options.size as number;
  const points = options.points as number;
  const hidden = options.hidden as number;
  const lr = options.lr as number;
  for (const [name, value] of Object.entries({ steps, size, points, hidden })) assertPositiveInt(`--${name}`, value);
  if (!(lr > 0 && lr < 10)) throw new InvalidArgumentError(`--lr: expected a number in (0, 10), got ${lr}`);
  const seed = options.seed as number;

  const wanted = selection(options.backends as string | undefined, options.backend as string, Object.keys(KNOWN_BACKEND_PACKAGES));
  const statuses = await backendStatuses(wanted);
  const skipped: { name: string; reason: string }[] = [];
  const candidates: string[] = [];
  for (const s of statuses) {
    if (wanted && !wanted.includes(s.name)) continue;
    if (s.available) candidates.push(s.name);
    else skipped.push({ name: s.name, reason: s.reason });
  }
  // What `auto` would pick, when every backend was considered.
  const autoPick = wanted ? null : (statuses.find((s) => s.available)?.name ?? null);
  print(`backends: ${candidates.join(', ') || '(none)'} available${skipped.length ? `; skipped ${skipped.map((s) => s.name).join(', ')}` : ''}`);
  for (const s of skipped) print(`  ${s.name}: ${s.reason}`);
  if (candidates.length === 0) {
    throw new InvalidArgumentError(`no requested backend is available here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  }

  const rng = new Rng(seed);
  const train = twoSpirals(rng.fork('train'), points);
  const test = twoSpirals(rng.fork('test'), points);
  const sizes = [2, hidden, hidden, 2];
  const init = initMlp(rng.fork('init'), sizes);
  print(`task: two spirals, ${points} train / ${points} test points; MLP ${sizes.join('-')} (${parameterCount(init)} parameters), ${steps} steps of full-batch Adam (lr ${lr}), seed ${seed}`);

  const runs: BackendRun[] = [];
  for (const name of candidates) {
    try {
      await activateBackend(name);
    } catch (err) {
      skipped.push({ name, reason: `failed to start: ${(err as Error).message}` });
      print(`  ${name}: failed to start: ${(err as Error).message}`);
      continue;
    }
    const bench = await benchMatmul(size);
    const progress = createProgress({ label: `train ${name}`, total: steps });
    let lastLoss: number | undefined;
    const result = await trainMlp(init, train, test, {
      steps,
      learningRate: lr,
      every: Math.max(1, Math.floor(steps / 20)),
      onStep: (step, loss) => {
        if (loss !== undefined) lastLoss = loss;
        progress.update(step, { backend: name, loss: lastLoss });
      },
    });
    progress.done({ backend: name, loss: result.finalLoss });
    runs.push({ name, gflops: bench.gflops, stepsPerSecond: steps / result.seconds, ...result });
  }
  if (runs.length === 0) throw new InvalidArgumentError('no backend could start (see "nutshell backends")');

  const fastest = runs.reduce((best, r) => (r.gflops > best.gflops ? r : best));
  const quickest = runs.reduce((best, r) => (r.stepsPerSecond > best.stepsPerSecond ? r : best));
  const agreement = compareLosses(runs);

  print('');
  formatTable(
    ['backend', 'GFLOP/s', 'steps/s', 'initial loss', 'final loss', 'accuracy'],
    runs.map((r) => [
      r.name + (r === fastest ? ' *' : ''),
      r.gflops.toFixed(2),
      r.stepsPerSecond.toFixed(1),
      r.initialLoss.toFixed(4),
      r.finalLoss.toFixed(4),
      `${(r.accuracy * 100).toFixed(1)}%`,
    ]),
  ).forEach((l) => print(l));
  print('');
  print(agreement.message);
  if (runs.length > 1) {
    const note = quickest === fastest ? '' : '; for a model this small, per-op overhead matters more than matmul speed';
    print(`fastest training: ${quickest.name} (${quickest.stepsPerSecond.toFixed(1)} steps/s${note})`);
  }
  print(`picked: ${fastest.name} (fastest matmul ${size}×${size}: ${fastest.gflops.toFixed(2)} GFLOP/s)${autoPick ? `; "auto" picks ${autoPick} by priority` : ''}`);

  const result = {
    seed,
    steps,
    learningRate: lr,
    dataset: { name: 'two-spirals', train: points, test: points, classes: 2 },
    model: { layers: sizes, parameters: parameterCount(init), optimizer: 'adam' },
    matmulSize: size,
    backends: runs.map((r) => ({
      name: r.name,
      gflops: r.gflops,
      stepsPerSecond: r.stepsPerSecond,
      initialLoss: r.initialLoss,
      finalLoss: r.finalLoss,
      accuracy: r.accuracy,
      seconds: r.seconds,
      losses: r.losses,
    })),
    skipped,
    picked: { name: fastest.name, gflops: fastest.gflops, reason: `fastest ${size}×${size} matmul` },
    fastestTraining: { name: quickest.name, stepsPerSecond: quickest.stepsPerSecond },
    auto: autoPick,
    agreement,
  };
  if (typeof options.out === 'string') {
    await mkdir(options.out, { recursive: true });
    const file = join(options.out, 'demo.json');
    await writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
    print(`wrote ${file}`);
  }
  return result;
}

/** Backends named by --backends, or by --backend when it is not 'auto'; undefined = all. */
function selection(list: string | undefined, backend: string, known: string[]): string[] | undefined {
  const names = list !== undefined ? list.split(',').map((s) => s.trim()).filter(Boolean) : backend !== 'auto' ? [backend] : undefined;
  for (const n of names ?? []) {
    if (!known.includes(n)) throw new InvalidArgumentError(`--backends: unknown backend "${n}"; known: ${known.join(', ')}`);
  }
  return names;
}

/** Same seed, same initial weights: every backend should see (almost) the same losses. */
function compareLosses(runs: BackendRun[]) {
  const ref = runs.find((r) => r.name === 'cpu') ?? runs[0]!;
  let initialDiff = 0;
  let finalDiff = 0;
  for (const r of runs) {
    initialDiff = Math.max(initialDiff, Math.abs(r.initialLoss - ref.initialLoss) / Math.abs(ref.initialLoss));
    finalDiff = Math.max(finalDiff, Math.abs(r.finalLoss - ref.finalLoss) / Math.max(Math.abs(ref.finalLoss), 0.2));
  }
  const agree = initialDiff <= INITIAL_TOLERANCE && finalDiff <= FINAL_TOLERANCE;
  const others = runs.filter((r) => r !== ref).map((r) => r.name);
  const message =
    others.length === 0
      ? `only ${ref.name} ran, nothing to compare its losses with`
      : `losses ${agree ? 'agree' : 'DISAGREE'} across backends (reference ${ref.name}): initial loss within ${fmtPct(initialDiff)} (tolerance ${fmtPct(INITIAL_TOLERANCE)}), final loss within ${fmtPct(finalDiff)} (tolerance ${fmtPct(FINAL_TOLERANCE)})`;
  return {
    reference: ref.name,
    initialLossMaxRelDiff: initialDiff,
    finalLossMaxRelDiff: finalDiff,
    tolerance: { initial: INITIAL_TOLERANCE, final: FINAL_TOLERANCE },
    agree,
    message,
  };
}

function fmtPct(x: number): string {
  return x === 0 ? '0%' : x < 1e-4 ? `${(x * 100).toExponential(1)}%` : `${(x * 100).toFixed(2)}%`;
}
