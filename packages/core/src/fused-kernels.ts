import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { DTypeError, InvalidArgumentError, ShapeError } from './errors.js';

/**
 * Fused training kernels: the contract between model code and the backends that implement them.
 * A backend registers a forward and a backward kernel under these names (backend-native in C,
 * backend-wasm in WebAssembly); the gradients below tie them together for every backend. Model
 * code asks `hasFusedKernel(name)` and otherwise composes the same math from tfjs ops, so the
 * kernels are an optimisation, never a requirement.
 *
 * - `NutshellLayerNorm` { x, gamma, beta? } / { epsilon } → LayerNorm over the last axis;
 *   backward `NutshellLayerNormGrad` { dy, x, gamma } / { epsilon } → [dx, dgamma [C], dbeta [C]].
 * - `NutshellAttention` { qkv [B, T, 3·H·d] } / { numHeads, scale } → [y [B, T, H·d], lse [B, H, T]]:
 *   causal softmax(scale·q·kᵀ)·v per head (query t sees keys 0..t), lse the log of each softmax
 *   denominator; backward `NutshellAttentionGrad` { dy, qkv, y, lse } / { numHeads, scale } → dqkv.
 * - `NutshellActivation` { x } / { activation } → act(x), activation one of FUSED_ACTIVATIONS;
 *   backward `NutshellActivationGrad` { dy, x } / { activation } → dy·act′(x).
 * - `NutshellGroupNorm` { x [N, …, C] (channels last), gamma [C], beta? } / { numGroups, epsilon } →
 *   GroupNorm over each sample's positions × C/numGroups channels; backward `NutshellGroupNormGrad`
 *   { dy, x, gamma } / { numGroups, epsilon } → [dx, dgamma [C], dbeta [C]].
 * - `NutshellAdam` { param, grad, m, v } / AdamAttrs → [param′, m′, v′]: one Adam / AdamW update
 *   (no gradient), PyTorch's formula with every float32 operation rounded in the order nn's
 *   composed update applies them (see adamCoefficients), so fused and composed agree bit for bit.
 */
export const FUSED_KERNELS = {
  layerNorm: 'NutshellLayerNorm',
  layerNormGrad: 'NutshellLayerNormGrad',
  attention: 'NutshellAttention',
  attentionGrad: 'NutshellAttentionGrad',
  activation: 'NutshellActivation',
  activationGrad: 'NutshellActivationGrad',
  groupNorm: 'NutshellGroupNorm',
  groupNormGrad: 'NutshellGroupNormGrad',
  adam: 'NutshellAdam',
} as const;

/** Attributes of `NutshellAdam` (step counts from 1). */
export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay?: number;
  /** AdamW's decoupled decay (p ← p·(1 − lr·wd)); otherwise Adam's L2 (g ← g + wd·p). */
  decoupled?: boolean;
  step: number;
}

/**
 * For kernel implementations: the per-step constants of the fused Adam update as
 * [decay, β₁, 1−β₁, β₂, 1−β₂, √(1−β₂ᵗ), ε, lr/(1−β₁ᵗ), l2], each to be rounded to float32 (as tfjs
 * rounds scalar operands). Per element, in float32 and this order:
 *   g ← g + p·l2 (if l2 ≠ 0);  m′ = m·β₁ + g·(1−β₁);  v′ = v·β₂ + (g·g)·(1−β₂);
 *   p′ = (p·decay, if decay ≠ 1) − (m′ / (√v′ / √(1−β₂ᵗ) + ε))·(lr/(1−β₁ᵗ)).
 */
export function adamCoefficients(kernel: string, attrs: AdamAttrs): Float64Array {
  const { lr, beta1, beta2, eps, weightDecay = 0, decoupled = true, step } = attrs;
  if (!(Number.isInteger(step) && step >= 1)) throw new InvalidArgumentError(`${kernel}: step must be an integer ≥ 1, got ${step}`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  return Float64Array.of(decoupled && weightDecay ? 1 - lr * weightDecay : 1, beta1, 1 - beta1, beta2, 1 - beta2, Math.sqrt(bc2), eps, lr / bc1, decoupled ? 0 : weightDecay);
}

/** Activations of `NutshellActivation`: GELU with tanh (GPT-2's gelu_new) or erf, SiLU, ReLU. */
export const FUSED_ACTIVATIONS = ['gelu_new', 'gelu', 'silu', 'relu'] as const;
export type FusedActivation = (typeof FUSED_ACTIVATIONS)[number];

/** The activation codes the backends' kernels share (0 is the identity). */
const ACTIVATION_CODES: Record<FusedActivation, number> = { relu: 1, gelu_new: 2, gelu: 3, silu: 4 };

/** For kernel implementations: the code of an activation attribute, or a typed error naming the kernel. */
export function fusedActivationCode(kernel: string, activation: unknown): number {
  const code = ACTIVATION_CODES[activation as FusedActivation];
  if (code === undefined) throw new InvalidArgumentError(`${kernel}: activation must be one of ${FUSED_ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  return code;
}

/** For kernel implementations: [B, T, H, d] of a float32 qkv [B, T, 3·H·d], or a typed error naming the kernel. */
export function fusedAttentionDims(kernel: string, qkv: { shape: number[]; dtype: string }, numHeads: unknown): [number, number, number, number] {
  if (qkv.dtype !== 'float32') throw new DTypeError(`${kernel}: qkv must be float32, got ${qkv.dtype}`);
  if (qkv.shape.length !== 3) throw new ShapeError(`${kernel}: qkv must be [B, T, 3·C], got [${qkv.shape}]`);
  const [B, T, C3] = qkv.shape as [number, number, number];
  const H = Number(numHeads);
  if (!Number.isInteger(H) || H < 1 || C3 % (3 * H) !== 0) throw new ShapeError(`${kernel}: qkv [${qkv.shape}] does not split into q, k, v of ${String(numHeads)} heads`);
  return [B, T, H, C3 / (3 * H)];
}

type TensorLike = { shape: number[]; dtype: string };

/** For kernel implementations: every named input present and float32, else a typed error naming the kernel. */
export function fusedRequireFloat32(kernel: string, inputs: Record<string, TensorLike | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (!t) throw new InvalidArgumentError(`${kernel}: input ${name} is missing`);
    if (t.dtype !== 'float32') throw new DTypeError(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  }
}

/** For kernel implementations: each of `others` has the shape of `ref` (e.g. dy and x, or Adam's grad and param). */
export function fusedRequireSameShape(kernel: string, ref: [string, TensorLike], others: Record<string, TensorLike>): void {
  for (const [name, t] of Object.entries(others)) {
    if (!tf.util.arraysEqual(t.shape, ref[1].shape)) throw new ShapeError(`${kernel}: ${name} has shape [${t.shape}], ${ref[0]} [${ref[1].shape}]`);
  }
}

/** For kernel implementations: gamma (and beta, when given) hold one value per channel. */
export function fusedRequireChannelParams(kernel: string, channels: number, gamma: TensorLike, beta?: TensorLike): void {
  for (const t of beta ? [gamma, beta] : [gamma]) {
    if (tf.util.sizeFromShape(t.shape) !== channels) throw new ShapeError(`${kernel}: gamma and beta must have ${channels} values, got [${t.shape}]`);
  }
}

/** For kernel implementations: [B, T, H, d] of the attention backward's inputs, all float32 and of matching shapes. */
export function fusedAttentionGradDims(
  kernel: string, inputs: { dy: TensorLike; qkv: TensorLike; y: TensorLike; lse: TensorLike }, numHeads: unknown,
): [number, number, number, number] {
  const { dy, qkv, y, lse } = inputs;
  fusedRequireFloat32(kernel, { dy, qkv, y, lse });
  const [B, T, H, d] = fusedAttentionDims(kernel, qkv, numHeads);
  if (!tf.util.arraysEqual(dy.shape, [B, T, H * d]) || !tf.util.arraysEqual(y.shape, dy.shape) || !tf.util.arraysEqual(lse.shape, [B, H, T])) {
    throw new ShapeError(`${kernel}: expected dy and y [${[B, T, H * d]}], lse [${[B, H, T]}]; got [${dy.shape}], [${y.shape}], [${lse.shape}]`);
  }
  return [B, T, H, d];
}

/** For kernel implementations: [N, S, C, G] of a channels-last float32 x [N, …, C] in numGroups groups. */
export function fusedGroupNormDims(kernel: string, x: { shape: number[]; dtype: string }, numGroups: unknown): [number, number, number, number] {
  if (x.dtype !== 'float32') throw new DTypeError(`${kernel}: x must be float32, got ${x.dtype}`);
  if (x.shape.length < 2) throw new ShapeError(`${kernel}: x must be [N, …, C], got [${x.shape}]`);
  const N = x.shape[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const G = Number(numGroups);
  if (!Number.isInteger(G) || G < 1 || C % G !== 0) throw new ShapeError(`${kernel}: ${C} channels do not split into ${String(numGroups)} groups`);
  const S = x.shape.slice(1, -1).reduce((a, b) => a * b, 1);
  return [N, S, C, G];
}

/** Whether the current backend registers kernel `name` (one of FUSED_KERNELS' values). */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function run(name: string, inputs: NamedTensorMap, attrs: NamedAttrMap): Tensor | Tensor[] {
  return tf.engine().runKernel(name, inputs, attrs) as Tensor | Tensor[];
}

/** LayerNorm over the last axis on the fused kernel (check hasFusedKernel(FUSED_KERNELS.layerNorm) first). */
export function fusedLayerNorm(x: Tensor, gamma: Tensor, beta: Tensor | null, epsilon: number): Tensor {
  const inputs: NamedTensorMap = beta ? { x, gamma, beta } : { x, gamma };
  return run(FUSED_KERNELS.layerNorm, inputs, { epsilon }) as Tensor;
}

/** GroupNorm of channels-last x [N, …, C] on the fused kernel (check hasFusedKernel(FUSED_KERNELS.groupNorm) first). */
export function fusedGroupNorm(x: Tensor, gamma: Tensor, beta: Tensor | null, numGroups: number, epsilon: number): Tensor {
  const inputs: NamedTensorMap = beta ? { x, gamma, beta } : { x, gamma };
  return run(FUSED_KERNELS.groupNorm, inputs, { numGroups, epsilon }) as Tensor;
}

/** Causal multi-head self-attention of a fused qkv [B, T, 3·C] → [B, T, C] on the fused kernel. */
export function fusedCausalAttention(qkv: Tensor, numHeads: number, scale: number): Tensor {
  const [y, lse] = run(FUSED_KERNELS.attention, { qkv }, { numHeads, scale }) as Tensor[];
  // The log-sum-exp stays alive while a gradient tape holds it; outside one it is not needed.
  lse!.dispose();
  return y!;
}

/** act(x) on the fused kernel. */
export function fusedActivation(x: Tensor, activation: FusedActivation): Tensor {
  return run(FUSED_KERNELS.activation, { x }, { activation }) as Tensor;
}

/**
 * Registers the gradients of the fused kernels (global in tfjs; the backward kernels they call are
 * looked up on the backend in use). Backends that register the forward kernels call this.
 */
export function registerFusedKernelGradients(): void {
  if (!tf.getGradient(FUSED_KERNELS.layerNorm)) {
    tf.registerGradient({
      kernelName: FUSED_KERNELS.layerNorm,
      inputsToSave: ['x', 'gamma'],
      gradFunc: (dy, saved, attrs) => {
        const [x, gamma] = saved as [Tensor, Tensor];
        // One backward kernel gives all three; computed here (not per input) so they share the scope.
        const [dx, dgamma, dbeta] = run(FUSED_KERNELS.layerNormGrad, { dy: dy as Tensor, x, gamma }, attrs) as Tensor[];
        const like = (g: Tensor) => (tf.util.arraysEqual(g.shape, gamma.shape) ? g : tf.reshape(g, gamma.shape));
        return { x: () => dx!, gamma: () => like(dgamma!), beta: () => like(dbeta!) };
      },
    });
  }
  if (!tf.getGradient(FUSED_KERNELS.groupNorm)) {
    tf.registerGradient({
      kernelName: FUSED_KERNELS.groupNorm,
      inputsToSave: ['x', 'gamma'],
      gradFunc: (dy, saved, attrs) => {
        const [x, gamma] = saved as [Tensor, Tensor];
        const [dx, dgamma, dbeta] = run(FUSED_KERNELS.groupNormGrad, { dy: dy as Tensor, x, gamma }, attrs) as Tensor[];
        const like = (g: Tensor) => (tf.util.arraysEqual(g.shape, gamma.shape) ? g : tf.reshape(g, gamma.shape));
        return { x: () => dx!, gamma: () => like(dgamma!), beta: () => like(dbeta!) };
      },
    });
  }
  if (!tf.getGradient(FUSED_KERNELS.attention)) {
    tf.registerGradient({
      kernelName: FUSED_KERNELS.attention,
      inputsToSave: ['qkv'],
      outputsToSave: [true, true],
      gradFunc: (dys, saved, attrs) => {
        const [qkv, y, lse] = saved as [Tensor, Tensor, Tensor];
        // Only y carries a gradient (lse is bookkeeping); tfjs passes one dy per output.
        const dy = Array.isArray(dys) ? dys[0]! : dys;
        return { qkv: () => run(FUSED_KERNELS.attentionGrad, { dy, qkv, y, lse }, attrs) as Tensor };
      },
    });
  }
  if (!tf.getGradient(FUSED_KERNELS.activation)) {
    tf.registerGradient({
      kernelName: FUSED_KERNELS.activation,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [Tensor];
        return { x: () => run(FUSED_KERNELS.activationGrad, { dy: dy as Tensor, x }, attrs) as Tensor };
      },
    });
  }
}
