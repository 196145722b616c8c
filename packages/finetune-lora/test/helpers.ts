import { Rng, tf, type Tensor } from '@nutshell/core';
import { Conv2d, Embedding, Linear, Module, ModuleList } from '@nutshell/nn';
import { Conv1D } from '@nutshell/transformer';

/** transformer's GPT-2 Conv1D (weight [in, out], fanInFanOut) with N(0, std) weights from `seed`. */
const conv1d = (nIn: number, nOut: number, seed: number) => new Conv1D(nIn, nOut, { std: 0.2, rng: new Rng(seed) });

/** Max |a − b| over two tensors (neither disposed). */
export function maxDiff(a: Tensor, b: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

class Attn extends Module {
  c_attn: Module;
  c_proj: Module;
  constructor(readonly d: number, seed: number) {
    super();
    this.c_attn = this.registerModule('c_attn', conv1d(d, 3 * d, seed));
    this.c_proj = this.registerModule('c_proj', conv1d(d, d, seed + 1));
  }
  forward(h: Tensor): Tensor {
    return tf.tidy(() => {
      // Called through fields, as GPT's blocks do: LoRA injection (nn's setModule) re-points them.
      const a = tf.slice(this.c_attn.forward(h) as Tensor, [0, 0, 0], [-1, -1, this.d]);
      return this.c_proj.forward(tf.tanh(a)) as Tensor;
    });
  }
}

class Mlp extends Module {
  constructor(d: number, seed: number) {
    super();
    this.registerModule('c_fc', conv1d(d, 4 * d, seed));
    this.registerModule('c_proj', conv1d(4 * d, d, seed + 1));
  }
  forward(h: Tensor): Tensor {
    return tf.tidy(() => this.getModule('c_proj').forward(tf.tanh(this.getModule('c_fc').forward(h) as Tensor)) as Tensor);
  }
}

class Block extends Module {
  constructor(d: number, seed: number) {
    super();
    this.registerModule('attn', new Attn(d, seed));
    this.registerModule('mlp', new Mlp(d, seed + 2));
  }
  forward(h: Tensor): Tensor {
    return tf.tidy(() => {
      const x = tf.add(h, this.getModule('attn').forward(h) as Tensor);
      return tf.add(x, this.getModule('mlp').forward(x) as Tensor);
    });
  }
}

class Transformer extends Module {
  constructor(v: number, d: number, layers: number) {
    super();
    this.registerModule('wte', new Embedding(v, d, { seed: 1 }));
    this.registerModule('h', new ModuleList(Array.from({ length: layers }, (_, i) => new Block(d, 10 * i + 3))));
  }
  forward(ids: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.getModule('wte').forward(ids) as Tensor;
      for (const b of this.getModule('h').children()) h = b.forward(h) as Tensor;
      return h;
    });
  }
}

/** A tiny model with GPT-2's module names (transformer.h.N.attn.c_attn, Conv1D weights [in, out], lm_head). */
export class TinyGPT2 extends Module {
  constructor(readonly vocab = 50, readonly d = 16, readonly layers = 2) {
    super();
    this.registerModule('transformer', new Transformer(vocab, d, layers));
    this.registerModule('lm_head', new Linear(d, vocab, { bias: false, seed: 7 }));
  }
  forward(ids: Tensor): Tensor {
    return tf.tidy(() => this.getModule('lm_head').forward(this.getModule('transformer').forward(ids) as Tensor) as Tensor);
  }
}

/** Conv2d → relu → Conv2d → mean-pool → Linear head, NHWC. */
export class TinyConvNet extends Module {
  constructor() {
    super();
    this.registerModule('conv1', new Conv2d(3, 8, 3, { padding: 1, seed: 1 }));
    this.registerModule('conv2', new Conv2d(8, 8, 3, { padding: 1, stride: 2, seed: 2 }));
    this.registerModule('head', new Linear(8, 4, { seed: 3 }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = tf.relu(this.getModule('conv2').forward(tf.relu(this.getModule('conv1').forward(x) as Tensor)) as Tensor);
      return this.getModule('head').forward(tf.mean(h, [1, 2])) as Tensor;
    });
  }
}

export const ids = () => tf.tensor2d([[1, 4, 9, 16, 25], [36, 49, 0, 3, 7]], [2, 5], 'int32');
