import { registerBackendPlugin } from '@nutshell/core';
import { createWasmBackend } from './plugin.js';

export { createWasmBackend, PACKAGE_NAME, type WasmBackendOptions } from './plugin.js';
export { WASM_FILES, type WasmFileName, type WasmPaths } from './paths.js';
export { hasWasmSimd } from './simd.js';
export { packagedWasmUrls } from './paths.js';
export { CPU_FALLBACK_KERNELS } from './fallbacks.js';
export { WASM_TRAINING_KERNELS } from './training-kernels.js';

/** The wasm backend plugin with default options (binaries found automatically). */
export const wasmBackend = createWasmBackend();

// Importing the package makes `useBackend('wasm')` and `auto` aware of it. Nothing loads yet.
registerBackendPlugin(wasmBackend);

export default wasmBackend;
