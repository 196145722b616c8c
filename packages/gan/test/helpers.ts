import { tf, type Tensor } from '@nutshell/core';
import { expect } from 'vitest';

export const val = (t: Tensor): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};
export const arr = (t: Tensor): number[] => Array.from(t.dataSync());
export const sp = (x: number): number => Math.log1p(Math.exp(x));
export function close(a: ArrayLike<number> | number, b: ArrayLike<number> | number, tol = 1e-5): void {
  const A = typeof a === 'number' ? [a] : Array.from(a);
  const B = typeof b === 'number' ? [b] : Array.from(b);
  expect(A.length).toBe(B.length);
  A.forEach((x, i) => expect(Math.abs(x - B[i]!), `index ${i}: ${x} vs ${B[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(B[i]!))));
}
export { tf };
