// tfjs-core ships its gradient registrations and the chained tensor methods (`x.add(y)`) only as
// extensionless ESM, which plain Node cannot resolve. We bundle both once at build time into
// dist/gradients.js so `import '@nutshell/core'` gives working autodiff and chained ops in Node,
// in bundlers and in vitest alike. The bundle carries its own copy
// of the ops it uses; tfjs keeps the engine, the kernel/gradient registries and the Tensor class
// on the global object, so both copies share them.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));

await build({
  stdin: {
    contents: [
      `import ${JSON.stringify(join(coreDir, 'dist/register_all_gradients.js'))};`,
      `import ${JSON.stringify(join(coreDir, 'dist/public/chained_ops/register_all_chained_ops.js'))};`,
    ].join('\n'),
    resolveDir: coreDir,
    sourcefile: 'tfjs-side-effects.js',
  },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2020',
  outfile: 'dist/gradients.js',
  treeShaking: true,
  logLevel: 'warning',
  legalComments: 'none',
  banner: { js: '// Generated from @tensorflow/tfjs-core (Apache-2.0) register_all_gradients and register_all_chained_ops; see scripts/bundle-gradients.mjs.' },
});
