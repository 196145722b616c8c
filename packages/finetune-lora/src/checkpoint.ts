import { InvalidArgumentError, tf, type Tensor, type Variable } from '@nutshell/core';
import type { Module } from '@nutshell/nn';
import { matchesPattern, walkModules } from './targets.js';

type Forward = (...args: unknown[]) => unknown;
/** What a checkpointed forward may return: a tensor, an array of tensors or an object of tensors. */
type OutputSpec = { kind: 'tensor' } | { kind: 'array' | 'object'; keys: string[]; shapes: number[][] };

/** Original forwards of the modules whose forward is checkpointed now. */
const originals = new WeakMap<Module, Forward>();

export interface GradientCheckpointingOptions {
  /**
   * Which modules recompute their forward during backward: a regex matching the whole module path, a
   * list of names (a path equal to one or ending in `.name`, like target_modules), or a predicate.
   * Typically the transformer blocks: `'transformer\\.h\\.\\d+'`.
   */
  modules: string | string[] | ((path: string, module: Module) => boolean);
}

/**
 * Gradient checkpointing (Chen et al. 2016; PyTorch's torch.utils.checkpoint, Hugging Face's
 * `gradient_checkpointing_enable`): each matched module's forward runs inside a custom-gradient op
 * that keeps only its inputs, not its activations; the backward pass re-runs the forward to get
 * them, trading one extra forward for activation memory. Dropout counters are rewound for the
 * re-run, so the masks (and gradients) are those of the original pass. Without gradient recording
 * (inference) the forward runs unchanged. Returns the checkpointed paths; typed error when nothing
 * matches. Top-level tensor arguments and the module's own trainable parameters get gradients;
 * tensors nested in other arguments and variables owned elsewhere are constants to it. Outputs must
 * be float tensors (one, an array, or a flat object of them).
 */
export function enableGradientCheckpointing(model: Module, options: GradientCheckpointingOptions): string[] {
  const sel = options.modules;
  const hit = (p: string, m: Module) => (typeof sel === 'function' ? sel(p, m) : matchesPattern(sel, p));
  const chosen = walkModules(model).filter(([p, m]) => hit(p, m));
  if (!chosen.length) throw new InvalidArgumentError(`enableGradientCheckpointing: modules ${typeof sel === 'function' ? '(predicate)' : JSON.stringify(sel)} matched no module`);
  // Nested checkpoints would recompute the inner module twice for nothing: keep the outermost.
  const paths = chosen.map(([p]) => p);
  const outer = chosen.filter(([p]) => !paths.some((q) => q !== p && p.startsWith(`${q}.`)));
  for (const [, m] of outer) {
    if (originals.has(m)) continue;
    const fwd = m.forward as Forward;
    originals.set(m, fwd);
    // An own property shadows the class's forward; disabling deletes it again.
    (m as { forward: Forward }).forward = (...args: unknown[]) => checkpointed(m, fwd, args);
  }
  return outer.map(([p]) => p);
}

/** Restores the plain forward of every checkpointed module under `model`. */
export function disableGradientCheckpointing(model: Module): void {
  for (const m of model.modules()) {
    if (!originals.has(m)) continue;
    delete (m as { forward?: Forward }).forward;
    originals.delete(m);
  }
}

/** Whether `m`'s forward is checkpointed. */
export function isGradientCheckpointed(m: Module): boolean {
  return originals.has(m);
}

interface EngineState {
  gradientDepth: number;
  kernelDepth: number;
  activeTape: unknown[] | null;
}
interface EngineLike {
  state: EngineState;
  gradients(f: () => Tensor, xs: Tensor[], dy?: Tensor, allowNoGradients?: boolean): { value: Tensor; grads: (Tensor | null)[] };
}

/** Runs `fwd` as one custom-gradient op whose backward recomputes it. */
function checkpointed(module: Module, fwd: Forward, args: unknown[]): unknown {
  const engine = tf.engine() as unknown as EngineLike;
  // Not recording (inference, or inside another op's forward): nothing to save, run as is.
  if (engine.state.gradientDepth === 0 || engine.state.kernelDepth > 0) return fwd.apply(module, args);
  const slots = args.flatMap((a, i) => (a instanceof tf.Tensor ? [i] : []));
  const inputs = slots.map((i) => args[i] as Tensor);
  const params: Variable[] = module.parameters({ trainableOnly: true });
  if (!params.length && !inputs.some((t) => t.dtype === 'float32')) return fwd.apply(module, args);
  const run = (ts: Tensor[]) => {
    const a = args.slice();
    slots.forEach((slot, j) => (a[slot] = ts[j]));
    return fwd.apply(module, a);
  };
  const stateBefore = module.extraState();
  let spec: OutputSpec | null = null;
  const op = tf.customGrad(((...xs: unknown[]) => {
    const save = xs.pop() as (ts: Tensor[]) => void;
    const ts = (xs as Tensor[]).slice(0, inputs.length);
    const packed = pack(run(ts));
    spec = packed.spec;
    save(ts);
    return {
      value: packed.value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const now = module.extraState();
        module.loadExtraState(stateBefore); // same dropout masks as the recorded pass
        try {
          return recompute(engine, () => pack(run(saved)).value, saved, params, dy);
        } finally {
          module.loadExtraState(now);
        }
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const value = op(...inputs, ...params);
  return unpack(value, spec!);
}

/**
 * Gradients of the recomputed forward with respect to the saved inputs and the parameters. The
 * outer backward pass is still walking its tape: tfjs' gradients() would start (and then clear) the
 * one shared tape, so the outer tape is set aside and put back.
 */
function recompute(engine: EngineLike, f: () => Tensor, saved: Tensor[], params: Variable[], dy: Tensor): Tensor[] {
  const state = engine.state;
  const outerTape = state.activeTape;
  const nested = state.gradientDepth > 0; // higher-order gradients share the tape: leave it
  const float = saved.filter((t) => t.dtype === 'float32');
  try {
    const { value, grads } = engine.gradients(f, [...float, ...params], dy, true);
    value.dispose();
    let k = 0;
    const inGrads = saved.map((t) => (t.dtype === 'float32' ? grads[k++] ?? tf.zerosLike(t) : tf.zeros(t.shape)));
    const pGrads = params.map((p, i) => grads[float.length + i] ?? tf.zerosLike(p));
    return [...inGrads, ...pGrads];
  } finally {
    if (!nested) state.activeTape = outerTape;
  }
}

/** Packs a forward's output into one float tensor (a flat concatenation when there are several). */
function pack(out: unknown): { value: Tensor; spec: OutputSpec } {
  if (out instanceof tf.Tensor) {
    checkFloat(out, 'output');
    return { value: out, spec: { kind: 'tensor' } };
  }
  const isArray = Array.isArray(out);
  if (!out || typeof out !== 'object') throw new InvalidArgumentError(`gradient checkpointing: the forward must return tensors, got ${String(out)}`);
  const entries = isArray ? (out as unknown[]).map((v, i) => [String(i), v] as const) : Object.entries(out as Record<string, unknown>);
  const tensors = entries.map(([k, v]) => {
    if (!(v instanceof tf.Tensor)) throw new InvalidArgumentError(`gradient checkpointing: output '${k}' is not a tensor`);
    checkFloat(v, `output '${k}'`);
    return v;
  });
  const value = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  tf.dispose(tensors);
  return { value, spec: { kind: isArray ? 'array' : 'object', keys: entries.map(([k]) => k), shapes: tensors.map((t) => t.shape) } };
}

function checkFloat(t: Tensor, what: string): void {
  if (t.dtype !== 'float32') throw new InvalidArgumentError(`gradient checkpointing: ${what} is ${t.dtype}; only float32 outputs can be checkpointed`);
}

function unpack(value: Tensor, spec: OutputSpec): unknown {
  if (spec.kind === 'tensor') return value;
  // split's gradient is a concat of the dys and saves nothing (slice would keep the packed tensor).
  const parts = tf.tidy(() => tf.split(value, spec.shapes.map((s) => s.reduce((a, b) => a * b, 1))).map((t, i) => tf.reshape(t, spec.shapes[i]!)));
  value.dispose();
  if (spec.kind === 'array') return parts;
  return Object.fromEntries(spec.keys.map((k, i) => [k, parts[i]]));
}
