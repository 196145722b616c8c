import { InvalidArgumentError } from '@nutshell/core';

/**
 * sacreBLEU's reference layout: `references[k][i]` is the k-th reference of segment i (one "stream"
 * per reference file). Checks the streams line up with the hypotheses and returns, per segment, the
 * non-empty references (sacreBLEU drops empty ones, allowing a variable number per segment) and the
 * `nrefs` signature value (a number, or "var").
 */
export function alignReferences(
  metric: string,
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
): { perSegment: string[][]; nrefs: number | 'var' } {
  if (!Array.isArray(hypotheses)) throw new InvalidArgumentError(`${metric}: hypotheses must be an array of strings`);
  if (!Array.isArray(references) || references.length === 0 || !references.every((r) => Array.isArray(r))) {
    throw new InvalidArgumentError(`${metric}: references must be a non-empty array of reference streams (string arrays), one per reference set`);
  }
  references.forEach((stream, k) => {
    if (stream.length !== hypotheses.length) {
      throw new InvalidArgumentError(
        `${metric}: reference stream ${k} has ${stream.length} lines but there are ${hypotheses.length} hypotheses (streams must be line-aligned)`,
      );
    }
  });
  const counts = new Set<number>();
  const perSegment = hypotheses.map((hyp, i) => {
    if (typeof hyp !== 'string') throw new InvalidArgumentError(`${metric}: hypothesis ${i} is not a string`);
    const refs = references.map((s) => s[i]).filter((r): r is string => typeof r === 'string' && r !== '');
    if (refs.length === 0) throw new InvalidArgumentError(`${metric}: segment ${i} has only empty references`);
    counts.add(refs.length);
    return refs;
  });
  const nrefs = counts.size === 1 ? [...counts][0]! : counts.size === 0 ? references.length : 'var';
  return { perSegment, nrefs };
}
