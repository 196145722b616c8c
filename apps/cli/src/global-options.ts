import type { CommandOption } from '@nutshell/core';

export const BACKEND_CHOICES = ['auto', 'cpu', 'wasm', 'native', 'webgpu'] as const;

/** Options every command accepts, before or after the command name. */
export const GLOBAL_OPTIONS: readonly CommandOption[] = [
  { name: 'json', type: 'boolean', description: 'print exactly one JSON document on stdout (the result)', default: false },
  { name: 'seed', type: 'number', description: 'seed for everything random (default 0)' },
  { name: 'backend', type: 'string', description: `backend to run on: ${BACKEND_CHOICES.join('|')}`, default: 'auto' },
  { name: 'out', type: 'string', description: 'directory for files a command writes' },
  { name: 'help', short: 'h', type: 'boolean', description: 'show usage (of the command, if one is given)', default: false },
  { name: 'version', type: 'boolean', description: 'print the version', default: false },
];
