/** One continuation of a beam: beam index, next token id and the new total log-probability. */
export interface BeamCandidate {
  b: number;
  id: number;
  score: number;
}

/**
 * The k best continuations over all beams (score = beam's score + the token's log-probability),
 * best first; ties keep the earlier beam and the smaller id. Beam search takes 2N of them so that
 * beams ending in a stop token can leave without starving the N live beams (GPT and T5 share this).
 */
export function bestContinuations(beamScores: readonly number[], logProbRows: readonly ArrayLike<number>[], k: number): BeamCandidate[] {
  const top: BeamCandidate[] = [];
  logProbRows.forEach((r, b) => {
    for (let id = 0; id < r.length; id++) {
      const s = beamScores[b]! + r[id]!;
      if (top.length === k && s <= top[k - 1]!.score) continue;
      let i = top.length;
      while (i > 0 && top[i - 1]!.score < s) i--;
      top.splice(i, 0, { b, id, score: s });
      if (top.length > k) top.pop();
    }
  });
  return top;
}
