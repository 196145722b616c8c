/** Counts of word n-grams of orders [minOrder, maxOrder], keyed by the tokens joined with a space. */
export function wordNgrams(tokens: readonly string[], minOrder: number, maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = minOrder; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** Counts of n-grams of one order over a sequence of symbols (code points or tokens). */
export function symbolNgrams(symbols: readonly string[], n: number, joiner: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= symbols.length; i++) {
    const key = n === 1 ? symbols[i]! : symbols.slice(i, i + n).join(joiner);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export function sumCounts(counts: Map<string, number>): number {
  let s = 0;
  for (const v of counts.values()) s += v;
  return s;
}
