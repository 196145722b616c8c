import { NutshellError, describe } from '@nutshell/core';
import { WEIGHT_SCHEMES, type WeightQuantConfig, type WeightScheme } from './packed-weight.js';

/** A recipe or rule was malformed (unknown scheme, bad group size, a name that matches nothing…). */
export class RecipeError extends NutshellError {
  constructor(message: string) {
    super('E_RECIPE', `quantization recipe: ${message}`);
  }
}

/** Which layer types a rule applies to. */
export type LayerKind = 'linear' | 'conv2d' | 'embedding';
const KINDS: readonly LayerKind[] = ['linear', 'conv2d', 'embedding'];

/** A name pattern: an exact dotted module path, or a RegExp tested against it. */
export type NamePattern = string | RegExp;

/** How matching layers are quantized; `scheme: 'none'` keeps them in float32. */
export interface LayerQuantSpec extends Omit<WeightQuantConfig, 'scheme' | 'scale'> {
  scheme: WeightScheme | 'none';
  /** Activation quantization: weight-only (default) or dynamic per call. Static needs calibration (quantizeStatic). */
  activation?: 'none' | 'dynamic';
}

export interface QuantRule extends LayerQuantSpec {
  /** Module paths this rule applies to (first matching rule wins). */
  match: NamePattern | NamePattern[];
  /** Restrict to these layer types (default: any quantizable type). */
  types?: LayerKind[];
}

/**
 * A model quantization recipe: rules tried in order, then `default` for the remaining layers of the
 * `types` list; `skip` patterns are never quantized. A string is shorthand for `{ default: { scheme } }`.
 */
export interface QuantRecipe {
  rules?: QuantRule[];
  default?: LayerQuantSpec | WeightScheme | 'none';
  skip?: NamePattern[];
  /** Layer types the default applies to (default: linear and conv2d; embeddings only when named). */
  types?: LayerKind[];
}

export type RecipeInput = QuantRecipe | WeightScheme;

export interface NormalizedRecipe {
  rules: (LayerQuantSpec & { match: NamePattern[]; types: LayerKind[] })[];
  default: LayerQuantSpec;
  skip: NamePattern[];
  types: LayerKind[];
}

function checkPatterns(p: unknown, where: string): NamePattern[] {
  const list = Array.isArray(p) ? p : [p];
  for (const x of list) if (typeof x !== 'string' && !(x instanceof RegExp)) throw new RecipeError(`${where}: a name pattern must be a string or a RegExp, got ${describe(x)}`);
  return list as NamePattern[];
}

function checkKinds(t: unknown, where: string, fallback: LayerKind[]): LayerKind[] {
  if (t === undefined) return fallback;
  if (!Array.isArray(t) || t.some((k) => !KINDS.includes(k))) throw new RecipeError(`${where}: types must be a list of ${KINDS.join(', ')}, got ${describe(t)}`);
  return t as LayerKind[];
}

export function checkSpec(spec: unknown, where: string): LayerQuantSpec {
  const s = (typeof spec === 'string' ? { scheme: spec } : spec) as LayerQuantSpec;
  if (!s || typeof s !== 'object') throw new RecipeError(`${where}: expected a spec object or a scheme name, got ${describe(spec)}`);
  if (s.scheme !== 'none' && !WEIGHT_SCHEMES.includes(s.scheme)) throw new RecipeError(`${where}: scheme must be one of ${[...WEIGHT_SCHEMES, 'none'].join(', ')}, got ${describe(s.scheme)}`);
  if (s.groupSize !== undefined && (!Number.isInteger(s.groupSize) || s.groupSize < 1)) throw new RecipeError(`${where}: groupSize must be a positive integer, got ${describe(s.groupSize)}`);
  if ((s.scheme === 'nf4' || s.scheme === 'fp4') && s.groupSize !== undefined && s.groupSize % 2) throw new RecipeError(`${where}: ${s.scheme} block size must be even, got ${s.groupSize}`);
  if ((s.scheme === 'nf4' || s.scheme === 'fp4') && s.symmetric === false) throw new RecipeError(`${where}: ${s.scheme} is absmax-scaled; symmetric: false is not available`);
  if (s.activation !== undefined && s.activation !== 'none' && s.activation !== 'dynamic') throw new RecipeError(`${where}: activation must be none or dynamic, got ${describe(s.activation)}`);
  if (s.activation === 'dynamic' && s.scheme !== 'int8') throw new RecipeError(`${where}: dynamic activation quantization goes with int8 weights, got ${s.scheme}`);
  return s;
}

export function normalizeRecipe(recipe: RecipeInput): NormalizedRecipe {
  const r: QuantRecipe = typeof recipe === 'string' ? { default: recipe } : recipe;
  if (!r || typeof r !== 'object') throw new RecipeError(`expected a recipe object or a scheme name (${WEIGHT_SCHEMES.join(', ')}), got ${describe(recipe)}`);
  const known = new Set(['rules', 'default', 'skip', 'types']);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new RecipeError(`unknown key '${k}' (expected rules, default, skip, types)`);
  const types = checkKinds(r.types, 'types', ['linear', 'conv2d']);
  const rules = (r.rules ?? []).map((rule, i) => {
    if (!rule || typeof rule !== 'object' || rule.match === undefined) throw new RecipeError(`rules[${i}]: expected { match, scheme, … }, got ${describe(rule)}`);
    return { ...checkSpec(rule, `rules[${i}]`), match: checkPatterns(rule.match, `rules[${i}].match`), types: checkKinds(rule.types, `rules[${i}]`, [...KINDS]) };
  });
  if (r.rules !== undefined && !Array.isArray(r.rules)) throw new RecipeError('rules must be an array');
  return { rules, default: r.default === undefined ? { scheme: 'none' } : checkSpec(r.default, 'default'), skip: checkPatterns(r.skip ?? [], 'skip'), types };
}

export function matches(pattern: NamePattern, name: string): boolean {
  if (typeof pattern === 'string') return pattern === name;
  pattern.lastIndex = 0;
  return pattern.test(name);
}

/** The spec for a layer (or null to leave it alone). */
export function specFor(recipe: NormalizedRecipe, name: string, kind: LayerKind): LayerQuantSpec | null {
  if (recipe.skip.some((p) => matches(p, name))) return null;
  for (const rule of recipe.rules) {
    if (rule.types.includes(kind) && rule.match.some((p) => matches(p, name))) return rule.scheme === 'none' ? null : rule;
  }
  if (!recipe.types.includes(kind) || recipe.default.scheme === 'none') return null;
  return recipe.default;
}

/** Exact-name patterns that name no candidate (typos in a recipe should not pass silently). */
export function unmatchedExactNames(recipe: NormalizedRecipe, names: readonly string[]): string[] {
  const set = new Set(names);
  const exact = [...recipe.skip, ...recipe.rules.flatMap((r) => r.match)].filter((p): p is string => typeof p === 'string');
  return exact.filter((p) => !set.has(p));
}
