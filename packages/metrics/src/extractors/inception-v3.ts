import { InvalidArgumentError, ShapeError, loadSafetensors, tf, type Tensor } from '@nutshell/core';
import { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, type Seed } from '@nutshell/nn';

/*
 * InceptionV3 up to pool3, as pytorch-fid defines it for FID (torchvision's Inception3 with the FID
 * variants of the A/C/E blocks that reproduce the TensorFlow 2015-12-05 graph). Parameter names are
 * pytorch-fid's (= torchvision's): `Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch_pool.bn.running_var`,
 * …, `fc.weight` [1008, 2048]. Activations are NHWC (tfjs' layout); conv weights stay PyTorch-shaped.
 */

type P = number | [number, number];

/** Conv (no bias) → BatchNorm (eps 0.001) → ReLU: torchvision's BasicConv2d. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number, kernel: P, options: { stride?: P; padding?: P; seed?: Seed } = {}) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, kernel, { stride: options.stride ?? 1, padding: options.padding ?? 0, bias: false, seed: options.seed }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outC, { eps: 0.001 }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.relu(this.bn.forward(this.conv.forward(x))));
  }
}

abstract class Block extends Module {
  protected seq = 0;
  protected constructor(protected readonly seed: string) {
    super();
  }
  protected conv(name: string, inC: number, outC: number, kernel: P, options: { stride?: P; padding?: P } = {}): BasicConv2d {
    return this.registerModule(name, new BasicConv2d(inC, outC, kernel, { ...options, seed: `${this.seed}/${name}` }));
  }
}

// The FID variants average-pool with count_include_pad=False (TF's 'SAME' average pooling).
const avgPool3 = () => new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false });
const cat = (xs: Tensor[]) => tf.concat(xs, 3);

/** FIDInceptionA: 1×1, 5×5, double 3×3 and pooled branches; 224 + pool_features channels. */
class InceptionA extends Block {
  b1; b5a; b5b; d1; d2; d3; bp;
  private readonly pool = avgPool3();
  constructor(inC: number, poolFeatures: number, seed: string) {
    super(seed);
    this.b1 = this.conv('branch1x1', inC, 64, 1);
    this.b5a = this.conv('branch5x5_1', inC, 48, 1);
    this.b5b = this.conv('branch5x5_2', 48, 64, 5, { padding: 2 });
    this.d1 = this.conv('branch3x3dbl_1', inC, 64, 1);
    this.d2 = this.conv('branch3x3dbl_2', 64, 96, 3, { padding: 1 });
    this.d3 = this.conv('branch3x3dbl_3', 96, 96, 3, { padding: 1 });
    this.bp = this.conv('branch_pool', inC, poolFeatures, 1);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => cat([this.b1.forward(x), this.b5b.forward(this.b5a.forward(x)), this.d3.forward(this.d2.forward(this.d1.forward(x))), this.bp.forward(this.pool.forward(x))]));
  }
}

/** InceptionB (grid reduction 35 → 17): 384 + 96 + in channels. */
class InceptionB extends Block {
  b3; d1; d2; d3;
  private readonly pool = new MaxPool2d(3, { stride: 2 });
  constructor(inC: number, seed: string) {
    super(seed);
    this.b3 = this.conv('branch3x3', inC, 384, 3, { stride: 2 });
    this.d1 = this.conv('branch3x3dbl_1', inC, 64, 1);
    this.d2 = this.conv('branch3x3dbl_2', 64, 96, 3, { padding: 1 });
    this.d3 = this.conv('branch3x3dbl_3', 96, 96, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => cat([this.b3.forward(x), this.d3.forward(this.d2.forward(this.d1.forward(x))), this.pool.forward(x)]));
  }
}

/** FIDInceptionC: factorized 7×7 branches; 768 channels. */
class InceptionC extends Block {
  b1; s1; s2; s3; d1; d2; d3; d4; d5; bp;
  private readonly pool = avgPool3();
  constructor(inC: number, c7: number, seed: string) {
    super(seed);
    this.b1 = this.conv('branch1x1', inC, 192, 1);
    this.s1 = this.conv('branch7x7_1', inC, c7, 1);
    this.s2 = this.conv('branch7x7_2', c7, c7, [1, 7], { padding: [0, 3] });
    this.s3 = this.conv('branch7x7_3', c7, 192, [7, 1], { padding: [3, 0] });
    this.d1 = this.conv('branch7x7dbl_1', inC, c7, 1);
    this.d2 = this.conv('branch7x7dbl_2', c7, c7, [7, 1], { padding: [3, 0] });
    this.d3 = this.conv('branch7x7dbl_3', c7, c7, [1, 7], { padding: [0, 3] });
    this.d4 = this.conv('branch7x7dbl_4', c7, c7, [7, 1], { padding: [3, 0] });
    this.d5 = this.conv('branch7x7dbl_5', c7, 192, [1, 7], { padding: [0, 3] });
    this.bp = this.conv('branch_pool', inC, 192, 1);
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const s = this.s3.forward(this.s2.forward(this.s1.forward(x)));
      const d = this.d5.forward(this.d4.forward(this.d3.forward(this.d2.forward(this.d1.forward(x)))));
      return cat([this.b1.forward(x), s, d, this.bp.forward(this.pool.forward(x))]);
    });
  }
}

/** InceptionD (grid reduction 17 → 8): 320 + 192 + in channels. */
class InceptionD extends Block {
  a1; a2; b1; b2; b3; b4;
  private readonly pool = new MaxPool2d(3, { stride: 2 });
  constructor(inC: number, seed: string) {
    super(seed);
    this.a1 = this.conv('branch3x3_1', inC, 192, 1);
    this.a2 = this.conv('branch3x3_2', 192, 320, 3, { stride: 2 });
    this.b1 = this.conv('branch7x7x3_1', inC, 192, 1);
    this.b2 = this.conv('branch7x7x3_2', 192, 192, [1, 7], { padding: [0, 3] });
    this.b3 = this.conv('branch7x7x3_3', 192, 192, [7, 1], { padding: [3, 0] });
    this.b4 = this.conv('branch7x7x3_4', 192, 192, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => cat([this.a2.forward(this.a1.forward(x)), this.b4.forward(this.b3.forward(this.b2.forward(this.b1.forward(x)))), this.pool.forward(x)]));
  }
}

/** FIDInceptionE_1 (average pool) / FIDInceptionE_2 (max pool): 320 + 768 + 768 + 192 = 2048. */
class InceptionE extends Block {
  b1; a1; a2a; a2b; d1; d2; d3a; d3b; bp;
  private readonly pool: Module;
  constructor(inC: number, pooling: 'avg' | 'max', seed: string) {
    super(seed);
    this.b1 = this.conv('branch1x1', inC, 320, 1);
    this.a1 = this.conv('branch3x3_1', inC, 384, 1);
    this.a2a = this.conv('branch3x3_2a', 384, 384, [1, 3], { padding: [0, 1] });
    this.a2b = this.conv('branch3x3_2b', 384, 384, [3, 1], { padding: [1, 0] });
    this.d1 = this.conv('branch3x3dbl_1', inC, 448, 1);
    this.d2 = this.conv('branch3x3dbl_2', 448, 384, 3, { padding: 1 });
    this.d3a = this.conv('branch3x3dbl_3a', 384, 384, [1, 3], { padding: [0, 1] });
    this.d3b = this.conv('branch3x3dbl_3b', 384, 384, [3, 1], { padding: [1, 0] });
    this.bp = this.conv('branch_pool', inC, 192, 1);
    this.pool = pooling === 'avg' ? avgPool3() : new MaxPool2d(3, { stride: 1, padding: 1 });
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const a = this.a1.forward(x);
      const d = this.d2.forward(this.d1.forward(x));
      return cat([
        this.b1.forward(x),
        cat([this.a2a.forward(a), this.a2b.forward(a)]),
        cat([this.d3a.forward(d), this.d3b.forward(d)]),
        this.bp.forward(this.pool.forward(x)),
      ]);
    });
  }
}

export interface InceptionV3Options {
  /** Include the 1008-way `fc` head of the FID weights (for Inception Score). Default true. */
  fc?: boolean;
  /** Seed of the (random) initial weights; real use loads weights over them. */
  seed?: Seed;
}

/** The 2048-d pool3 network (and optional 1008-way logits) of pytorch-fid's FID InceptionV3. */
export class InceptionV3 extends Module {
  readonly stem: BasicConv2d[];
  readonly mixed: Module[];
  readonly fc: Linear | null;
  private readonly maxPool = new MaxPool2d(3, { stride: 2 });

  constructor(options: InceptionV3Options = {}) {
    super();
    const s = String(options.seed ?? 0);
    const c = (name: string, inC: number, outC: number, k: P, o: { stride?: P; padding?: P } = {}) =>
      this.registerModule(name, new BasicConv2d(inC, outC, k, { ...o, seed: `${s}/${name}` }));
    this.stem = [
      c('Conv2d_1a_3x3', 3, 32, 3, { stride: 2 }),
      c('Conv2d_2a_3x3', 32, 32, 3),
      c('Conv2d_2b_3x3', 32, 64, 3, { padding: 1 }),
      c('Conv2d_3b_1x1', 64, 80, 1),
      c('Conv2d_4a_3x3', 80, 192, 3),
    ];
    const m = <M extends Module>(name: string, mod: M) => this.registerModule(name, mod);
    this.mixed = [
      m('Mixed_5b', new InceptionA(192, 32, `${s}/Mixed_5b`)),
      m('Mixed_5c', new InceptionA(256, 64, `${s}/Mixed_5c`)),
      m('Mixed_5d', new InceptionA(288, 64, `${s}/Mixed_5d`)),
      m('Mixed_6a', new InceptionB(288, `${s}/Mixed_6a`)),
      m('Mixed_6b', new InceptionC(768, 128, `${s}/Mixed_6b`)),
      m('Mixed_6c', new InceptionC(768, 160, `${s}/Mixed_6c`)),
      m('Mixed_6d', new InceptionC(768, 160, `${s}/Mixed_6d`)),
      m('Mixed_6e', new InceptionC(768, 192, `${s}/Mixed_6e`)),
      m('Mixed_7a', new InceptionD(768, `${s}/Mixed_7a`)),
      m('Mixed_7b', new InceptionE(1280, 'avg', `${s}/Mixed_7b`)),
      m('Mixed_7c', new InceptionE(2048, 'max', `${s}/Mixed_7c`)),
    ];
    this.fc = options.fc === false ? null : this.registerModule('fc', new Linear(2048, 1008, { seed: `${s}/fc` }));
    this.eval();
  }

  /**
   * Per-layer activations (NHWC) for shape checks: stem convs, the two max pools, each Mixed block,
   * then pool3 [N, 2048]. The caller owns the returned tensors.
   */
  trace(x: Tensor): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    tf.tidy(() => {
      let h = x;
      const keep = (name: string, t: Tensor) => {
        out.push([name, tf.keep(t)]);
        return t;
      };
      const names = ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3'];
      this.stem.forEach((layer, i) => {
        h = keep(names[i]!, layer.forward(h));
        if (i === 2) h = keep('maxpool1', this.maxPool.forward(h));
        if (i === 4) h = keep('maxpool2', this.maxPool.forward(h));
      });
      const mixedNames = ['Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c'];
      this.mixed.forEach((b, i) => {
        h = keep(mixedNames[i]!, b.forward(h));
      });
      keep('pool3', tf.mean(h, [1, 2]));
    });
    return out;
  }

  /** pool3 features [N, 2048] of inputs already resized and normalized to [-1, 1], NHWC [N, H, W, 3], H, W ≥ 75. */
  pool3(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== 3 || x.shape[1]! < 75 || x.shape[2]! < 75) {
      throw new ShapeError(`InceptionV3: expected NHWC RGB input [N, H ≥ 75, W ≥ 75, 3], got shape [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      let h = x;
      this.stem.forEach((layer, i) => {
        h = layer.forward(h);
        if (i === 2 || i === 4) h = this.maxPool.forward(h);
      });
      for (const b of this.mixed) h = b.forward(h);
      return tf.mean(h, [1, 2]);
    });
  }

  /** 1008-way logits of the FID weights (needs the `fc` head). */
  forward(x: Tensor): Tensor {
    if (!this.fc) throw new InvalidArgumentError('InceptionV3: built without the fc head (fc: false)');
    return tf.tidy(() => this.fc!.forward(this.pool3(x)));
  }
}

/**
 * Loads pytorch-fid weights (its `pt_inception-2015-12-05` state dict, converted to safetensors with
 * the same names) into an InceptionV3. `num_batches_tracked` may be absent (PyTorch's loader allows
 * that too); `fc.*` may be absent, then the head is dropped. Anything else missing, unexpected or
 * mis-shaped is an error listing every key.
 */
export function loadInceptionV3(bytes: Uint8Array): InceptionV3 {
  const { tensors } = loadSafetensors(bytes);
  const hasFc = 'fc.weight' in tensors;
  const net = new InceptionV3({ fc: hasFc });
  try {
    const report = net.loadStateDict(tensors, { strict: false });
    const missing = report.missingKeys.filter((k) => !k.endsWith('num_batches_tracked'));
    const unexpected = report.unexpectedKeys.filter((k) => !k.endsWith('num_batches_tracked'));
    if (missing.length || unexpected.length || report.mismatchedKeys.length) {
      throw new InvalidArgumentError(
        `loadInceptionV3: weights do not match pytorch-fid's InceptionV3: ${missing.length} missing (${missing.slice(0, 5).join(', ')}), ` +
          `${unexpected.length} unexpected (${unexpected.slice(0, 5).join(', ')}), ` +
          `${report.mismatchedKeys.length} mis-shaped (${report.mismatchedKeys.slice(0, 5).map((m) => `${m.key} expected [${m.expected}] got [${m.got}]`).join('; ')})`,
      );
    }
    return net;
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    for (const t of Object.values(tensors)) (t as Tensor).dispose();
  }
}
