import { Rng, tf, useBackend, type BackendPlugin } from '@nutshell/core';
import { parityCases, size, type InputSpec, type ParityCase } from './cases.js';
import { compareArrays } from './compare.js';
import { probeBackend } from './backends.js';

export type ParityCheck = 'forward' | 'gradient';

export interface ParityRow {
  backend: string;
  op: string;
  check: ParityCheck;
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  atol: number;
  rtol: number;
  /** Where it failed: the worst element, a shape mismatch or the error thrown. */
  detail?: string;
}

export interface ParityTable {
  reference: string;
  rows: ParityRow[];
  /** Backends asked for that could not run, with the reason. */
  unavailable: { backend: string; reason: string }[];
}

export interface ParityOptions {
  /** Which ops to run: a substring, a RegExp or a predicate on the op name. */
  filter?: string | RegExp | ((name: string) => boolean);
  /** Seed for the generated inputs (default 'nutshell-parity'). */
  seed?: string | number;
}

/** Keys `${op}|${check}` of the rows a run produces for these cases, in order. */
export function parityChecks(filter?: ParityOptions['filter']): { op: string; check: ParityCheck }[] {
  return selectCases(filter).flatMap((c) => [
    { op: c.name, check: 'forward' as const },
    ...(c.grad ? [{ op: c.name, check: 'gradient' as const }] : []),
  ]);
}

function selectCases(filter: ParityOptions['filter']): ParityCase[] {
  if (filter === undefined) return parityCases;
  const keep =
    typeof filter === 'function' ? filter : typeof filter === 'string' ? (n: string) => n.includes(filter) : (n: string) => filter.test(n);
  return parityCases.filter((c) => keep(c.name));
}

interface Outputs {
  shapes: number[][];
  values: (Float32Array | Int32Array | Uint8Array)[];
}

function toTensors(specs: InputSpec[]): tf.Tensor[] {
  return specs.map((s) => tf.tensor(s.values, s.shape, s.dtype));
}

async function read(ts: tf.Tensor[]): Promise<Outputs> {
  const values = [];
  for (const t of ts) values.push((await t.data()) as Float32Array | Int32Array | Uint8Array);
  return { shapes: ts.map((t) => t.shape), values };
}

const asList = (out: tf.Tensor | tf.Tensor[]) => (Array.isArray(out) ? out : [out]);

async function forward(c: ParityCase, specs: InputSpec[]): Promise<Outputs> {
  const inputs = toTensors(specs);
  try {
    const out = tf.tidy(() => asList(c.fn(...inputs)));
    try {
      return await read(out);
    } finally {
      tf.dispose(out);
    }
  } finally {
    tf.dispose(inputs);
  }
}

/**
 * Gradients of L = Σ_k Σ(out_k ⊙ W_k) with respect to every float input; the weights W_k are
 * seeded, so a gradient that sums to something trivial (softmax's Σ = 1) is still checked.
 */
async function gradient(c: ParityCase, specs: InputSpec[], outShapes: number[][], seed: string): Promise<Outputs> {
  const inputs = toTensors(specs);
  const floatIdx = specs.flatMap((s, i) => (s.dtype === 'float32' ? [i] : []));
  const wr = new Rng(`${seed}/weights/${c.name}`);
  const weights = outShapes.map((shape) => tf.tensor(Float32Array.from({ length: size(shape) }, () => wr.normal()), shape));
  try {
    const grads = tf.tidy(() => {
      const loss = (...xs: tf.Tensor[]) => {
        const all = inputs.slice();
        floatIdx.forEach((idx, j) => (all[idx] = xs[j]!));
        const outs = asList(c.fn(...all));
        return outs.map((o, k) => tf.sum(tf.mul(o, weights[k]!))).reduce((a, b) => tf.add(a, b)) as tf.Scalar;
      };
      return tf.grads(loss)(floatIdx.map((i) => inputs[i]!));
    });
    try {
      return await read(grads);
    } finally {
      tf.dispose(grads);
    }
  } finally {
    tf.dispose([...inputs, ...weights]);
  }
}

function compareOutputs(got: Outputs, want: Outputs, atol: number, rtol: number) {
  if (got.shapes.length !== want.shapes.length) return { ok: false, maxAbsError: Infinity, maxRelError: Infinity, detail: `${got.shapes.length} outputs, reference has ${want.shapes.length}` };
  let maxAbsError = 0;
  let maxRelError = 0;
  let ok = true;
  let detail: string | undefined;
  for (let k = 0; k < want.shapes.length; k++) {
    if (got.shapes[k]!.join() !== want.shapes[k]!.join()) {
      return { ok: false, maxAbsError: Infinity, maxRelError: Infinity, detail: `output ${k} has shape [${got.shapes[k]}], reference [${want.shapes[k]}]` };
    }
    const cmp = compareArrays(got.values[k]!, want.values[k]!, atol, rtol);
    maxAbsError = Math.max(maxAbsError, cmp.maxAbsError);
    maxRelError = Math.max(maxRelError, cmp.maxRelError);
    if (!cmp.ok) {
      ok = false;
      detail ??= cmp.message ?? `output ${k}[${cmp.worst?.index}] = ${cmp.worst?.got}, reference ${cmp.worst?.want}`;
    }
  }
  return { ok, maxAbsError, maxRelError, detail };
}

type Computed = { forward?: Outputs; gradient?: Outputs; forwardError?: string; gradientError?: string };
type Reference = Map<string, Computed>;

const message = (err: unknown) => (err as Error)?.message ?? String(err);

async function computeAll(cases: ParityCase[], seed: string, shapesFrom?: Reference): Promise<Reference> {
  const out: Reference = new Map();
  for (const c of cases) {
    const specs = c.inputs(new Rng(`${seed}/${c.name}`));
    const entry: Computed = {};
    try {
      entry.forward = await forward(c, specs);
    } catch (err) {
      entry.forwardError = message(err);
    }
    if (c.grad) {
      const shapes = shapesFrom?.get(c.name)?.forward?.shapes ?? entry.forward?.shapes;
      if (!shapes) entry.gradientError = 'no output shapes (forward failed)';
      else {
        try {
          entry.gradient = await gradient(c, specs, shapes, seed);
        } catch (err) {
          entry.gradientError = message(err);
        }
      }
    }
    out.set(c.name, entry);
  }
  return out;
}

/**
 * Runs the op table on each backend and compares it with tfjs 'cpu'. Backends are names
 * ('wasm', 'native', 'webgpu') or plugins; unavailable ones are listed, not thrown.
 */
export async function runParity(backends: (string | BackendPlugin)[], options: ParityOptions = {}): Promise<ParityTable> {
  const seed = String(options.seed ?? 'nutshell-parity');
  const cases = selectCases(options.filter);
  const previous = tf.getBackend();
  const table: ParityTable = { reference: 'cpu', rows: [], unavailable: [] };
  try {
    await useBackend('cpu');
    const reference = await computeAll(cases, seed);
    for (const b of backends) {
      const name = typeof b === 'string' ? b : b.name;
      let plugin: BackendPlugin | undefined = typeof b === 'string' ? undefined : b;
      if (!plugin) {
        const probe = await probeBackend(name);
        if (!probe.available || !probe.plugin) {
          table.unavailable.push({ backend: name, reason: probe.reason });
          continue;
        }
        plugin = probe.plugin;
      }
      try {
        await useBackend(plugin);
      } catch (err) {
        table.unavailable.push({ backend: name, reason: (err as Error).message });
        continue;
      }
      const results = await computeAll(cases, seed, reference);
      for (const c of cases) {
        const want = reference.get(c.name)!;
        const got = results.get(c.name)!;
        const checks: [ParityCheck, number, number][] = [['forward', c.atol, c.rtol]];
        if (c.grad) {
          const g = typeof c.grad === 'object' ? c.grad : { atol: c.atol, rtol: c.rtol };
          checks.push(['gradient', g.atol, g.rtol]);
        }
        for (const [check, atol, rtol] of checks) {
          const row: ParityRow = { backend: name, op: c.name, check, ok: false, maxAbsError: NaN, maxRelError: NaN, atol, rtol };
          const wantError = check === 'forward' ? want.forwardError : want.gradientError;
          const gotError = check === 'forward' ? got.forwardError : got.gradientError;
          if (wantError) row.detail = `reference (cpu) failed: ${wantError}`;
          else if (gotError) row.detail = `threw: ${gotError}`;
          else Object.assign(row, compareOutputs(got[check]!, want[check]!, atol, rtol));
          table.rows.push(row);
        }
      }
    }
  } finally {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
  return table;
}
