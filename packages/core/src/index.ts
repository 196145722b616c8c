import './setup.js';

/** The one tensor API: everything of @tensorflow/tfjs-core, by name and as the `tf` namespace. */
export * from '@tensorflow/tfjs-core';
export * as tf from '@tensorflow/tfjs-core';

export * from './errors.js';
export * from './validate.js';
export * from './backend.js';
export * from './plugin.js';
export type * from './commands.js';
export type * from './contracts.js';
export { satisfies } from './semver.js';
export * from './random.js';
export * from './memory.js';
export * from './safetensors.js';
export * from './fused-kernels.js';

// Types of the chained tensor methods (`x.add(y)`, `x.reshape(s)`), registered at run time by setup.ts.
// An export (unlike an import) survives into index.d.ts, so dependents see the methods too.
export type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
