import { InvalidArgumentError, tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { GAN_LOSSES, discriminatorLoss, generatorLoss } from '@nutshell/gan';
import { describe, expect, it } from 'vitest';
import { close, sp, val } from './helpers.js';

const R = [2, -1];
const F = [0.5, -3];
const r = () => tf.tensor(R);
const f = () => tf.tensor(F);
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

describe('GAN losses against hand values', () => {
  it('minimax / non-saturating discriminator: −log σ(r) − log(1 − σ(f))', () => {
    const want = mean(R.map((x) => sp(-x))) + mean(F.map((x) => sp(x)));
    close(val(discriminatorLoss('minimax', r(), f())), want);
    close(val(discriminatorLoss('non-saturating', r(), f())), want);
    // D(x) = D(G(z)) = 0 logits: 2·ln 2.
    close(val(discriminatorLoss('minimax', tf.zeros([3]), tf.zeros([3]))), 2 * Math.LN2);
  });
  it('generator losses', () => {
    close(val(generatorLoss('minimax', f())), -mean(F.map((x) => sp(x))));
    close(val(generatorLoss('non-saturating', f())), mean(F.map((x) => sp(-x))));
    close(val(generatorLoss('wasserstein', f())), 1.25);
    close(val(generatorLoss('hinge', f())), 1.25);
    close(val(generatorLoss('lsgan', f())), 0.5 * ((0.5 - 1) ** 2 + 16) / 2);
  });
  it('wasserstein, hinge and least-squares critics', () => {
    close(val(discriminatorLoss('wasserstein', r(), f())), -1.25 - 0.5);
    close(val(discriminatorLoss('hinge', r(), f())), 1 + 0.75);
    close(val(discriminatorLoss('lsgan', r(), f())), 3.5625);
  });
  it('one-sided label smoothing changes only the real term', () => {
    const want = 0.9 * mean(R.map((x) => sp(-x))) + 0.1 * mean(R.map((x) => sp(x))) + mean(F.map((x) => sp(x)));
    close(val(discriminatorLoss('non-saturating', r(), f(), { realLabel: 0.9 })), want);
    close(val(discriminatorLoss('lsgan', r(), f(), { realLabel: 0.9 })), 0.5 * ((1.1 ** 2 + 1.9 ** 2) / 2 + 4.625));
    expect(() => discriminatorLoss('wasserstein', r(), f(), { realLabel: 0.9 })).toThrow(InvalidArgumentError);
    expect(() => discriminatorLoss('minimax', r(), f(), { realLabel: 1.5 })).toThrow(InvalidArgumentError);
  });
  it('is stable for huge logits', () => {
    const big = tf.tensor([100, -100]);
    expect(Number.isFinite(val(discriminatorLoss('minimax', big, big)))).toBe(true);
    close(val(generatorLoss('non-saturating', tf.tensor([-100]))), 100);
  });
  it('the non-saturating generator gradient is −σ(−f)/n', () => {
    const g = tf.grad((x: tf.Tensor) => generatorLoss('non-saturating', x))(f());
    close(g.dataSync(), F.map((x) => -1 / (1 + Math.exp(x)) / F.length));
  });
  it('rejects unknown kinds and leaks nothing', async () => {
    expect(() => generatorLoss('nope' as never, f())).toThrow(InvalidArgumentError);
    const a = r();
    const b = f();
    for (const k of GAN_LOSSES) await expectNoLeak(() => [discriminatorLoss(k, a, b), generatorLoss(k, b)]);
  });
});
