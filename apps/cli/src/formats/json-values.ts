export type JsonValue = number | string | boolean;

/** JSON has no NaN, infinities or bigints: those become strings (bigints numbers when exact). */
export function toJsonValues(values: ArrayLike<unknown> | Iterable<unknown>): JsonValue[] {
  const list = Symbol.iterator in Object(values) ? Array.from(values as Iterable<unknown>) : Array.from(values as ArrayLike<unknown>);
  return list.map((v) => {
    if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (typeof v === 'boolean' || typeof v === 'string') return v;
    return String(v);
  });
}
