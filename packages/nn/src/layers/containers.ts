import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Module, shapeError } from '../module.js';

/** Runs children in order; they are named '0', '1', … like torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[] = [];
  constructor(...layers: Module[]) {
    super();
    for (const l of layers) this.append(l);
  }
  append(layer: Module): this {
    this.registerModule(String(this.layers.length), layer);
    this.layers.push(layer);
    return this;
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    const m = this.getModule(String(i < 0 ? this.layers.length + i : i));
    return m;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = x;
      for (const [, layer] of this.namedChildren()) h = layer.forward(h);
      return h;
    });
  }
}

/** A list of modules named '0', '1', … (for `blocks.0.attn` style paths); not callable. */
export class ModuleList extends Module {
  private count = 0;
  constructor(modules: Module[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: Module): this {
    this.registerModule(String(this.count++), m);
    return this;
  }
  get length(): number {
    return this.count;
  }
  at(i: number): Module {
    return this.getModule(String(i < 0 ? this.count + i : i));
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  forward(): never {
    throw new InvalidArgumentError('ModuleList has no forward; iterate over it instead');
  }
}

/** Modules by name (keys must be identifiers). */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.registerModule(k, m);
  }
  get(name: string): Module {
    return this.getModule(name);
  }
  forward(): never {
    throw new InvalidArgumentError('ModuleDict has no forward; pick a module with get(name)');
  }
}

/** Flattens dims startDim..endDim (default: all but the batch dim), like torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    const s = this.startDim < 0 ? x.rank + this.startDim : this.startDim;
    const e = this.endDim < 0 ? x.rank + this.endDim : this.endDim;
    if (s < 0 || e >= x.rank || s > e) shapeError('Flatten', `input for dims ${this.startDim}..${this.endDim}`, `rank > ${Math.max(s, e)}`, x.shape);
    const shape = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...x.shape.slice(e + 1)];
    return tf.reshape(x, shape);
  }
}
