import { registerBackendPlugin } from '@nutshell/core';
import { createWebGpuBackend } from './plugin.js';

export {
  createWebGpuBackend,
  PACKAGE_NAME,
  HARDWARE_PRIORITY,
  SOFTWARE_PRIORITY,
  type WebGpuBackendOptions,
} from './plugin.js';
export type { AdapterSummary } from './adapter.js';

/** The webgpu backend plugin with default options. Importing this module touches no GPU. */
export const webgpuBackend = createWebGpuBackend();

registerBackendPlugin(webgpuBackend);

export default webgpuBackend;
