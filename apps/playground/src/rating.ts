import { Rng } from '@nutshell/core';

/** A comparison to rate: two outputs of named systems for the same prompt. */
export interface RatingPair {
  id: string;
  prompt?: string;
  a: { system: string; text: string };
  b: { system: string; text: string };
}

export interface RatingJudgement {
  id: string;
  /** The system shown on the left (for auditing the blinding). */
  left: string;
  right: string;
  /** The system the rater preferred. */
  winner: string;
  loser: string;
  /** Milliseconds from showing the pair to the choice. */
  ms: number;
}

/**
 * The export: one record per judgement plus per-system win counts; `nutshell-2afc` v1. Systems are
 * named only here, never in the page while rating.
 */
export interface RatingExport {
  format: 'nutshell-2afc';
  version: 1;
  seed: number;
  created: string;
  judgements: RatingJudgement[];
  wins: Record<string, number>;
}

/** Reads `{ pairs: [{ id?, prompt?, a: {system, text}, b: {system, text} }] }` or the shorthand `{ systems: [A, B], pairs: [{ prompt?, a, b }] }`. */
export function parsePairs(json: unknown): RatingPair[] {
  const j = json as { systems?: unknown; pairs?: unknown };
  if (!j || !Array.isArray(j.pairs)) throw new Error('expected a JSON object with a "pairs" array');
  const systems = Array.isArray(j.systems) ? (j.systems as string[]) : ['A', 'B'];
  return j.pairs.map((p: any, i: number) => {
    const side = (v: unknown, fallback: string) => (typeof v === 'string' ? { system: fallback, text: v } : { system: String((v as any)?.system ?? fallback), text: String((v as any)?.text ?? '') });
    if (p?.a === undefined || p?.b === undefined) throw new Error(`pair ${i}: needs "a" and "b"`);
    return { id: String(p.id ?? i), prompt: p.prompt === undefined ? undefined : String(p.prompt), a: side(p.a, systems[0]!), b: side(p.b, systems[1]!) };
  });
}

/** Blinds a list: shuffles the order of pairs and which system goes left, from a seed. */
export function blind(pairs: readonly RatingPair[], seed: number): { pair: RatingPair; leftIsA: boolean }[] {
  const rng = new Rng(seed);
  const order = pairs.map((pair) => ({ pair, leftIsA: rng.uniform() < 0.5, key: rng.uniform() }));
  return order.sort((x, y) => x.key - y.key).map(({ pair, leftIsA }) => ({ pair, leftIsA }));
}

export function summarize(judgements: readonly RatingJudgement[], seed: number): RatingExport {
  const wins: Record<string, number> = {};
  for (const j of judgements) {
    wins[j.winner] = (wins[j.winner] ?? 0) + 1;
    wins[j.loser] ??= 0;
  }
  return { format: 'nutshell-2afc', version: 1, seed, created: new Date().toISOString(), judgements: [...judgements], wins };
}
