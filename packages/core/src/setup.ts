// Side effects of importing @nutshell/core: the tfjs cpu backend (always available) and the
// gradient registrations (bundled at build time so autodiff also works in plain Node).
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import './gradients.js';

// Using an export keeps bundlers from dropping the cpu package: its Node build is not listed in
// its `sideEffects`, so a bare `import '@tensorflow/tfjs-backend-cpu'` can vanish from a bundle.
export const cpuBackendVersion: string = version_cpu;
