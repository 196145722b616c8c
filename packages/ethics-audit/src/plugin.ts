import { definePlugin } from '@nutshell/core';
import { AUDITS } from './audits.js';
import { auditCommand } from './cli/command.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers the audits in the `audits` registry and the `nutshell audit …` command. */
export default definePlugin({
  name: '@nutshell/ethics-audit',
  version: PACKAGE_VERSION,
  description: 'fairness, differential privacy, membership inference, watermark, provenance and carbon audits',
  register(ctx) {
    for (const a of AUDITS) ctx.add('audits', a.name, a);
    ctx.add('commands', 'audit', auditCommand);
  },
});
