import { InvalidArgumentError, Rng } from '@nutshell/core';
import { VerbatimIndex, suffixArray, verbatimOverlap } from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

const randStr = (rng: Rng, n: number, alphabet = 'abc') => Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]).join('');

/** Longest prefix of q[i…] contained in one of the docs, by brute force. */
function bruteMs(docs: string[], q: string): number[] {
  return Array.from({ length: q.length }, (_, i) => {
    let best = 0;
    for (const d of docs) for (let s = 0; s < d.length; s++) {
      let l = 0;
      while (i + l < q.length && s + l < d.length && d[s + l] === q[i + l]) l++;
      best = Math.max(best, l);
    }
    return best;
  });
}

describe('suffix array and verbatim overlap', () => {
  it('suffixArray sorts all suffixes (vs a brute-force sort)', () => {
    const rng = new Rng(1);
    for (const n of [0, 1, 2, 17, 300]) {
      const s = Int32Array.from({ length: n }, () => rng.int(n % 3 === 0 ? 2 : 5) - (n === 17 ? 2 : 0));
      const brute = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
        for (let d = 0; ; d++) {
          if (a + d >= n) return -1;
          if (b + d >= n) return 1;
          if (s[a + d] !== s[b + d]) return s[a + d]! - s[b + d]!;
        }
      });
      expect(Array.from(suffixArray(s))).toEqual(brute);
    }
  });

  it('matching statistics, positions and maximal spans match brute force on random data', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 25; trial++) {
      const docs = Array.from({ length: 1 + rng.int(4) }, () => randStr(rng, 20 + rng.int(120)));
      // Queries: random text with pieces copied from the corpus.
      let q = randStr(rng, rng.int(20));
      for (let k = 0; k < 3; k++) { const d = docs[rng.int(docs.length)]!; const s = rng.int(d.length); q += d.slice(s, s + 5 + rng.int(30)) + randStr(rng, rng.int(10)); }
      const idx = new VerbatimIndex(docs);
      const st = idx.matchingStatistics(q);
      const ref = bruteMs(docs, q);
      expect(Array.from(st.length)).toEqual(ref);
      for (let i = 0; i < q.length; i++) {
        if (!ref[i]) { expect(st.pos[i]).toBe(-1); continue; }
        const { doc, offset } = idx.locate(st.pos[i]!);
        expect(docs[doc]!.slice(offset, offset + ref[i]!)).toBe(q.slice(i, i + ref[i]!));
        // Occurrence count by brute force.
        const sub = q.slice(i, i + ref[i]!);
        let c = 0;
        for (const d of docs) for (let s = 0; s + sub.length <= d.length; s++) if (d.startsWith(sub, s)) c++;
        expect(st.count[i]).toBe(c);
      }
      const k = 8;
      const spans = idx.spans(q, k);
      const bruteSpans = ref.map((l, i) => [i, l] as const).filter(([i, l]) => l >= k && (i === 0 || ref[i - 1]! < l + 1));
      expect(spans.map((s) => [s.start, s.length])).toEqual(bruteSpans);
      for (const s of spans) expect(docs[s.doc]!.slice(s.docOffset, s.docOffset + s.length)).toBe(s.text);
      const chk = idx.check(q, k);
      expect(chk.longest?.length ?? 0).toBe(Math.max(0, ...ref));
      const grams = q.length - k + 1;
      expect(chk.ngramOverlap).toBeCloseTo(grams > 0 ? ref.slice(0, grams).filter((l) => l >= k).length / grams : 0, 12);
    }
  });

  it('never matches across document boundaries', () => {
    const idx = new VerbatimIndex(['hello wor', 'ld peace']);
    expect(idx.check('hello world peace', 3).longest?.length).toBe(9);
  });

  it('works on token ids with Carlini et al.-style 50-token spans, and with a tokenizer', () => {
    const rng = new Rng(3);
    const docs = Array.from({ length: 20 }, () => Array.from({ length: 500 }, () => rng.int(5000)));
    const leaked = docs[13]!.slice(100, 180);
    const gen = [[...Array.from({ length: 30 }, () => rng.int(5000)), ...leaked, 1, 2, 3], Array.from({ length: 200 }, () => rng.int(5000))];
    const r = verbatimOverlap(gen, docs, { minLength: 50 });
    expect(r.unit).toBe('token');
    expect(r.extractedCount).toBe(1);
    expect(r.texts[0]!.spans).toHaveLength(1);
    expect(r.texts[0]!.spans[0]).toMatchObject({ start: 30, length: 80, doc: 13, docOffset: 100, occurrences: 1 });
    expect(r.texts[1]!.extracted).toBe(false);
    expect(r.texts[1]!.longest!.length).toBeLessThan(4);
    expect(r.longestMatch).toBe(80);
    const words = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog'];
    const tok = { vocabSize: words.length, encode: (t: string) => t.split(' ').map((w) => words.indexOf(w)), decode: (ids: readonly number[]) => ids.map((i) => words[i]).join(' ') };
    const t = verbatimOverlap(['a dog sat on the mat'], ['the cat sat on the mat'], { minLength: 3, tokenizer: tok });
    expect(t.texts[0]!.spans.map((s) => [s.start, s.length, s.text])).toEqual([[2, 4, [2, 3, 0, 4]]]);
  });

  it('scales to a megabyte corpus with planted spans', () => {
    const rng = new Rng(11);
    const words = Array.from({ length: 3000 }, () => randStr(rng, 3 + rng.int(6), 'abcdefghijklmnopqrstuvwxyz'));
    const corpus: string[] = [];
    let size = 0;
    while (size < 1_000_000) { const d = Array.from({ length: 200 }, () => words[rng.int(words.length)]).join(' '); corpus.push(d); size += d.length; }
    const idx = new VerbatimIndex(corpus);
    expect(idx.size).toBeGreaterThanOrEqual(1_000_000);
    const src = corpus[321]!;
    const gen = `novel words here ${src.slice(50, 250)} and then more novel words`;
    const c = idx.check(gen, 100);
    expect(c.extracted).toBe(true);
    const sp = c.spans.find((s) => s.length >= 200)!;
    expect(corpus[sp.doc]!.slice(sp.docOffset, sp.docOffset + sp.length)).toBe(sp.text);
    expect(gen.slice(sp.start, sp.start + sp.length)).toBe(sp.text);
  });

  it('rejects malformed input', () => {
    expect(() => new VerbatimIndex([])).toThrow(InvalidArgumentError);
    expect(() => new VerbatimIndex([[1, -2]])).toThrow(InvalidArgumentError);
    expect(() => new VerbatimIndex('abc').spans('abc', 0)).toThrow(InvalidArgumentError);
    expect(() => verbatimOverlap('x' as never, 'abc')).toThrow(InvalidArgumentError);
  });
});
