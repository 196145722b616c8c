import { definePlugin } from '@nutshell/core';
import { ggufFormat } from './gguf/inspect.js';
import { QUANTIZERS } from './quantizers.js';
import { PACKAGE_VERSION } from './version.js';

/** Registers the GGUF file format (for `nutshell inspect`) and the tensor quantizers by name. */
export default definePlugin({
  name: '@nutshell/quantize',
  version: PACKAGE_VERSION,
  description: 'Affine int8/int4, NF4/FP4, ggml block formats and GGUF',
  register(ctx) {
    ctx.add('formats', 'gguf', ggufFormat);
    for (const q of QUANTIZERS) ctx.add('quantizers', q.name, q);
  },
});
