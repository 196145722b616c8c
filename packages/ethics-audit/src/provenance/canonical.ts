import { FormatError } from '@nutshell/core';

/**
 * Canonical JSON for hashing and signing: object keys sorted by UTF-16 code units, no whitespace,
 * undefined members dropped, non-finite numbers refused (so a value has exactly one encoding).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new FormatError('canonical-json', `numbers must be finite, got ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new FormatError('canonical-json', `cannot encode a ${typeof value}`);
  }
}
