/**
 * Incremental pair merging, the engine of BPE-style training (the byte-level BPE trainer and the
 * WordPiece trainer both learn merges this way). Words are id sequences with a frequency; the merger
 * keeps each adjacent pair's total count and the words it occurs in, so a merge only revisits the
 * words that contain the pair. The most frequent pair wins; **ties** go to the smaller left id, then
 * the smaller right id, so results never depend on hash or insertion order.
 */

/** Token ids must stay below this (a pair is stored as left * MAX_PAIR_ID + right). */
export const MAX_PAIR_ID = 0x200000;

/** Max-heap of (count, left, right) with the documented tie-break; stale entries are skipped on pop. */
class PairHeap {
  private readonly c: number[] = [];
  private readonly k: number[] = [];
  get size(): number {
    return this.c.length;
  }
  /** a before b: higher count, then smaller pair key (smaller left id, then smaller right id). */
  private before(i: number, j: number): boolean {
    return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    [this.c[i], this.c[j]] = [this.c[j]!, this.c[i]!];
    [this.k[i], this.k[j]] = [this.k[j]!, this.k[i]!];
  }
  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const n = this.c.length;
    if (!n) return undefined;
    const top: [number, number] = [this.c[0]!, this.k[0]!];
    this.swap(0, n - 1);
    this.c.pop();
    this.k.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.c.length && this.before(l, m)) m = l;
      if (r < this.c.length && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

export class PairMerger {
  private readonly pairCount = new Map<number, number>();
  private readonly pairWords = new Map<number, Set<number>>();
  private readonly heap = new PairHeap();

  /** `words` (id sequences) are taken over and rewritten by `merge`; `freq[w]` is word w's count. */
  constructor(
    private readonly words: number[][],
    private readonly freq: readonly number[],
  ) {
    words.forEach((word, w) => {
      for (let i = 0; i < word.length - 1; i++) this.add(word[i]! * MAX_PAIR_ID + word[i + 1]!, w, freq[w]!);
    });
    for (const [key, count] of this.pairCount) this.heap.push(count, key);
  }

  /** The pair to merge next, or undefined when no pair occurs at least max(minCount, 1) times. */
  best(minCount: number): { left: number; right: number; count: number } | undefined {
    let top = this.heap.pop();
    while (top && this.pairCount.get(top[1]) !== top[0]) top = this.heap.pop();
    if (!top || top[0] < Math.max(minCount, 1)) return undefined;
    return { left: Math.floor(top[1] / MAX_PAIR_ID), right: top[1] % MAX_PAIR_ID, count: top[0] };
  }

  /** Replaces every occurrence of (left, right) by `id`, updating the counts of the pairs around it. */
  merge(left: number, right: number, id: number): void {
    const key = left * MAX_PAIR_ID + right;
    const changed = new Set<number>();
    for (const w of this.pairWords.get(key) ?? []) {
      const word = this.words[w]!;
      const f = this.freq[w]!;
      let has = false;
      for (let i = 0; i < word.length - 1 && !has; i++) has = word[i] === left && word[i + 1] === right;
      if (!has) continue;
      for (let i = 0; i < word.length - 1; i++) {
        const k = word[i]! * MAX_PAIR_ID + word[i + 1]!;
        this.add(k, w, -f);
        changed.add(k);
      }
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === left && word[i + 1] === right) {
          next.push(id);
          i++;
        } else next.push(word[i]!);
      }
      this.words[w] = next;
      for (let i = 0; i < next.length - 1; i++) {
        const k = next[i]! * MAX_PAIR_ID + next[i + 1]!;
        this.add(k, w, f);
        changed.add(k);
      }
    }
    this.pairWords.delete(key);
    for (const k of changed) {
      const count = this.pairCount.get(k)!;
      if (count > 0) this.heap.push(count, k);
      else {
        this.pairCount.delete(k);
        this.pairWords.delete(k);
      }
    }
  }

  private add(key: number, w: number, delta: number): void {
    this.pairCount.set(key, (this.pairCount.get(key) ?? 0) + delta);
    if (delta > 0) {
      let set = this.pairWords.get(key);
      if (!set) this.pairWords.set(key, (set = new Set()));
      set.add(w);
    }
  }
}
