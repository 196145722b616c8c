import { describe, expect, it } from 'vitest';
import { disposeAll, measureTensors, tensor, tensorCount, tidy, useBackend } from '@nutshell/core';
import { expectNoLeak, TensorLeakError } from '@nutshell/core/testing';

describe('memory discipline', () => {
  it('disposeAll frees tensors in nested structures', async () => {
    await useBackend('cpu');
    const before = tensorCount();
    const a = tensor([1]);
    const nested = { a, list: [tensor([2]), { deep: tensor([3]) }], map: new Map([['m', tensor([4])]]), again: a };
    expect(tensorCount()).toBe(before + 4);
    disposeAll(nested);
    expect(tensorCount()).toBe(before);
  });

  it('measureTensors counts what a function leaves alive', async () => {
    const kept = await measureTensors(() => tensor([1, 2, 3]));
    expect(kept.leaked).toBe(1);
    expect(kept.leakedBytes).toBe(12);
    kept.result.dispose();
    const clean = await measureTensors(() => tidy(() => tensor([1]).add(1).sum().arraySync()));
    expect(clean.leaked).toBe(0);
  });

  it('expectNoLeak disposes the result and throws on a leak', async () => {
    await expectNoLeak(() => tidy(() => tensor([1, 2]).mul(2)));
    let leaked: unknown;
    const err = await expectNoLeak(() => {
      leaked = tidy(() => tensor([1, 2]).mul(2));
      return 0;
    }, 'mul').catch((e) => e);
    expect(err).toBeInstanceOf(TensorLeakError);
    expect(err.message).toBe('mul: expected no new live tensors, found 1 (8 bytes)');
    disposeAll(leaked);
  });
});
