import { assertPositiveInt, InvalidArgumentError, rngFor, ShapeError, tf, type Rng, type Tensor } from '@nutshell/core';
import { Conv2d, Embedding, GroupNorm, Linear, Module, ModuleList, MultiHeadAttention, SiLU, Upsample, type Seed } from '@nutshell/nn';
import type { Conditioning, Denoiser } from './denoiser.js';
import { TimeEmbedding } from './time-embedding.js';

export interface UNetOptions {
  /** Channels of x (1 for MNIST). */
  inChannels?: number;
  /** Output channels (default inChannels). */
  outChannels?: number;
  /** Extra channels concatenated to x (SR3: the upsampled low-res image). */
  condChannels?: number;
  /** Channels at the first level (default 32). */
  baseChannels?: number;
  /** Multipliers per resolution level (default [1, 2, 2]: 28 → 14 → 7). */
  channelMults?: number[];
  /** Which levels have self-attention (default: the lowest resolution only). */
  attention?: boolean[];
  numResBlocks?: number;
  /** GroupNorm groups (default 8; reduced to divide the channels). */
  groups?: number;
  attentionHeads?: number;
  numClasses?: number;
  seed?: Seed;
}

function groupsFor(c: number, g: number): number {
  let k = Math.min(g, c);
  while (c % k) k--;
  return k;
}

/** DDPM ResBlock: GN → SiLU → conv → + time projection → GN → SiLU → conv, plus a (1×1) skip. */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeProj: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;
  private readonly act = new SiLU();
  constructor(readonly inChannels: number, readonly outChannels: number, tembDim: number, groups: number, rng: Rng) {
    super();
    this.norm1 = this.registerModule('norm1', new GroupNorm(groupsFor(inChannels, groups), inChannels));
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, outChannels, 3, { padding: 1, seed: rng }));
    this.timeProj = this.registerModule('time_emb_proj', new Linear(tembDim, outChannels, { seed: rng }));
    this.norm2 = this.registerModule('norm2', new GroupNorm(groupsFor(outChannels, groups), outChannels));
    this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, seed: rng }));
    this.skip = inChannels !== outChannels ? this.registerModule('conv_shortcut', new Conv2d(inChannels, outChannels, 1, { seed: rng })) : null;
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.conv1.forward(this.act.forward(this.norm1.forward(x)));
      const te = this.timeProj.forward(this.act.forward(emb));
      h = tf.add(h, tf.reshape(te, [te.shape[0]!, 1, 1, this.outChannels]));
      h = this.conv2.forward(this.act.forward(this.norm2.forward(h)));
      return tf.add(this.skip ? this.skip.forward(x) : x, h);
    });
  }
}

/** Self-attention over all H·W positions, with a residual connection (used at low resolution). */
export class AttentionBlock extends Module {
  readonly norm: GroupNorm;
  readonly attn: MultiHeadAttention;
  constructor(readonly channels: number, heads: number, groups: number, rng: Rng) {
    super();
    this.norm = this.registerModule('norm', new GroupNorm(groupsFor(channels, groups), channels));
    this.attn = this.registerModule('attn', new MultiHeadAttention(channels, heads, { seed: rng }));
  }
  forward(x: Tensor): Tensor {
    const [B, H, W, C] = x.shape as [number, number, number, number];
    return tf.tidy(() => {
      const seq = tf.reshape(this.norm.forward(x), [B, H * W, C]);
      const { output } = this.attn.forward(seq, undefined, undefined, { needWeights: false });
      return tf.add(x, tf.reshape(output, [B, H, W, C]));
    });
  }
}

class Level extends Module {
  readonly res: ModuleList;
  readonly attn: ModuleList;
  sample: Module | null = null;
  constructor(res: ResBlock[], attn: AttentionBlock[]) {
    super();
    this.res = this.registerModule('res', new ModuleList(res));
    this.attn = this.registerModule('attn', new ModuleList(attn));
  }
  setSampler(name: 'downsample' | 'upsample', m: Module): void {
    this.sample = this.registerModule(name, m);
  }
  forward(): never {
    throw new InvalidArgumentError('Level is driven by UNet.forward');
  }
}

class UpSampler extends Module {
  readonly up = new Upsample({ scaleFactor: 2, mode: 'nearest' });
  readonly conv: Conv2d;
  constructor(c: number, rng: Rng) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(c, c, 3, { padding: 1, seed: rng }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.conv.forward(this.up.forward(x)));
  }
}

/**
 * A small DDPM-style U-Net for NHWC images: conv in, per level ResBlocks (with sinusoidal time
 * embedding and optional class embedding added to it) and self-attention where configured, strided-conv
 * downsampling, a middle ResBlock–attention–ResBlock, an up path that concatenates the skips, and
 * GroupNorm → SiLU → conv out. Sizes must be divisible by 2^(levels − 1).
 */
export class UNet extends Module implements Denoiser {
  readonly config: Required<Omit<UNetOptions, 'numClasses' | 'seed'>> & { numClasses?: number };
  readonly numClasses: number | undefined;
  readonly timeEmbed: TimeEmbedding;
  readonly classEmbed: Embedding | null;
  readonly convIn: Conv2d;
  readonly down: ModuleList;
  readonly mid1: ResBlock;
  readonly midAttn: AttentionBlock;
  readonly mid2: ResBlock;
  readonly up: ModuleList;
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;
  private readonly act = new SiLU();

  constructor(options: UNetOptions = {}) {
    super();
    const inChannels = options.inChannels ?? 1;
    const mults = options.channelMults ?? [1, 2, 2];
    const cfg = {
      inChannels,
      outChannels: options.outChannels ?? inChannels,
      condChannels: options.condChannels ?? 0,
      baseChannels: options.baseChannels ?? 32,
      channelMults: mults,
      attention: options.attention ?? mults.map((_, i) => i === mults.length - 1),
      numResBlocks: options.numResBlocks ?? 1,
      groups: options.groups ?? 8,
      attentionHeads: options.attentionHeads ?? 1,
      numClasses: options.numClasses,
    };
    if (cfg.attention.length !== mults.length) throw new InvalidArgumentError(`UNet: attention has ${cfg.attention.length} entries for ${mults.length} levels`);
    assertPositiveInt('UNet baseChannels', cfg.baseChannels);
    this.config = cfg;
    this.numClasses = options.numClasses;
    const rng = rngFor(options.seed ?? 0);
    const base = cfg.baseChannels;
    const temb = base * 4;
    this.timeEmbed = this.registerModule('time_embedding', new TimeEmbedding(base, temb, rng));
    this.classEmbed = options.numClasses ? this.registerModule('class_embedding', new Embedding(options.numClasses + 1, temb, { seed: rng })) : null;
    this.convIn = this.registerModule('conv_in', new Conv2d(inChannels + cfg.condChannels, base, 3, { padding: 1, seed: rng }));
    const skips: number[] = [base];
    let ch = base;
    const down: Level[] = [];
    mults.forEach((m, l) => {
      const res: ResBlock[] = [];
      const attn: AttentionBlock[] = [];
      for (let i = 0; i < cfg.numResBlocks; i++) {
        res.push(new ResBlock(ch, base * m, temb, cfg.groups, rng));
        ch = base * m;
        if (cfg.attention[l]) attn.push(new AttentionBlock(ch, cfg.attentionHeads, cfg.groups, rng));
        skips.push(ch);
      }
      const level = new Level(res, attn);
      if (l < mults.length - 1) {
        level.setSampler('downsample', new Conv2d(ch, ch, 3, { stride: 2, padding: 1, seed: rng }));
        skips.push(ch);
      }
      down.push(level);
    });
    this.down = this.registerModule('down', new ModuleList(down));
    this.mid1 = this.registerModule('mid_res1', new ResBlock(ch, ch, temb, cfg.groups, rng));
    this.midAttn = this.registerModule('mid_attn', new AttentionBlock(ch, cfg.attentionHeads, cfg.groups, rng));
    this.mid2 = this.registerModule('mid_res2', new ResBlock(ch, ch, temb, cfg.groups, rng));
    const up: Level[] = [];
    for (let l = mults.length - 1; l >= 0; l--) {
      const res: ResBlock[] = [];
      const attn: AttentionBlock[] = [];
      for (let i = 0; i < cfg.numResBlocks + 1; i++) {
        res.push(new ResBlock(ch + skips.pop()!, base * mults[l]!, temb, cfg.groups, rng));
        ch = base * mults[l]!;
        if (cfg.attention[l]) attn.push(new AttentionBlock(ch, cfg.attentionHeads, cfg.groups, rng));
      }
      const level = new Level(res, attn);
      if (l > 0) level.setSampler('upsample', new UpSampler(ch, rng));
      up.push(level);
    }
    this.up = this.registerModule('up', new ModuleList(up));
    this.normOut = this.registerModule('norm_out', new GroupNorm(groupsFor(ch, cfg.groups), ch));
    this.convOut = this.registerModule('conv_out', new Conv2d(ch, cfg.outChannels, 3, { padding: 1, seed: rng }));
  }

  forward(x: Tensor, t: Tensor, cond: Conditioning = {}): Tensor {
    const { inChannels, condChannels, channelMults } = this.config;
    const f = 2 ** (channelMults.length - 1);
    if (x.rank !== 4 || x.shape[3] !== inChannels || x.shape[1]! % f || x.shape[2]! % f) {
      throw new ShapeError(`UNet: expected x [batch, H, W, ${inChannels}] with H and W divisible by ${f}, got [${x.shape.join(', ')}]`);
    }
    if (condChannels && (!cond.concat || cond.concat.shape[3] !== condChannels)) {
      throw new ShapeError(`UNet: expects a conditioning image with ${condChannels} channels in cond.concat`);
    }
    const B = x.shape[0]!;
    return tf.tidy(() => {
      let emb = this.timeEmbed.forward(t.shape[0] === 1 && B !== 1 ? tf.tile(t, [B]) : t);
      if (this.classEmbed) {
        const labels = cond.classLabels ? tf.cast(cond.classLabels, 'int32') : tf.fill([B], this.numClasses!, 'int32');
        emb = tf.add(emb, this.classEmbed.forward(labels));
      }
      let h = this.convIn.forward(condChannels ? tf.concat([x, cond.concat!], 3) : x);
      const skips: Tensor[] = [h];
      for (const lvl of this.down) {
        const level = lvl as Level;
        [...level.res].forEach((r, i) => {
          h = (r as ResBlock).forward(h, emb);
          if (level.attn.length) h = (level.attn.at(i) as AttentionBlock).forward(h);
          skips.push(h);
        });
        if (level.sample) {
          h = level.sample.forward(h);
          skips.push(h);
        }
      }
      h = this.mid2.forward(this.midAttn.forward(this.mid1.forward(h, emb)), emb);
      for (const lvl of this.up) {
        const level = lvl as Level;
        [...level.res].forEach((r, i) => {
          h = (r as ResBlock).forward(tf.concat([h, skips.pop()!], 3), emb);
          if (level.attn.length) h = (level.attn.at(i) as AttentionBlock).forward(h);
        });
        if (level.sample) h = level.sample.forward(h);
      }
      return this.convOut.forward(this.act.forward(this.normOut.forward(h)));
    });
  }
}
