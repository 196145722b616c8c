import { getKernel, tf, type DenseWeightSource, type NamedTensorMap, type Tensor } from '@nutshell/core';
import { LayerNorm, type Module } from '@nutshell/nn';
import { Block, CausalSelfAttention, Mlp, activate } from './block.js';
import type { GptActivation, GptConfig } from './config.js';
import { Conv1D } from './conv1d.js';
import type { KVCache } from './kv-cache.js';

/**
 * The cached (decoding) forward pass on fused kernels: per block LayerNorm, c_attn, cached
 * attention, c_proj + residual, LayerNorm, c_fc + activation, c_proj + residual — 7 kernel calls
 * instead of ~60 composed ops, with keys/values appended in place into preallocated buffers
 * (KVCache 'buffers' storage) instead of concatenating the whole cache per step.
 *
 * The kernels are looked up by name on the current backend (@nutshell/backend-native registers
 * them, see its src/kernels/fused.ts for the contracts); elsewhere the model uses the composed
 * path, which computes the same values. Layers replaced by other modules (LoRA, quantized) run
 * their own forward inside the fused path.
 */
export const LAYER_NORM_KERNEL = 'NutshellLayerNorm';
export const LINEAR_KERNEL = 'NutshellLinear';
export const CACHED_ATTENTION_KERNEL = 'NutshellCachedAttention';

/** True when the current backend has the three fused kernels. */
export function hasFusedDecodeKernels(): boolean {
  const backend = tf.getBackend();
  return (
    getKernel(CACHED_ATTENTION_KERNEL, backend) !== undefined &&
    getKernel(LINEAR_KERNEL, backend) !== undefined &&
    getKernel(LAYER_NORM_KERNEL, backend) !== undefined
  );
}

/** The fused kernels have no gradients: never use them while a gradient is being recorded. */
function recordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return (state?.gradientDepth ?? 0) > 0;
}

/**
 * Whether `blocks` can decode on the fused kernels now: kernels present, no dropout in effect
 * (eval mode or p = 0), no gradient recording, and the blocks are this package's own classes.
 */
export function canDecodeFused(config: GptConfig, training: boolean, blocks: readonly Module[]): boolean {
  if (training && config.dropout > 0) return false;
  if (!hasFusedDecodeKernels() || recordingGradients()) return false;
  return blocks.every((b) => b.constructor === Block && (b as Block).attn.constructor === CausalSelfAttention && (b as Block).mlp.constructor === Mlp);
}

function run(kernel: string, inputs: Record<string, Tensor | null | undefined>, attrs: Record<string, unknown>): Tensor {
  const named: NamedTensorMap = {};
  for (const [k, v] of Object.entries(inputs)) if (v) named[k] = v;
  return tf.engine().runKernel(kernel, named, attrs as never) as Tensor;
}

/** LayerNorm over the last axis (the module's own forward if it is not a plain 1-D nn LayerNorm). */
export function fusedLayerNorm(ln: Module, x: Tensor): Tensor {
  const m = ln as LayerNorm;
  // The kernel needs a weight (gamma); a LayerNorm without one keeps its own forward.
  if (ln.constructor !== LayerNorm || m.normalizedShape.length !== 1 || !m.weight) return ln.forward(x) as Tensor;
  return run(LAYER_NORM_KERNEL, { x, gamma: m.weight, beta: m.bias }, { epsilon: m.options.eps ?? 1e-5 });
}

/** act(layer(x)) + residual, as one kernel for a plain Conv1D (x·W + b) or a weight applied transposed. */
export function fusedLinear(layer: Module, x: Tensor, activation: GptActivation | 'linear' = 'linear', residual?: Tensor): Tensor {
  if (layer.constructor === Conv1D) {
    const c = layer as Conv1D;
    return run(LINEAR_KERNEL, { x, weight: c.weight, bias: c.bias, residual }, { activation, transposeB: false });
  }
  // A layer that can lend a float weight (a quantized layer with its dequantized cache) runs the same kernel.
  const lent = (layer as Partial<DenseWeightSource>).denseWeight?.();
  if (lent) return run(LINEAR_KERNEL, { x, weight: lent.weight, bias: lent.bias, residual }, { activation, transposeB: lent.transposed });
  return tf.tidy(() => {
    let y = layer.forward(x) as Tensor;
    if (activation !== 'linear') y = activate(y, activation);
    return residual ? tf.add(residual, y) : y;
  });
}

/** x·Wᵀ for a weight stored [out, in] (a tied embedding as the output layer). */
export function fusedLinearT(x: Tensor, weight: Tensor): Tensor {
  return run(LINEAR_KERNEL, { x, weight }, { activation: 'linear', transposeB: true });
}

/** residual + c_proj(attention of c_attn(x) over the cache), appending this step's keys/values to layer l. */
function attention(attn: CausalSelfAttention, x: Tensor, residual: Tensor, cache: KVCache, l: number, start: number): Tensor {
  const c = attn.config;
  const qkv = fusedLinear(attn.c_attn, x);
  const y = run(
    CACHED_ATTENTION_KERNEL,
    { qkv, kCache: cache.keys[l], vCache: cache.values[l] },
    { numHeads: c.nHead, start, scale: 1 / Math.sqrt(attn.headDim), rope: c.positionEmbedding === 'rope', ropeTheta: c.ropeTheta },
  );
  return fusedLinear(attn.c_proj, y, 'linear', residual);
}

function mlp(m: Mlp, x: Tensor, residual: Tensor): Tensor {
  return fusedLinear(m.c_proj, fusedLinear(m.c_fc, x, m.config.activation), 'linear', residual);
}

/** One block's cached forward (pre-LN or post-LN, as Block.forward); call inside tf.tidy. */
export function fusedBlockDecode(block: Block, x: Tensor, cache: KVCache, l: number, start: number): Tensor {
  if (block.config.preLN) {
    const h = attention(block.attn, fusedLayerNorm(block.ln_1, x), x, cache, l, start);
    return mlp(block.mlp, fusedLayerNorm(block.ln_2, h), h);
  }
  const h = fusedLayerNorm(block.ln_1, attention(block.attn, x, x, cache, l, start));
  return fusedLayerNorm(block.ln_2, mlp(block.mlp, h, h));
}
