import { NutshellError } from '@nutshell/core';

/**
 * The command line itself was wrong (unknown command or option, missing argument): the CLI exits
 * with status 2, like other Unix tools, instead of 1 for bad input values and failed commands.
 */
export class UsageError extends NutshellError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** A NutshellError with context in front of the error's message, keeping its code and name. */
export function withContext(err: unknown, context: string): unknown {
  if (!(err instanceof Error)) return err;
  const own = (err as unknown as { code?: unknown }).code;
  const code = typeof own === 'string' ? own : 'E_FAILED';
  const wrapped = new NutshellError(code, `${context}: ${err.message}`, { cause: err });
  wrapped.name = err.name;
  return wrapped;
}
