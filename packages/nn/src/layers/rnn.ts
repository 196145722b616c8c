import { InvalidArgumentError, assertPositiveInt, rngFor, tf, type Tensor } from '@nutshell/core';
import { uniform, type Seed } from '../init.js';
import { Module, shapeError, type Parameter } from '../module.js';
import { Dropout } from './dropout.js';

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

export interface RNNOptions {
  numLayers?: number;
  bias?: boolean;
  /** Input and output as [batch, time, features] (default true; PyTorch's default is false). */
  batchFirst?: boolean;
  bidirectional?: boolean;
  /** Dropout on the outputs of every layer but the last, in training. */
  dropout?: number;
  seed?: Seed;
}

export interface RNNState {
  /** Final hidden state [numLayers·directions, batch, hidden] (at each sequence's own length). */
  h: Tensor;
  /** LSTM only: final cell state, same shape. */
  c?: Tensor;
}

export interface RNNCallOptions {
  /** Initial hidden state [numLayers·directions, batch, hidden] (zeros by default). */
  h0?: Tensor;
  /** LSTM initial cell state. */
  c0?: Tensor;
  /**
   * Valid length of each sequence (like pack_padded_sequence): later steps do not change the
   * state, their outputs are zero, and the reverse direction starts at each sequence's last step.
   */
  lengths?: number[];
  /**
   * Boolean (or 0/1) mask [batch, time] (always batch-first): true marks real steps. Masks must be
   * right-padded (true… then false…); they are turned into `lengths`.
   */
  mask?: Tensor | boolean[][] | number[][];
}

/** Lengths of a right-padded [B, T] mask; throws on gaps (a false followed by a true). */
export function maskToLengths(mask: Tensor | boolean[][] | number[][], B: number, T: number, who = 'RNN'): number[] {
  let rows: number[][];
  if (Array.isArray(mask)) rows = mask.map((r) => (r as (boolean | number)[]).map((v) => (v ? 1 : 0)));
  else {
    if (mask.rank !== 2) shapeError(who, 'mask', `[${B}, ${T}]`, mask.shape);
    const d = mask.dataSync();
    rows = Array.from({ length: mask.shape[0]! }, (_, b) => Array.from({ length: mask.shape[1]! }, (_, t) => (d[b * mask.shape[1]! + t] ? 1 : 0)));
  }
  if (rows.length !== B || rows.some((r) => r.length !== T)) shapeError(who, 'mask', `[${B}, ${T}]`, [rows.length, rows[0]?.length ?? 0]);
  return rows.map((r, b) => {
    const len = r.indexOf(0) === -1 ? T : r.indexOf(0);
    if (r.slice(len).some((v) => v)) throw new InvalidArgumentError(`${who}: mask row ${b} has a gap (${JSON.stringify(r)}); only right-padded masks (true… then false…) are supported — pass lengths or reorder the steps`);
    return len;
  });
}

/**
 * Shared recurrent core with PyTorch's parameter names (`weight_ih_l0`, `weight_hh_l0`,
 * `bias_ih_l0`, `bias_hh_l0`, `…_reverse`) and gate order (LSTM i, f, g, o; GRU r, z, n), so
 * torch.nn.LSTM/GRU/RNN state dicts load as they are.
 */
abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly directions: number;
  readonly batchFirst: boolean;
  private readonly weights: { wih: Parameter; whh: Parameter; bih: Parameter | null; bhh: Parameter | null }[][] = [];
  private readonly interLayerDropout: Dropout | null;

  constructor(private readonly mode: Mode, readonly inputSize: number, readonly hiddenSize: number, options: RNNOptions) {
    super();
    assertPositiveInt(`${mode} inputSize`, inputSize);
    assertPositiveInt(`${mode} hiddenSize`, hiddenSize);
    this.numLayers = options.numLayers ?? 1;
    assertPositiveInt(`${mode} numLayers`, this.numLayers);
    this.directions = options.bidirectional ? 2 : 1;
    this.batchFirst = options.batchFirst ?? true;
    const rng = rngFor(options.seed);
    const k = 1 / Math.sqrt(hiddenSize);
    const G = GATES[mode] * hiddenSize;
    for (let l = 0; l < this.numLayers; l++) {
      const layer = [];
      const inSize = l === 0 ? inputSize : hiddenSize * this.directions;
      for (let d = 0; d < this.directions; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const wih = this.registerParameter(`weight_ih${sfx}`, uniform([G, inSize], -k, k, rng));
        const whh = this.registerParameter(`weight_hh${sfx}`, uniform([G, hiddenSize], -k, k, rng));
        const bih = options.bias === false ? null : this.registerParameter(`bias_ih${sfx}`, uniform([G], -k, k, rng));
        const bhh = options.bias === false ? null : this.registerParameter(`bias_hh${sfx}`, uniform([G], -k, k, rng));
        layer.push({ wih, whh, bih, bhh });
      }
      this.weights.push(layer);
    }
    const p = options.dropout ?? 0;
    this.interLayerDropout = p > 0 && this.numLayers > 1 ? this.registerModule('dropout', new Dropout(p, { seed: rng })) : null;
  }

  /** Returns the output sequence and the final state; all tensors are new (the caller owns them). */
  forward(x: Tensor, options: RNNCallOptions = {}): { output: Tensor; state: RNNState } {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) {
      shapeError(this.mode === 'LSTM' ? 'LSTM' : this.mode === 'GRU' ? 'GRU' : 'SimpleRNN', 'input', this.batchFirst ? `[batch, time, ${this.inputSize}]` : `[time, batch, ${this.inputSize}]`, x.shape);
    }
    const xb = this.batchFirst ? x : tf.transpose(x, [1, 0, 2]);
    const [B, T] = xb.shape as [number, number, number];
    if (options.mask && options.lengths) throw new InvalidArgumentError(`${this.mode}: give either mask or lengths, not both`);
    const lengths = options.mask ? maskToLengths(options.mask, B, T, this.mode) : options.lengths;
    if (lengths && (lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 0 || n > T))) {
      throw new InvalidArgumentError(`${this.mode}: lengths must be ${B} integers in [0, ${T}], got ${JSON.stringify(lengths)}`);
    }
    const LD = this.numLayers * this.directions;
    for (const [name, s] of [['h0', options.h0], ['c0', options.c0]] as const) {
      if (s && (s.rank !== 3 || s.shape[0] !== LD || s.shape[1] !== B || s.shape[2] !== this.hiddenSize)) shapeError(this.mode, name, `[${LD}, ${B}, ${this.hiddenSize}]`, s.shape);
    }
    const result = tf.tidy(() => {
      // Time-reversal within each sequence's length, as flat row indices into [B·T, F].
      const rev = new Int32Array(B * T);
      const masks: Tensor[] = [];
      for (let b = 0; b < B; b++) {
        const len = lengths ? lengths[b]! : T;
        for (let t = 0; t < T; t++) rev[b * T + t] = b * T + (t < len ? len - 1 - t : t);
      }
      const revIdx = tf.tensor1d(rev, 'int32');
      if (lengths) for (let t = 0; t < T; t++) masks.push(tf.tensor2d(lengths.map((n) => (t < n ? 1 : 0)), [B, 1]));
      const hs: Tensor[] = [];
      const cs: Tensor[] = [];
      let input = xb;
      for (let l = 0; l < this.numLayers; l++) {
        const outs: Tensor[] = [];
        for (let d = 0; d < this.directions; d++) {
          const i = l * this.directions + d;
          const h0 = options.h0 ? tf.squeeze(tf.slice(options.h0, [i, 0, 0], [1, B, this.hiddenSize]), [0]) : tf.zeros([B, this.hiddenSize]);
          const c0 = options.c0 ? tf.squeeze(tf.slice(options.c0, [i, 0, 0], [1, B, this.hiddenSize]), [0]) : tf.zeros([B, this.hiddenSize]);
          const F = input.shape[2]!;
          const seq = d === 0 ? input : tf.reshape(tf.gather(tf.reshape(input, [B * T, F]), revIdx), [B, T, F]);
          const { out, h, c } = this.runDirection(seq, this.weights[l]![d]!, h0, c0, masks);
          outs.push(d === 0 ? out : tf.reshape(tf.gather(tf.reshape(out, [B * T, this.hiddenSize]), revIdx), [B, T, this.hiddenSize]));
          hs.push(h);
          cs.push(c);
        }
        input = outs.length === 1 ? outs[0]! : tf.concat(outs, 2);
        if (this.interLayerDropout && l < this.numLayers - 1) input = this.interLayerDropout.forward(input);
      }
      const output = this.batchFirst ? input : tf.transpose(input, [1, 0, 2]);
      const state: RNNState = { h: tf.stack(hs) };
      if (this.mode === 'LSTM') state.c = tf.stack(cs);
      return { output, state } as unknown as tf.TensorContainer;
    }) as unknown as { output: Tensor; state: RNNState };
    return result;
  }

  private runDirection(seq: Tensor, w: { wih: Tensor; whh: Tensor; bih: Tensor | null; bhh: Tensor | null }, h0: Tensor, c0: Tensor, masks: Tensor[]) {
    const [B, T, F] = seq.shape as [number, number, number];
    const H = this.hiddenSize;
    let xw = tf.matMul(tf.reshape(seq, [B * T, F]), w.wih, false, true);
    if (w.bih) xw = tf.add(xw, w.bih);
    // tfjs's Unpack gradient breaks when there is a single output (it gets a tensor, not a list), so a
    // one-step sequence is reshaped instead of unstacked.
    const xs = T === 1 ? [tf.reshape(xw, [B, -1])] : tf.unstack(tf.reshape(xw, [B, T, -1]), 1);
    let h = h0;
    let c = c0;
    const outs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      let hw = tf.matMul(h, w.whh, false, true);
      if (w.bhh) hw = tf.add(hw, w.bhh);
      let hNew: Tensor;
      let cNew = c;
      if (this.mode === 'LSTM') {
        const [i, f, g, o] = tf.split(tf.add(xs[t]!, hw), 4, 1) as [Tensor, Tensor, Tensor, Tensor];
        cNew = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        hNew = tf.mul(tf.sigmoid(o), tf.tanh(cNew));
      } else if (this.mode === 'GRU') {
        const [xr, xz, xn] = tf.split(xs[t]!, 3, 1) as [Tensor, Tensor, Tensor];
        const [hr, hz, hn] = tf.split(hw, 3, 1) as [Tensor, Tensor, Tensor];
        const r = tf.sigmoid(tf.add(xr, hr));
        const z = tf.sigmoid(tf.add(xz, hz));
        const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
        hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
      } else {
        const pre = tf.add(xs[t]!, hw);
        hNew = this.mode === 'RNN_TANH' ? tf.tanh(pre) : tf.relu(pre);
      }
      const m = masks[t];
      if (m) {
        // Past a sequence's end: keep the state, output zeros.
        h = tf.add(tf.mul(m, hNew), tf.mul(tf.sub(1, m), h));
        c = tf.add(tf.mul(m, cNew), tf.mul(tf.sub(1, m), c));
        outs.push(tf.mul(m, hNew));
      } else {
        h = hNew;
        c = cNew;
        outs.push(hNew);
      }
    }
    return { out: tf.stack(outs, 1), h, c };
  }
}

/** torch.nn.LSTM (gate order i, f, g, o). */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('LSTM', inputSize, hiddenSize, options);
  }
}

/** torch.nn.GRU (gate order r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))). */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('GRU', inputSize, hiddenSize, options);
  }
}

/** torch.nn.RNN (Elman): h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu. */
export class SimpleRNN extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super(options.nonlinearity === 'relu' ? 'RNN_RELU' : 'RNN_TANH', inputSize, hiddenSize, options);
  }
}
