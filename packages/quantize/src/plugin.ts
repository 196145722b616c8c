import { definePlugin } from '@nutshell/core';
import { exportCommand, quantizeCommand } from './cli/commands.js';
import { ggufFormat } from './gguf/inspect.js';
import { QUANTIZERS } from './quantizers.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers the GGUF file format (for `nutshell inspect`) and the tensor quantizers by name. */
export default definePlugin({
  name: '@nutshell/quantize',
  version: PACKAGE_VERSION,
  description: 'Quantized modules, PTQ/QAT, pruning, NF4/FP4, ggml block formats, GGUF export',
  register(ctx) {
    ctx.add('formats', 'gguf', ggufFormat);
    for (const q of QUANTIZERS) ctx.add('quantizers', q.name, q);
    ctx.add('commands', 'quantize', quantizeCommand);
    ctx.add('commands', 'export', exportCommand);
  },
});
