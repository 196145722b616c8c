import { InvalidArgumentError } from './errors.js';

/** The small part of semver that plugin `requires` need: x.y.z, ^, ~, >=, >, <=, <, =, *, AND (space) and OR (||). */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((alt) => {
    const parts = alt.trim().split(/\s+/).filter(Boolean);
    return parts.length === 0 || parts.every((c) => matches(v, c));
  });
}

type Triple = [number, number, number];

export function parseVersion(text: string): Triple {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`expected a version like 1.2.3, got ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function cmp(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function matches(v: Triple, comparator: string): boolean {
  if (comparator === '*' || comparator === 'x') return true;
  const m = /^(\^|~|>=|<=|>|<|=)?(.+)$/.exec(comparator)!;
  const op = m[1] ?? '=';
  const base = parseVersion(m[2]!);
  const c = cmp(v, base);
  switch (op) {
    case '=': return c === 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '~': return c >= 0 && v[0] === base[0] && v[1] === base[1];
    default: {
      // ^: same left-most non-zero component
      if (c < 0) return false;
      if (base[0] > 0) return v[0] === base[0];
      if (base[1] > 0) return v[0] === 0 && v[1] === base[1];
      return v[0] === 0 && v[1] === 0 && v[2] === base[2];
    }
  }
}
