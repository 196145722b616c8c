import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nutshell/core';
import { gatherRows, matchingLabelIndices } from '@nutshell/diffusion';

describe('real reference sets for FID', () => {
  // A class-sorted dataset, as loadMnist() returns: the first examples are all of class 0.
  const labels = Array.from({ length: 300 }, (_, i) => Math.floor(i / 30));
  const wanted = Array.from({ length: 50 }, (_, i) => i % 10);

  it('picks examples with the samples’ labels, not the first n (one class) of a sorted set', () => {
    const idx = matchingLabelIndices(labels, wanted, { seed: 1 });
    expect(Array.from(idx, (i) => labels[i])).toEqual(wanted);
    expect(new Set(idx).size).toBe(idx.length); // no repeats
    expect(Array.from(idx)).toEqual(Array.from(matchingLabelIndices(labels, wanted, { seed: 1 })));
    expect(Array.from(idx)).not.toEqual(Array.from(matchingLabelIndices(labels, wanted, { seed: 2 })));
    expect(() => matchingLabelIndices(labels, Array(31).fill(3))).toThrow(InvalidArgumentError);
  });

  it('gathers rows of a flat row-major array', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i); // 4 rows of 3
    expect(Array.from(gatherRows(data, [2, 0], 3))).toEqual([6, 7, 8, 0, 1, 2]);
    expect(() => gatherRows(data, [4], 3)).toThrow(InvalidArgumentError);
  });
});
