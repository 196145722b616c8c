import { describe, expect, it } from 'vitest';
import {
  assertDType, assertInRange, assertPositiveInt, assertRank, assertShape, describe as describeValue,
  DTypeError, InvalidArgumentError, ShapeError, zeros, NutshellError,
} from '@nutshell/core';

describe('validation at API boundaries', () => {
  const x = zeros([32, 28, 28]);
  it('assertShape says what was expected and what was given', () => {
    expect(() => assertShape('images', x, [null, 28, 28])).not.toThrow();
    expect(() => assertShape('images', x, [null, 784])).toThrow(new ShapeError('images: expected shape [*, 784], got [32, 28, 28]'));
  });
  it('assertRank and assertDType', () => {
    expect(() => assertRank('x', x, [2, 4])).toThrow('x: expected rank 2 or 4, got rank 3 (shape [32, 28, 28])');
    expect(() => assertDType('labels', x, 'int32')).toThrow(DTypeError);
    expect(() => assertDType('labels', x, ['int32', 'bool'])).toThrow('labels: expected dtype int32 or bool, got float32');
  });
  it('number checks', () => {
    expect(() => assertPositiveInt('steps', 2.5)).toThrow('steps: expected a positive integer, got 2.5');
    expect(() => assertPositiveInt('steps', '3')).toThrow(InvalidArgumentError);
    expect(() => assertInRange('p', 1.5, 0, 1)).toThrow('p: expected a number in [0, 1], got 1.5');
    expect(() => assertInRange('p', Number.NaN, 0, 1)).toThrow(InvalidArgumentError);
  });
  it('errors carry stable codes and describe values briefly', () => {
    const e = new ShapeError('m');
    expect(e).toBeInstanceOf(NutshellError);
    expect(e.code).toBe('E_SHAPE');
    expect(e.name).toBe('ShapeError');
    expect(describeValue(x)).toBe('float32 tensor of shape [32, 28, 28]');
    expect(describeValue(new Float32Array(4))).toBe('Float32Array of 16 bytes');
    expect(describeValue('x'.repeat(100))).toMatch(/…"$/);
  });
});
