/**
 * Typed errors. Every error nutshell throws at an API boundary is a `NutshellError` with a stable
 * `code`, and its message says what was expected and what was given.
 */
export class NutshellError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A tensor had the wrong shape or rank. */
export class ShapeError extends NutshellError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** A tensor or buffer had the wrong dtype. */
export class DTypeError extends NutshellError {
  constructor(message: string) {
    super('E_DTYPE', message);
  }
}

/** An argument was out of range or of the wrong kind. */
export class InvalidArgumentError extends NutshellError {
  constructor(message: string) {
    super('E_ARGUMENT', message);
  }
}

/** A backend was asked for that is not installed or cannot start here. */
export class BackendUnavailableError extends NutshellError {
  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly packageName?: string,
  ) {
    super(
      'E_BACKEND_UNAVAILABLE',
      `backend '${backend}' is not available${packageName ? ` (package ${packageName})` : ''}: ${reason}`,
    );
  }
}

/** A plugin could not be registered: duplicate name, unmet requirement, incompatible version. */
export class PluginError extends NutshellError {
  constructor(message: string) {
    super('E_PLUGIN', message);
  }
}

/** A file or byte buffer is not in the format it claims to be. */
export class FormatError extends NutshellError {
  constructor(
    readonly format: string,
    message: string,
  ) {
    super('E_FORMAT', `${format}: ${message}`);
  }
}

/** Short, bounded description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length > 8 ? `array of length ${value.length}` : `[${value.map(describe).join(', ')}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === 'object' && 'shape' in value && 'dtype' in value) {
    const t = value as { shape: number[]; dtype: string };
    return `${t.dtype} tensor of shape [${t.shape.join(', ')}]`;
  }
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return Object.prototype.toString.call(value).slice(8, -1).toLowerCase();
}
