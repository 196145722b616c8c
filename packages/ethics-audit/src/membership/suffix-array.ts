/**
 * Suffix array of an integer sequence by prefix doubling with counting sorts (Manber & Myers 1993):
 * O(n log n) time, a few Int32Arrays of memory, stops as soon as all ranks are distinct (after
 * log₂ of the longest repeat rounds), so several MB of text index in seconds.
 */
export function suffixArray(s: Int32Array): Int32Array {
  const n = s.length;
  const sa = new Int32Array(n);
  if (n === 0) return sa;
  // Initial ranks: the symbols compressed to 0…σ−1.
  const sorted = Int32Array.from(new Set(s)).sort();
  const code = new Map<number, number>();
  sorted.forEach((v, i) => code.set(v, i));
  let rank = new Int32Array(n), next = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[i] = code.get(s[i]!)!;
  let classes = sorted.length;
  const tmp = new Int32Array(n);
  let cnt = new Int32Array(Math.max(classes, n) + 1);
  // Sort by the first symbol.
  for (let i = 0; i < n; i++) cnt[rank[i]!]!++;
  for (let c = 1; c < classes; c++) cnt[c]! += cnt[c - 1]!;
  for (let i = n - 1; i >= 0; i--) sa[--cnt[rank[i]!]!] = i;
  for (let k = 1; classes < n; k <<= 1) {
    // Order by the second half: suffixes without one first, then the previous order shifted by k.
    let p = 0;
    for (let i = n - k; i < n; i++) tmp[p++] = i;
    for (let j = 0; j < n; j++) if (sa[j]! >= k) tmp[p++] = sa[j]! - k;
    // Stable counting sort by the first half.
    cnt = cnt.length >= classes ? cnt : new Int32Array(classes);
    cnt.fill(0, 0, classes);
    for (let i = 0; i < n; i++) cnt[rank[i]!]!++;
    for (let c = 1; c < classes; c++) cnt[c]! += cnt[c - 1]!;
    for (let j = n - 1; j >= 0; j--) { const i = tmp[j]!; sa[--cnt[rank[i]!]!] = i; }
    next[sa[0]!] = 0;
    classes = 1;
    for (let j = 1; j < n; j++) {
      const a = sa[j - 1]!, b = sa[j]!;
      const same = rank[a] === rank[b] && (a + k < n ? rank[a + k]! : -1) === (b + k < n ? rank[b + k]! : -1);
      next[b] = same ? next[a]! : classes++;
    }
    [rank, next] = [next, rank];
  }
  return sa;
}
