import type { CommandSpec, NutshellPlugin } from '@nutshell/core';
import type { DiscoveryReport } from './discover.js';

/** What the CLI's own commands (help, plugins) need to know about this run. */
export interface CliState {
  version: string;
  discovery: DiscoveryReport;
  /** Plugins that loaded but could not join the kit. */
  rejected: { plugin: NutshellPlugin; error: string }[];
}

/** The CLI's commands are ordinary CommandSpecs (`needsBackend` is part of core's contract). */
export type CliCommandSpec = CommandSpec;
