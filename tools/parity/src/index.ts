export { runParity, parityChecks, type ParityTable, type ParityRow, type ParityOptions, type ParityCheck } from './run.js';
export { parityCases, type ParityCase, type InputSpec } from './cases.js';
export { compareArrays, type Comparison } from './compare.js';
export { loadBackend, probeBackend, PARITY_BACKENDS } from './backends.js';
export { formatParityTable } from './format.js';
