import { definePlugin } from '@nutshell/core';
import { diffusionCommand } from './command.js';
import { MODELS } from './io.js';
import { SCHEDULERS } from './schedulers/index.js';

/** Capability plugin: schedulers (factories), denoiser models and the `diffusion` CLI command. */
export default definePlugin({
  name: '@nutshell/diffusion',
  version: '0.1.0',
  requires: { '@nutshell/nn': '^0.1.0' },
  description: 'diffusion schedulers (ddpm, ddim, dpmpp-2m, euler, euler-ancestral, heun), MLP/U-Net denoisers, `nutshell diffusion`',
  register(ctx) {
    for (const [name, factory] of Object.entries(SCHEDULERS)) ctx.add('schedulers', name, factory);
    for (const [name, cls] of Object.entries(MODELS)) ctx.add('models', name, cls);
    ctx.add('commands', 'diffusion', diffusionCommand);
  },
});
