import type { Kit } from './plugin.js';

/** One option of a CLI command, parsed by the `nutshell` CLI from `--name value` / `--flag`. */
export interface CommandOption {
  name: string;
  type: 'string' | 'number' | 'boolean';
  description: string;
  default?: string | number | boolean;
  /** One-letter alias: `-n`. */
  short?: string;
  /** May be given more than once; the values arrive as an array in order (`--ref a --ref b`). */
  multiple?: boolean;
}

export interface CommandArgument {
  name: string;
  description: string;
  required?: boolean;
}

export interface CommandInput {
  /** Positional arguments after the command name. */
  args: string[];
  /** Parsed options, defaults applied. Global ones: json, seed, backend, out. */
  options: Record<string, string | number | boolean | string[] | number[] | undefined>;
  /** True when the user asked for machine-readable output (`--json`). */
  json: boolean;
  kit: Kit;
  /** Writes one line of human-readable output (suppressed by the CLI with --json). */
  print(line: string): void;
}

/**
 * A command that a plugin adds to the `nutshell` CLI (`ctx.add('commands', name, spec)`).
 * `run` returns the JSON-serializable result printed with `--json`; throw a NutshellError for bad
 * input and the CLI prints its message on one line and exits non-zero.
 */
export interface CommandSpec {
  summary: string;
  description?: string;
  args?: CommandArgument[];
  options?: CommandOption[];
  /**
   * Whether the CLI starts a backend (from --backend, default auto) before `run`. Commands that
   * only read files, or pick backends themselves, say false.
   */
  needsBackend?: boolean;
  run(input: CommandInput): Promise<unknown> | unknown;
}

/**
 * A model/tensor file format that `nutshell inspect` can describe. `sniff` looks at the first bytes
 * (at least 16 are given when the file has them) and says whether the file is in this format.
 */
export interface FileFormat {
  /** Short name printed as `"format"`, e.g. "safetensors", "gguf". */
  name: string;
  /** File extensions, with the dot: [".safetensors"]. */
  extensions: string[];
  sniff(head: Uint8Array): boolean;
  /** JSON-ready description; throws FormatError on malformed input. */
  inspect(bytes: Uint8Array, options: { values?: boolean }): unknown;
}
