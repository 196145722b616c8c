import { InvalidArgumentError, NutshellError, ShapeError, tf, type Tensor, type Variable } from '@nutshell/core';

/** A trainable tensor: a tfjs Variable whose `trainable` flag is PyTorch's `requires_grad`. */
export type Parameter = Variable;

/** A key of a state dict whose shape differs from the module's tensor. */
export interface MismatchedKey {
  key: string;
  expected: number[];
  got: number[];
}

/** What `loadStateDict` did: keys the dict lacked, keys the module lacks, keys of the wrong shape. */
export interface LoadReport {
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: MismatchedKey[];
  loadedKeys: string[];
}

/** A state dict did not fit the module in strict mode; `report` lists every problem at once. */
export class StateDictError extends NutshellError {
  constructor(readonly report: LoadReport) {
    const parts: string[] = [];
    if (report.missingKeys.length) parts.push(`missing keys: ${report.missingKeys.join(', ')}`);
    if (report.unexpectedKeys.length) parts.push(`unexpected keys: ${report.unexpectedKeys.join(', ')}`);
    if (report.mismatchedKeys.length) {
      parts.push(`shape mismatches: ${report.mismatchedKeys.map((m) => `${m.key} expected [${m.expected.join(', ')}], got [${m.got.join(', ')}]`).join('; ')}`);
    }
    super('E_STATE_DICT', `loadStateDict: ${parts.join('; ')}`);
  }
}

export interface StateDictOptions {
  /** Return copies the caller owns (and must dispose) instead of the live variables. */
  clone?: boolean;
  /** Keep only trainable parameters (and no buffers). */
  trainableOnly?: boolean;
}

const NAME_RE = /^[A-Za-z_][\w]*$|^\d+$/;

/**
 * Base class of every layer and model, modelled on `torch.nn.Module`: parameters, buffers and child
 * modules are registered under names, and every tensor of the tree is addressed by its dotted path
 * (`blocks.0.attn.qkv.weight`). Parameters and buffers are tfjs Variables, so `tf.variableGrads`
 * and optimizers update them in place.
 */
export abstract class Module {
  /** Training mode (dropout on, batch statistics) vs evaluation mode. */
  training = true;
  private readonly paramsByName = new Map<string, Variable>();
  private readonly buffersByName = new Map<string, Variable>();
  private readonly nonPersistent = new Set<string>();
  private readonly modulesByName = new Map<string, Module>();

  abstract forward(...inputs: any[]): any;

  /** Registers a parameter, taking ownership of `init` (it is disposed once copied). */
  protected registerParameter(name: string, init: Tensor, requiresGrad = true): Parameter {
    this.checkName(name);
    const v = tf.variable(init, requiresGrad);
    init.dispose();
    this.paramsByName.set(name, v);
    return v;
  }

  /** Registers a buffer: state that is saved but not trained (running means, counters). */
  protected registerBuffer(name: string, init: Tensor, options: { persistent?: boolean } = {}): Variable {
    this.checkName(name);
    const v = tf.variable(init, false);
    init.dispose();
    this.buffersByName.set(name, v);
    if (options.persistent === false) this.nonPersistent.add(name);
    return v;
  }

  /** Registers a child module under `name`; returns it so constructors can assign it. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    if (!(module instanceof Module)) throw new InvalidArgumentError(`registerModule('${name}'): expected a Module, got ${String(module)}`);
    this.modulesByName.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new InvalidArgumentError(`${this.constructor.name}: a member name must be an identifier or an index without dots, got ${JSON.stringify(name)}`);
    }
    if (this.paramsByName.has(name) || this.buffersByName.has(name) || this.modulesByName.has(name)) {
      throw new InvalidArgumentError(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** Replaces a registered parameter's variable (disposing the old one), e.g. for weight tying. */
  protected replaceParameter(name: string, v: Variable): void {
    if (!this.paramsByName.has(name)) throw new InvalidArgumentError(`${this.constructor.name}: no parameter '${name}'`);
    this.paramsByName.set(name, v);
  }

  /**
   * Renames a parameter in place (same variable, new state-dict key), e.g. `weight` → `weight_orig`
   * for spectral normalisation as torch.nn.utils.spectral_norm does.
   */
  renameParameter(from: string, to: string): void {
    const v = this.paramsByName.get(from);
    if (!v) throw new InvalidArgumentError(`${this.constructor.name}: no parameter '${from}' to rename`);
    this.paramsByName.delete(from);
    try {
      this.checkName(to);
    } catch (e) {
      this.paramsByName.set(from, v);
      throw e;
    }
    this.paramsByName.set(to, v);
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.modulesByName];
  }

  children(): Module[] {
    return [...this.modulesByName.values()];
  }

  /** This module and every descendant, with dotted paths ('' for this module). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.modulesByName) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted path. A variable shared by two modules is listed once. */
  namedParameters(options: { recurse?: boolean; trainableOnly?: boolean } = {}): [string, Parameter][] {
    const seen = new Set<Variable>();
    const out: [string, Parameter][] = [];
    const mods: [string, Module][] = options.recurse === false ? [['', this]] : this.namedModules();
    for (const [path, m] of mods) {
      for (const [name, v] of m.paramsByName) {
        if (seen.has(v) || (options.trainableOnly && !v.trainable)) continue;
        seen.add(v);
        out.push([path ? `${path}.${name}` : name, v]);
      }
    }
    return out;
  }

  parameters(options: { recurse?: boolean; trainableOnly?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map(([, v]) => v);
  }

  /** Every buffer with its dotted path; `persistentOnly` leaves out buffers not saved in state dicts. */
  namedBuffers(options: { persistentOnly?: boolean } = {}): [string, Variable][] {
    const out: [string, Variable][] = [];
    for (const [path, m] of this.namedModules()) {
      for (const [name, v] of m.buffersByName) {
        if (options.persistentOnly && m.nonPersistent.has(name)) continue;
        out.push([path ? `${path}.${name}` : name, v]);
      }
    }
    return out;
  }

  buffers(): Variable[] {
    return this.namedBuffers().map(([, v]) => v);
  }

  /** The parameter at a dotted path. */
  getParameter(path: string): Parameter {
    const { owner, leaf } = this.resolve(path);
    const v = owner.paramsByName.get(leaf);
    if (!v) throw new InvalidArgumentError(`${this.constructor.name}: no parameter '${path}'`);
    return v;
  }

  getBuffer(path: string): Variable {
    const { owner, leaf } = this.resolve(path);
    const v = owner.buffersByName.get(leaf);
    if (!v) throw new InvalidArgumentError(`${this.constructor.name}: no buffer '${path}'`);
    return v;
  }

  /** The submodule at a dotted path ('' = this module). */
  getModule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m.modulesByName.get(part);
      if (!next) throw new InvalidArgumentError(`${this.constructor.name}: no submodule '${path}' (no '${part}' in ${m.constructor.name}; children: ${[...m.modulesByName.keys()].join(', ') || 'none'})`);
      m = next;
    }
    return m;
  }

  /** Replaces the submodule at a dotted path (e.g. to wrap a Linear in a LoRA adapter); returns the old one. */
  setModule(path: string, module: Module): Module {
    const { owner, leaf } = this.resolve(path);
    const old = owner.modulesByName.get(leaf);
    if (!old) throw new InvalidArgumentError(`${this.constructor.name}: no submodule '${path}' to replace`);
    owner.modulesByName.set(leaf, module);
    // Subclasses call children through fields (`this.fc.forward(x)`); point those at the new module
    // too, or the swap would only change what stateDict sees.
    const fields = owner as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const value = fields[key];
      if (value === old) fields[key] = module;
      else if (Array.isArray(value)) value.forEach((v, i) => v === old && (value[i] = module));
    }
    return old;
  }

  private resolve(path: string): { owner: Module; leaf: string } {
    const i = path.lastIndexOf('.');
    return i < 0 ? { owner: this, leaf: path } : { owner: this.getModule(path.slice(0, i)), leaf: path.slice(i + 1) };
  }

  /**
   * Parameters and persistent buffers by dotted path. By default these are the live variables
   * (like PyTorch, no copy): do not dispose them. With `clone: true` the caller owns copies.
   */
  stateDict(options: StateDictOptions = {}): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const entries: [string, Variable][] = options.trainableOnly
      ? this.namedParameters({ trainableOnly: true })
      : [...this.namedParameters(), ...this.namedBuffers({ persistentOnly: true })];
    for (const [k, v] of entries) out[k] = options.clone ? tf.clone(v) : v;
    return out;
  }

  /**
   * Copies tensors into the module's parameters and buffers by dotted path. Strict (default):
   * throws a StateDictError listing every missing, unexpected and mis-shaped key, loading nothing.
   * Non-strict: loads the keys that fit and reports the rest. Values are cast to the variable's
   * dtype; the caller keeps ownership of `dict`.
   */
  loadStateDict(dict: Record<string, Tensor> | Map<string, Tensor>, options: { strict?: boolean } = {}): LoadReport {
    const strict = options.strict ?? true;
    const given = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = new Map<string, Variable>([...this.namedParameters(), ...this.namedBuffers({ persistentOnly: true })]);
    const report: LoadReport = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [], loadedKeys: [] };
    for (const key of own.keys()) if (!given.has(key)) report.missingKeys.push(key);
    const toLoad: [Variable, Tensor, string][] = [];
    for (const [key, t] of given) {
      const v = own.get(key);
      if (!v) {
        report.unexpectedKeys.push(key);
        continue;
      }
      if (!t || !Array.isArray(t.shape)) throw new InvalidArgumentError(`loadStateDict: '${key}' is not a tensor`);
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        report.mismatchedKeys.push({ key, expected: [...v.shape], got: [...t.shape] });
        continue;
      }
      toLoad.push([v, t, key]);
    }
    const bad = report.missingKeys.length + report.unexpectedKeys.length + report.mismatchedKeys.length;
    if (strict && bad > 0) throw new StateDictError(report);
    for (const [v, t, key] of toLoad) {
      tf.tidy(() => v.assign(t.dtype === v.dtype ? tf.clone(t) : tf.cast(t, v.dtype)));
      report.loadedKeys.push(key);
    }
    return report;
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter. */
  requiresGrad(flag = true): this {
    for (const v of this.parameters()) v.trainable = flag;
    return this;
  }

  /** Calls `fn` on every descendant, children first and this module last (like PyTorch). */
  apply(fn: (module: Module, path: string) => void): this {
    const all = this.namedModules();
    for (let i = all.length - 1; i >= 0; i--) fn(all[i]![1], all[i]![0]);
    return this;
  }

  /** Number of scalar parameters (shared variables counted once). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters(options).reduce((n, v) => n + v.size, 0);
  }

  /**
   * Extra non-tensor state a module wants checkpointed (e.g. a dropout layer's RNG counter), by
   * dotted module path. Modules override `getExtraState`/`setExtraState`.
   */
  extraState(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [path, m] of this.namedModules()) {
      const s = m.getExtraState();
      if (s !== undefined) out[path] = s;
    }
    return out;
  }

  loadExtraState(state: Record<string, unknown>): void {
    for (const [path, m] of this.namedModules()) if (path in state) m.setExtraState(state[path]);
  }

  getExtraState(): unknown {
    return undefined;
  }

  setExtraState(_state: unknown): void {}

  /** Disposes every parameter and buffer of the tree, and what each module holds besides them (`disposeExtra`). */
  dispose(): void {
    for (const m of this.modules()) {
      for (const v of m.paramsByName.values()) if (!v.isDisposed) v.dispose();
      for (const v of m.buffersByName.values()) if (!v.isDisposed) v.dispose();
      m.disposeExtra();
    }
  }

  /**
   * Frees tensors a module keeps outside its parameters and buffers (caches, frozen scales).
   * `dispose()` calls it on every module of the tree (a parent's dispose does not call its children's
   * `dispose()`), so subclasses override this hook; it must be safe to call twice.
   */
  protected disposeExtra(): void {}

  /** A short multi-line summary: paths, classes and parameter counts. */
  toString(): string {
    return this.namedModules()
      .map(([p, m]) => `${p || '(root)'}: ${m.constructor.name} (${m.numParameters()} params)`)
      .join('\n');
  }
}

/** Throws a ShapeError naming the layer, the expected and the given shape. */
export function shapeError(layer: string, what: string, expected: string, got: readonly number[]): never {
  throw new ShapeError(`${layer}: ${what}: expected ${expected}, got shape [${got.join(', ')}]`);
}
