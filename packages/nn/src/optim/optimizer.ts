import { FormatError, InvalidArgumentError, tf, type Scalar, type Tensor, type Variable } from '@nutshell/core';
import { clipGradNorm, clipGradValue, disposeGrads, gradOf, valueAndGrads, type Gradients } from '../gradients.js';
import { Module, type Parameter } from '../module.js';

/** Options every optimizer understands (per group or as defaults). */
export interface BaseGroupOptions {
  lr?: number;
  weightDecay?: number;
  /** Multiplies the group's lr (e.g. 0.1 for a pretrained backbone). */
  lrMultiplier?: number;
  /** Skip this group entirely. */
  frozen?: boolean;
}

export interface ParamGroupSpec<O> {
  params: Parameter[] | Module;
  options?: Partial<O> & BaseGroupOptions;
}

export interface ParamGroup<O> {
  params: Parameter[];
  /** Current learning rate (schedules set it); the step uses lr · lrMultiplier. */
  lr: number;
  /** The lr the group started with; schedules scale this. */
  initialLr: number;
  weightDecay: number;
  lrMultiplier: number;
  frozen: boolean;
  options: O;
}

export type ParamsArg<O> = Parameter[] | Module | ParamGroupSpec<O>[];

export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  meta: {
    optimizer: string;
    steps: number;
    groups: { lr: number; initialLr: number; weightDecay: number; lrMultiplier: number; frozen: boolean; options: Record<string, unknown>; params: number[] }[];
    scalars: Record<string, Record<string, number>>;
  };
}

/** Per-parameter optimizer state: tensors (moments) and numbers (step counts). */
export interface ParamState {
  tensors: Record<string, Tensor>;
  scalars: Record<string, number>;
}

export interface StepOptions {
  /** Clip the gradients' global L2 norm to this before stepping. */
  maxGradNorm?: number;
  /** Clamp each gradient element to ±clipValue before stepping. */
  clipValue?: number;
}

/**
 * Base of all optimizers: parameter groups, state per parameter, clipping, state dicts. `step`
 * takes gradients (from valueAndGrads or tf.variableGrads) and updates variables in place with
 * PyTorch's update rules; it does not dispose the gradients it is given.
 */
export abstract class Optimizer<O extends object = object> {
  readonly groups: ParamGroup<O>[] = [];
  /** Number of `step` calls so far. */
  steps = 0;
  protected readonly state = new Map<Variable, ParamState>();
  abstract readonly name: string;

  constructor(params: ParamsArg<O>, defaults: O & BaseGroupOptions, readonly stepDefaults: StepOptions = {}) {
    const specs: ParamGroupSpec<O>[] = Array.isArray(params) && params.length > 0 && 'params' in (params[0] as object)
      ? (params as ParamGroupSpec<O>[])
      : [{ params: params as Parameter[] | Module }];
    const seen = new Set<Variable>();
    for (const spec of specs) {
      const list = spec.params instanceof Module ? spec.params.parameters() : spec.params;
      if (!Array.isArray(list)) throw new InvalidArgumentError(`${this.constructor.name}: params must be an array of parameters or a Module`);
      for (const p of list) {
        if (seen.has(p)) throw new InvalidArgumentError(`${this.constructor.name}: a parameter appears in more than one group`);
        seen.add(p);
      }
      const o = { ...defaults, ...spec.options } as O & BaseGroupOptions;
      const lr = o.lr ?? 1e-3;
      if (!(lr >= 0)) throw new InvalidArgumentError(`${this.constructor.name}: lr must be ≥ 0, got ${lr}`);
      const { lr: _l, weightDecay, lrMultiplier, frozen, ...rest } = o;
      this.groups.push({ params: [...list], lr, initialLr: lr, weightDecay: weightDecay ?? 0, lrMultiplier: lrMultiplier ?? 1, frozen: frozen ?? false, options: rest as O });
    }
    if (this.groups.every((g) => g.params.length === 0)) throw new InvalidArgumentError(`${this.constructor.name}: got an empty parameter list`);
  }

  /** Updates one parameter in place (inside a tidy); returns the new state tensors to keep. */
  protected abstract update(p: Variable, g: Tensor, state: ParamState, group: ParamGroup<O>, lr: number): void;

  /** Applies one update from `grads`; parameters without a gradient (or frozen) are skipped. */
  step(grads: Gradients, options: StepOptions = {}): void {
    const o = { ...this.stepDefaults, ...options };
    let use = new Map<Variable, Tensor>();
    for (const g of this.groups) for (const p of g.params) {
      const t = gradOf(grads, p);
      if (t) use.set(p, t);
    }
    const owned: Map<Variable, Tensor>[] = [];
    if (o.clipValue !== undefined) owned.push((use = clipGradValue(use, o.clipValue)));
    if (o.maxGradNorm !== undefined) owned.push((use = clipGradNorm(use, o.maxGradNorm).grads));
    try {
      for (const group of this.groups) {
        if (group.frozen) continue;
        const lr = group.lr * group.lrMultiplier;
        for (const p of group.params) {
          const g = use.get(p);
          if (!g || !p.trainable) continue;
          if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
            throw new InvalidArgumentError(`${this.name}: gradient of shape [${g.shape.join(', ')}] for a parameter of shape [${p.shape.join(', ')}]`);
          }
          let st = this.state.get(p);
          if (!st) this.state.set(p, (st = { tensors: {}, scalars: {} }));
          const before = { ...st.tensors };
          tf.tidy(() => {
            this.update(p, g, st!, group, lr);
            for (const t of Object.values(st!.tensors)) tf.keep(t);
          });
          for (const [k, t] of Object.entries(before)) if (st.tensors[k] !== t && !t.isDisposed) t.dispose();
        }
      }
      this.steps++;
    } finally {
      owned.forEach(disposeGrads);
    }
  }

  /**
   * Computes the loss and its gradients, steps, frees the gradients, and returns the loss value
   * (a number, so nothing is left to dispose).
   */
  minimize(lossFn: () => Tensor, options: StepOptions = {}): number {
    const params = this.groups.filter((g) => !g.frozen).flatMap((g) => g.params);
    const { value, grads } = valueAndGrads(lossFn, params);
    try {
      this.step(grads, options);
      return value.dataSync()[0]!;
    } finally {
      value.dispose();
      disposeGrads(grads);
    }
  }

  /** Sets every group's lr (keeping initialLr). */
  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  /** All parameters in group order (the indices used by state dicts). */
  private paramOrder(): Variable[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * Optimizer state in PyTorch's shape: tensors keyed `state.<paramIndex>.<name>` (copies the
   * caller owns) and JSON metadata (groups with their lr and options, step counts).
   */
  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const scalars: Record<string, Record<string, number>> = {};
    const order = this.paramOrder();
    order.forEach((p, i) => {
      const st = this.state.get(p);
      if (!st) return;
      for (const [k, t] of Object.entries(st.tensors)) tensors[`state.${i}.${k}`] = tf.clone(t);
      scalars[i] = { ...st.scalars };
    });
    let idx = 0;
    const groups = this.groups.map((g) => ({
      lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay, lrMultiplier: g.lrMultiplier, frozen: g.frozen,
      options: { ...(g.options as Record<string, unknown>) },
      params: g.params.map(() => idx++),
    }));
    return { tensors, meta: { optimizer: this.name, steps: this.steps, groups, scalars } };
  }

  /** Restores state saved by `stateDict` into an optimizer over parameters of the same shapes. */
  loadStateDict(dict: OptimizerStateDict): void {
    const { meta, tensors } = dict;
    if (!meta || meta.optimizer !== this.name) throw new FormatError('optimizer state', `expected state of ${this.name}, got ${meta?.optimizer ?? 'none'}`);
    if (meta.groups.length !== this.groups.length || meta.groups.some((g, i) => g.params.length !== this.groups[i]!.params.length)) {
      throw new FormatError('optimizer state', `group sizes differ: saved [${meta.groups.map((g) => g.params.length).join(', ')}], optimizer has [${this.groups.map((g) => g.params.length).join(', ')}]`);
    }
    const order = this.paramOrder();
    const fresh = new Map<Variable, ParamState>();
    for (const [key, t] of Object.entries(tensors)) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      const p = m ? order[Number(m[1])] : undefined;
      if (!m || !p) throw new FormatError('optimizer state', `unexpected key ${key}`);
      const st = fresh.get(p) ?? { tensors: {}, scalars: {} };
      st.tensors[m[2]!] = tf.clone(t);
      fresh.set(p, st);
    }
    for (const [i, sc] of Object.entries(meta.scalars)) {
      const p = order[Number(i)];
      if (!p) throw new FormatError('optimizer state', `scalar state for parameter ${i}, which does not exist`);
      const st = fresh.get(p) ?? { tensors: {}, scalars: {} };
      st.scalars = { ...sc };
      fresh.set(p, st);
    }
    this.disposeState();
    for (const [p, st] of fresh) this.state.set(p, st);
    meta.groups.forEach((g, i) => {
      const own = this.groups[i]!;
      Object.assign(own, { lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay, lrMultiplier: g.lrMultiplier, frozen: g.frozen });
      own.options = { ...(own.options as object), ...g.options } as O;
    });
    this.steps = meta.steps;
  }

  private disposeState(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.tensors)) if (!t.isDisposed) t.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    this.disposeState();
  }
}

export type { Scalar };
