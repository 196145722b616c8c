export { runCli } from './main.js';
export type { CliIO } from './main.js';
export { createCliPlugin } from './cli-plugin.js';
export { discoverPlugins } from './discover.js';
export type { DiscoveryReport, FoundPlugin } from './discover.js';
export { createProgress } from './progress.js';
export type { Progress, ProgressMode, ProgressOptions, ProgressStream } from './progress.js';
export type { CliCommandSpec } from './state.js';
