// Side effects of importing @nutshell/core: the tfjs cpu backend (always available) and the
// gradient registrations (bundled at build time so autodiff also works in plain Node).
import '@tensorflow/tfjs-backend-cpu';
import './gradients.js';
