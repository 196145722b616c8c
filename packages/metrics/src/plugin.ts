import { definePlugin } from '@nutshell/core';
import { metricsCommand } from './commands.js';
import { METRICS } from './registry.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers every metric in the `metrics` registry and the `nutshell metrics …` CLI command. */
export default definePlugin({
  name: '@nutshell/metrics',
  version: PACKAGE_VERSION,
  description: 'BLEU, chrF, ROUGE, FID, KID, IS, precision/recall, SWD, PSNR/SSIM, classification metrics, perplexity',
  register(ctx) {
    for (const entry of METRICS) ctx.add('metrics', entry.name, entry);
    ctx.add('commands', 'metrics', metricsCommand);
  },
});
