// tfjs-core ships its gradient registrations only as extensionless ESM, which plain Node cannot
// resolve. We bundle them once at build time into dist/gradients.js so `import '@nutshell/core'`
// gives working autodiff in Node, in bundlers and in vitest alike. The bundle carries its own copy
// of the ops it uses; tfjs keeps the engine and the kernel/gradient registries on the global
// object, so both copies share them.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));

await build({
  entryPoints: [join(coreDir, 'dist/register_all_gradients.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2020',
  outfile: 'dist/gradients.js',
  treeShaking: true,
  logLevel: 'warning',
  legalComments: 'none',
  banner: { js: '// Generated from @tensorflow/tfjs-core (Apache-2.0) register_all_gradients; see scripts/bundle-gradients.mjs.' },
});
