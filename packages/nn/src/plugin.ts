import { definePlugin } from '@nutshell/core';
import * as activations from './activations.js';
import { Flatten, ModuleDict, ModuleList, Sequential } from './layers/containers.js';
import { Conv1d, Conv2d, ConvTranspose2d } from './layers/conv.js';
import { Dropout } from './layers/dropout.js';
import { Embedding } from './layers/embedding.js';
import { Identity, Linear } from './layers/linear.js';
import { BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm, LayerNorm, RMSNorm } from './layers/norm.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample } from './layers/pool.js';
import { GRU, LSTM, SimpleRNN } from './layers/rnn.js';
import { MultiHeadAttention } from './layers/attention.js';
import { BasicBlock } from './layers/residual.js';
import { Autoencoder, MLP, SmallCNN, VAE } from './models.js';

/** Layer classes by their PyTorch names (entries are the constructors). */
export const LAYERS = {
  Linear, Identity, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Upsample, Embedding, Flatten,
  LSTM, GRU, SimpleRNN, MultiHeadAttention, BasicBlock,
  Sequential, ModuleList, ModuleDict, LayerNorm, RMSNorm, BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm, Dropout,
  ReLU: activations.ReLU, Sigmoid: activations.Sigmoid, Tanh: activations.Tanh, GELU: activations.GELU, SiLU: activations.SiLU,
  SELU: activations.SELU, ELU: activations.ELU, LeakyReLU: activations.LeakyReLU, Softplus: activations.Softplus,
  Softmax: activations.Softmax, LogSoftmax: activations.LogSoftmax,
} as const;

/**
 * Capability plugin: registers @nutshell/nn's layers and reference models in a kit. Its training
 * helpers `accuracy`/`binaryAccuracy` stay plain exports: the `metrics` registry belongs to
 * @nutshell/metrics, and two packages may not register the same name.
 */
export default definePlugin({
  name: '@nutshell/nn',
  version: '0.1.0',
  description: 'PyTorch-style layers, reference models (MLP, SmallCNN, Autoencoder, VAE)',
  register(ctx) {
    for (const [name, cls] of Object.entries(LAYERS)) ctx.add('layers', name, cls);
    ctx.add('models', 'mlp', MLP);
    ctx.add('models', 'small-cnn', SmallCNN);
    ctx.add('models', 'autoencoder', Autoencoder);
    ctx.add('models', 'vae', VAE);
  },
});
