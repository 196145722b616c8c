import { tf, type Tensor, type Variable } from '@nutshell/core';
import { Module } from '@nutshell/nn';

/**
 * Per-adapter children keyed by adapter name (`lora_A.default`), like PEFT's nn.ModuleDict. nn's
 * Module cannot unregister a child, so deleting builds a new dict that the owner swaps in.
 */
export class AdapterDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();
  set(name: string, m: M): void {
    this.registerModule(name, m);
    this.items.set(name, m);
  }
  get(name: string): M | undefined {
    return this.items.get(name);
  }
  has(name: string): boolean {
    return this.items.has(name);
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  /** A dict of the same entries minus `name` (whose module the caller disposes). */
  without(name: string): AdapterDict<M> {
    const d = new AdapterDict<M>();
    for (const [k, m] of this.items) if (k !== name) d.set(k, m);
    return d;
  }
  forward(): never {
    throw new Error('AdapterDict has no forward');
  }
}

/** Parameters keyed by adapter name (`lora_embedding_A.default`), like PEFT's nn.ParameterDict. */
export class ParamDict extends Module {
  private readonly items = new Map<string, Variable>();
  /** Registers `init` (ownership taken) as a parameter named `name`. */
  create(name: string, init: Tensor, trainable = true): Variable {
    const v = this.registerParameter(name, init, trainable);
    this.items.set(name, v);
    return v;
  }
  /** Registers an existing variable (used when rebuilding without an entry). */
  adopt(name: string, v: Variable): void {
    const placeholder = this.registerParameter(name, tf.zeros([1]));
    this.replaceParameter(name, v);
    placeholder.dispose();
    this.items.set(name, v);
  }
  get(name: string): Variable | undefined {
    return this.items.get(name);
  }
  has(name: string): boolean {
    return this.items.has(name);
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  without(name: string): ParamDict {
    const d = new ParamDict();
    for (const [k, v] of this.items) if (k !== name) d.adopt(k, v);
    return d;
  }
  forward(): never {
    throw new Error('ParamDict has no forward');
  }
}

/** A module holding one `weight` parameter: PEFT's bias-free lora_A / lora_B layers. */
export class WeightOnly extends Module {
  readonly weight: Variable;
  constructor(init: Tensor) {
    super();
    this.weight = this.registerParameter('weight', init);
  }
  forward(): never {
    throw new Error('WeightOnly is applied by its LoRA layer');
  }
}
