import { definePlugin } from '@nutshell/core';
import { ganCommand } from './command.js';
import { GanLeakyReLU } from './activations.js';
import { MinibatchDiscrimination, MinibatchStdDev } from './minibatch.js';
import { ConditionalGenerator, ProjectionDiscriminator } from './models/conditional.js';
import { DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator } from './models/dcgan.js';
import { PatchGANDiscriminator, UNetGenerator } from './models/image2image.js';
import { InfoGANHead } from './models/infogan.js';
import { ProgressiveDiscriminator, ProgressiveGenerator } from './models/progressive.js';
import { PReLU, PixelShuffle, SRGANDiscriminator, SRGANGenerator } from './models/srgan.js';
import { EqualizedConv2d, EqualizedLinear, MappingNetwork, ModulatedConv2d, NoiseInjection, StyleGenerator } from './models/style.js';
import { FastConvTranspose2d } from './upconv.js';

/** Capability plugin: GAN models and layers in the registries, and the `nutshell gan` command. */
export default definePlugin({
  name: '@nutshell/gan',
  version: '0.1.0',
  requires: { '@nutshell/nn': '^0.1.0' },
  description: 'GANs: DCGAN, conditional/projection, InfoGAN, pix2pix/CycleGAN blocks, StyleGAN-lite, ProGAN, SRGAN; `nutshell gan train|sample`',
  register(ctx) {
    const models = {
      'dcgan-generator': DCGANGenerator, 'dcgan-discriminator': DCGANDiscriminator,
      'gan-mlp-generator': MLPGenerator, 'gan-mlp-discriminator': MLPDiscriminator,
      'conditional-generator': ConditionalGenerator, 'projection-discriminator': ProjectionDiscriminator,
      'infogan-head': InfoGANHead, 'unet-generator': UNetGenerator, 'patchgan-discriminator': PatchGANDiscriminator,
      'style-generator': StyleGenerator, 'style-mapping-network': MappingNetwork,
      'progressive-generator': ProgressiveGenerator, 'progressive-discriminator': ProgressiveDiscriminator,
      'srgan-generator': SRGANGenerator, 'srgan-discriminator': SRGANDiscriminator,
    };
    for (const [name, cls] of Object.entries(models)) ctx.add('models', name, cls);
    const layers = { MinibatchStdDev, MinibatchDiscrimination, GanLeakyReLU, EqualizedLinear, EqualizedConv2d, ModulatedConv2d, NoiseInjection, PixelShuffle, PReLU, FastConvTranspose2d };
    for (const [name, cls] of Object.entries(layers)) ctx.add('layers', name, cls);
    ctx.add('commands', 'gan', ganCommand);
  },
});
