import { nativeBackend } from './plugin.js';

export { nativeBackend, getNativeThreads, setNativeThreads } from './plugin.js';
export { NativeBackend } from './native_backend.js';
export { registerNativeBackend, nativeKernels, NATIVE_BACKEND_NAME } from './register.js';
export { LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL, LINEAR_KERNEL, CACHED_ATTENTION_KERNEL, LINEAR_ACTIVATIONS } from './kernels/fused.js';
export { ADAM_KERNEL } from './kernels/optim.js';
export { probeNativeAddon, defaultThreads, type NativeAddon, type AddonProbe } from './addon.js';

/** The backend plugin, found by `discoverBackends()` / `useBackend('native')`. */
export default nativeBackend;
