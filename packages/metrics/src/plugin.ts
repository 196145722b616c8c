import { definePlugin } from '@nutshell/core';
import { metricsCommand } from './commands.js';
import { EXTRACTORS, METRICS } from './registry.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers every metric in the `metrics` registry and the `nutshell metrics …` CLI command. */
export default definePlugin({
  name: '@nutshell/metrics',
  version: PACKAGE_VERSION,
  description: 'BLEU, chrF, ROUGE, diversity, FID/KID/IS (MNIST and InceptionV3 extractors), precision/recall, SWD, MMD, PSNR/SSIM, divergences, classification, agreement, pairwise, efficiency metrics, perplexity',
  register(ctx) {
    for (const entry of METRICS) ctx.add('metrics', entry.name, entry);
    for (const entry of EXTRACTORS) ctx.add('models', entry.name, entry);
    ctx.add('commands', 'metrics', metricsCommand);
  },
});
