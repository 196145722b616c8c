import { BackendUnavailableError, tf, type Availability, type BackendPlugin } from '@nutshell/core';
import { hasWasmSimd, hasWebAssembly } from './simd.js';
import { installCpuFallbacks } from './fallbacks.js';
import { installTrainingKernels } from './training-kernels.js';
import {
  binaryFor,
  checkNodeOverride,
  isNode,
  packagedWasmUrls,
  resolveNodeWasmPaths,
  type ResolvedWasmPaths,
  type WasmPaths,
} from './paths.js';

export const PACKAGE_NAME = '@nutshell/backend-wasm';

export interface WasmBackendOptions {
  /**
   * Where the .wasm binaries are: a directory prefix ending in '/' (a URL in browsers, a file path
   * in Node) or one path per binary name. Default: the installed tfjs-backend-wasm in Node, the
   * copies shipped in this package's dist/wasm in browsers and bundles.
   */
  wasmPaths?: WasmPaths;
  /** XNNPACK threads in browsers with cross-origin isolation (Node always runs one thread). */
  numThreads?: number;
}

type TfjsWasmModule = {
  setWasmPaths(paths: WasmPaths, usePlatformFetch?: boolean): void;
  setThreadsCount(n: number): void;
};

/**
 * Builds a wasm backend plugin. The default export uses the default options; call this to point
 * at your own copies of the binaries: `useBackend(createWasmBackend({ wasmPaths: '/assets/' }))`.
 */
export function createWasmBackend(options: WasmBackendOptions = {}): BackendPlugin {
  let located: Promise<ResolvedWasmPaths | { error: string }> | undefined;
  let ready: Promise<void> | undefined;

  const locate = () =>
    (located ??= (async () => {
      const needed = binaryFor(hasWasmSimd());
      if (options.wasmPaths !== undefined) {
        const problem = isNode() ? await checkNodeOverride(options.wasmPaths, needed) : undefined;
        return problem ? { error: `wasmPaths option: ${problem}` } : { paths: options.wasmPaths, source: 'the wasmPaths option' };
      }
      if (isNode()) {
        const found = await resolveNodeWasmPaths(needed);
        if ('paths' in found) return found;
        return {
          error:
            `cannot find ${needed}; looked in: ${found.tried.join('; ')}. ` +
            `Install @tensorflow/tfjs-backend-wasm, copy its .wasm files into a wasm/ folder next to your bundle, ` +
            `or pass createWasmBackend({ wasmPaths })`,
        };
      }
      return { paths: packagedWasmUrls(), source: `${PACKAGE_NAME}/dist/wasm (bundler asset URLs)` };
    })().catch((err: unknown) => ({ error: `locating the .wasm files failed: ${(err as Error).message}` })));

  const plugin: BackendPlugin = {
    name: 'wasm',
    packageName: PACKAGE_NAME,
    priority: 200,
    capabilities: {
      gpu: false,
      async: false,
      threads: isNode() ? 1 : (options.numThreads ?? 1),
      notes: ['XNNPACK kernels', 'SIMD when the engine supports it', 'single-threaded in Node', 'fused attention / activation training kernels (AssemblyScript SIMD)'],
    },

    async isAvailable(): Promise<Availability> {
      try {
        if (!hasWebAssembly()) return { available: false, reason: 'WebAssembly is not available in this JavaScript engine' };
        const simd = hasWasmSimd();
        const where = await locate();
        if ('error' in where) return { available: false, reason: where.error };
        const kind = simd ? 'WebAssembly SIMD' : 'WebAssembly without SIMD (about 3x slower; update the engine)';
        const threads = isNode() ? '1 thread (tfjs runs wasm threads only in browsers)' : 'threads if cross-origin isolated';
        return { available: true, reason: `${kind}, ${threads}; binaries from ${where.source}`, ...(simd ? {} : { priority: 100 }) };
      } catch (err) {
        return { available: false, reason: `availability check failed: ${(err as Error).message}` };
      }
    },

    setup(): Promise<void> {
      ready ??= (async () => {
        const where = await locate();
        if ('error' in where) throw new BackendUnavailableError('wasm', where.error, PACKAGE_NAME);
        // Importing registers the 'wasm' backend factory with tfjs; the module loads on setBackend.
        const mod = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as TfjsWasmModule;
        try {
          mod.setWasmPaths(where.paths);
        } catch (err) {
          // tfjs refuses new paths once an initialization failed; say which paths were in use.
          throw new BackendUnavailableError('wasm', `${(err as Error).message} (paths from ${where.source})`, PACKAGE_NAME);
        }
        if (!isNode() && options.numThreads) mod.setThreadsCount(options.numThreads);
        // The cpu backend that @nutshell/core registers runs the fallback kernels.
        installCpuFallbacks(() => (tf.findBackend('cpu') ?? tf.findBackendFactory('cpu')()) as never);
        // NUTSHELL_WASM_SKIP=training leaves the fused kernels out (the "before" of benchmarks).
        const skip = typeof process !== 'undefined' ? (process.env?.NUTSHELL_WASM_SKIP ?? '') : '';
        if (!skip.split(',').includes('training')) await installTrainingKernels();
      })().catch((err: unknown) => {
        ready = undefined; // let a later call retry, e.g. after the files were put in place
        throw err;
      });
      return ready;
    },
  };
  return plugin;
}
