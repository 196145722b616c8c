import { tf } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nativeBackend, { probeNativeAddon } from '@nutshell/backend-native';
import { availability, expectClose, expectParity, randomTensor, run, skipNote } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

// Dilation cases are forward only: tfjs's conv2d gradient rejects dilations > 1.
const cases: Case[] = [
  { name: '3x3 stride 1 SAME', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 stride 2 VALID', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '3x3 stride 2 SAME on even size', x: [3, 8, 10, 2], w: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { name: '2x4 filter strides [2,1] SAME', x: [2, 7, 6, 3], w: [2, 4, 3, 2], strides: [2, 1], pad: 'same' },
  { name: 'explicit pads, stride 2', x: [2, 7, 8, 3], w: [3, 3, 3, 4], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'numeric pad 1', x: [1, 6, 6, 4], w: [3, 3, 4, 2], strides: 1, pad: 1 },
  { name: '1x1 stride 1 VALID (pointwise GEMM path)', x: [2, 5, 6, 8], w: [1, 1, 8, 6], strides: 1, pad: 'valid' },
  { name: '1x1 stride 2 VALID', x: [2, 5, 6, 8], w: [1, 1, 8, 6], strides: 2, pad: 'valid' },
  { name: 'filter larger than input, SAME', x: [1, 4, 4, 2], w: [5, 5, 2, 3], strides: 1, pad: 'same' },
  { name: 'dilation 2 SAME', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same', dilations: 2 },
  { name: 'dilations [2,3] VALID', x: [1, 11, 12, 2], w: [3, 2, 2, 3], strides: 1, pad: 'valid', dilations: [2, 3] },
  // The direct 3x3 kernel (src-c/conv3x3.c): 'same', stride 1, output channels a multiple of 8,
  // rows of at least 8; its input gradient needs input channels a multiple of 8 too.
  { name: '3x3 SAME direct kernel, ragged width (blocks of 4, 4, 2)', x: [2, 9, 10, 8], w: [3, 3, 8, 16], strides: 1, pad: 'same' },
  { name: '3x3 SAME direct kernel, 24 output channels (16 + 8)', x: [1, 5, 13, 16], w: [3, 3, 16, 24], strides: 1, pad: 'same' },
  { name: '3x3 SAME direct forward, one input channel (input gradient via im2col)', x: [3, 8, 9, 1], w: [3, 3, 1, 8], strides: 1, pad: 'same' },
  { name: '3x3 SAME narrow rows (im2col)', x: [2, 6, 5, 8], w: [3, 3, 8, 8], strides: 1, pad: 'same' },
];

describe.skipIf(!availability.available)(`native conv2d vs tfjs cpu${skipNote}`, () => {
  beforeAll(async () => {
    await nativeBackend.setup();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const c of cases) {
    it(`forward: ${c.name}`, async () => {
      await expectParity(() =>
        tf.conv2d(randomTensor('x', c.x) as tf.Tensor4D, randomTensor('w', c.w) as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1),
      );
    });
    if (c.dilations !== undefined) continue;
    it(`gradients (Conv2DBackpropInput, Conv2DBackpropFilter): ${c.name}`, async () => {
      await expectParity(() => {
        const x = randomTensor('x', c.x);
        const w = randomTensor('w', c.w);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))),
        )([x, w]);
      });
    });
  }

  it('runs on the addon (its im2col buffer grows), not on the cpu fallback', async () => {
    const probe = probeNativeAddon();
    if (!probe.ok) throw new Error(probe.reason);
    await run('native', () => tf.conv2d(randomTensor('x', [1, 40, 40, 8]) as tf.Tensor4D, randomTensor('w', [3, 3, 8, 4]) as tf.Tensor4D, 1, 'same'));
    expect(probe.addon.scratchBytes()).toBeGreaterThanOrEqual(40 * 40 * 3 * 3 * 8 * 4);
  });

  it('matches a hand-computed 2x2 convolution', async () => {
    // x = [[1,2],[3,4]] (one channel), w = all ones 2x2, VALID → 10; SAME → [[10,6],[7,4]].
    const x = () => tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const w = () => tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
    const [valid] = await run('native', () => tf.conv2d(x(), w(), 1, 'valid'));
    expect(Array.from(valid!.values)).toEqual([10]);
    const [same] = await run('native', () => tf.conv2d(x(), w(), 1, 'same'));
    expect(Array.from(same!.values)).toEqual([10, 6, 7, 4]);
  });

  it('conv2dTranspose (Conv2DBackpropInput) matches cpu', async () => {
    await expectParity(() =>
      tf.conv2dTranspose(randomTensor('y', [2, 4, 4, 5]) as tf.Tensor4D, randomTensor('w', [3, 3, 2, 5]) as tf.Tensor4D, [2, 8, 8, 2], 2, 'same'),
    );
  });

  it('fused conv2d with bias + relu, and its gradients, match cpu', async () => {
    const fused = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' });
    await expectParity(() => fused(randomTensor('x', [2, 6, 6, 3]), randomTensor('w', [3, 3, 3, 4]), randomTensor('b', [4])));
    await expectParity(() =>
      tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(fused(x, w, b))))([
        randomTensor('x', [2, 6, 6, 3]),
        randomTensor('w', [3, 3, 3, 4]),
        randomTensor('b', [4]),
      ]),
    );
    await expectParity(() =>
      tf.fused.conv2d({
        x: randomTensor('x', [1, 5, 5, 2]) as tf.Tensor4D,
        filter: randomTensor('w', [3, 3, 2, 3]) as tf.Tensor4D,
        strides: 2,
        pad: 'valid',
        bias: randomTensor('b', [3]),
        activation: 'leakyrelu',
        leakyreluAlpha: 0.3,
      }),
    );
  });

  it('falls back to the cpu kernel for NCHW', async () => {
    await expectParity(() =>
      tf.conv2d(randomTensor('x', [1, 3, 6, 6]) as tf.Tensor4D, randomTensor('w', [3, 3, 3, 2]) as tf.Tensor4D, 1, 'same', 'NCHW'),
    );
  });

  it('matches an independent direct convolution (not just the cpu backend)', async () => {
    const xShape = [1, 5, 6, 2] as const;
    const wShape = [3, 3, 2, 3] as const;
    const [out, x, w] = await run('native', () => {
      const xs = randomTensor('x', [...xShape]);
      const ws = randomTensor('w', [...wShape]);
      return [tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 2, 'same'), xs, ws];
    });
    // SAME with stride 2: out = ceil(5/2) x ceil(6/2) = 3x3; pad total = max((out-1)*2+3-in, 0).
    const [, H, W, C] = xShape;
    const [FH, FW, , OC] = wShape;
    const OH = 3, OW = 3;
    const padTop = Math.floor(Math.max((OH - 1) * 2 + FH - H, 0) / 2);
    const padLeft = Math.floor(Math.max((OW - 1) * 2 + FW - W, 0) / 2);
    const expected = new Float32Array(OH * OW * OC);
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let oc = 0; oc < OC; oc++) {
          let sum = 0;
          for (let fh = 0; fh < FH; fh++)
            for (let fw = 0; fw < FW; fw++)
              for (let c = 0; c < C; c++) {
                const ih = oh * 2 - padTop + fh;
                const iw = ow * 2 - padLeft + fw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                sum += x!.values[(ih * W + iw) * C + c]! * w!.values[((fh * FW + fw) * C + c) * OC + oc]!;
              }
          expected[(oh * OW + ow) * OC + oc] = sum;
        }
    expect(out!.shape).toEqual([1, OH, OW, OC]);
    expectClose(out!.values, expected);
  });

  it('leaks no tensors (forward, fused, gradients)', async () => {
    await tf.setBackend('native');
    const x = randomTensor('x', [2, 6, 6, 3]) as tf.Tensor4D;
    const w = randomTensor('w', [3, 3, 3, 4]) as tf.Tensor4D;
    const b = randomTensor('b', [4]);
    try {
      await expectNoLeak(() => tf.conv2d(x, w, 1, 'same'), 'conv2d');
      await expectNoLeak(() => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b, activation: 'relu' }), 'fused conv2d');
      await expectNoLeak(
        () => tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, 'valid')))([x, w]),
        'conv2d grads',
      );
    } finally {
      tf.dispose([x, w, b]);
    }
  });
});
