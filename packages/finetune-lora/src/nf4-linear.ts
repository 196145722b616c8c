import { InvalidArgumentError, tf, type Tensor } from '@nutshell/core';
import { Linear, Module, type Parameter } from '@nutshell/nn';
import { dequantize4bit, fourBitStorageBytes, quantize4bit, type FourBitQuantized } from '@nutshell/quantize';

export interface NF4Options {
  /** Values per absmax block (bitsandbytes and QLoRA: 64). */
  blockSize?: number;
  /** Quantize the block scales again (QLoRA's double quantization). Default true. */
  doubleQuant?: boolean;
  /** Cache the dequantized weight between calls (faster, but holds fp32 memory). Default false. */
  cacheDequantized?: boolean;
}

/**
 * A frozen linear layer whose weight lives in NF4 with double quantization (QLoRA's storage) and is
 * dequantized on the fly for each forward. The bias stays fp32 (frozen). Weight layout is PyTorch's
 * [out, in]; `fanInFanOut` sources (GPT-2 Conv1D) are transposed on construction.
 */
export class NF4Linear extends Module {
  private q: FourBitQuantized;
  readonly bias: Parameter | null;
  readonly blockSize: number;
  readonly doubleQuant: boolean;
  private cache: Tensor | null = null;
  private readonly cacheDequantized: boolean;

  constructor(readonly inFeatures: number, readonly outFeatures: number, weight: Tensor, bias: Tensor | null, options: NF4Options = {}) {
    super();
    if (weight.rank !== 2 || weight.shape[0] !== outFeatures || weight.shape[1] !== inFeatures) {
      throw new InvalidArgumentError(`NF4Linear: weight must be [${outFeatures}, ${inFeatures}], got [${weight.shape.join(', ')}]`);
    }
    this.blockSize = options.blockSize ?? 64;
    this.doubleQuant = options.doubleQuant ?? true;
    this.cacheDequantized = options.cacheDequantized ?? false;
    this.q = this.encode(weight);
    this.bias = bias ? this.registerParameter('bias', tf.clone(bias), false) : null;
  }

  /** Quantizes a Linear (or GPT-2 Conv1D, transposed) into a new NF4Linear; the source is left as is. */
  static fromLinear(m: Module & { weight: Tensor; bias?: Tensor | null }, options: NF4Options & { fanInFanOut?: boolean } = {}): NF4Linear {
    const fifo = options.fanInFanOut ?? (m as { fanInFanOut?: boolean }).fanInFanOut ?? false;
    if (!(m instanceof Linear) && m.weight?.rank !== 2) throw new InvalidArgumentError(`NF4Linear.fromLinear: expected a Linear-like module, got ${m.constructor.name}`);
    const w = fifo ? tf.transpose(m.weight) : m.weight;
    const [out, inp] = w.shape as [number, number];
    const layer = new NF4Linear(inp, out, w, m.bias ?? null, options);
    if (w !== m.weight) w.dispose();
    return layer;
  }

  private encode(w: Tensor): FourBitQuantized {
    return quantize4bit(w, { quantType: 'nf4', blockSize: this.blockSize, doubleQuant: this.doubleQuant });
  }

  /** The dequantized weight [out, in]; the caller owns it. */
  dequantizedWeight(): Tensor {
    if (this.cacheDequantized) {
      this.cache ??= tf.keep(dequantize4bit(this.q));
      return tf.clone(this.cache);
    }
    return dequantize4bit(this.q);
  }

  /** Re-quantizes a new fp32 weight [out, in] into NF4 (used by merge / unmerge: lossy). */
  setWeight(w: Tensor): void {
    this.q = this.encode(w);
    this.cache?.dispose();
    this.cache = null;
  }

  /** Bytes of the quantized weight: packed codes + (double-quantized) scales. */
  weightBytes(): number {
    return fourBitStorageBytes(this.q);
  }

  get quantized(): FourBitQuantized {
    return this.q;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new InvalidArgumentError(`NF4Linear: expected input [..., ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const w = this.dequantizedWeight();
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat, w, false, true);
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }

  override dispose(): void {
    this.cache?.dispose();
    this.cache = null;
    super.dispose();
  }
}
