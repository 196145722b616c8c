import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import { loadMnist, mnistPackage, mnistPackageDir, parseDataArray, readMnistRaw } from '@nutshell/datasets';
import { beforeAll, describe, expect, it } from 'vitest';

type PackageDigits = Awaited<ReturnType<typeof mnistPackage>>;
let pkg: PackageDigits;
let mnist: Awaited<ReturnType<typeof loadMnist>>;

beforeAll(async () => {
  pkg = await mnistPackage();
  mnist = await loadMnist();
});

describe('MNIST from the mnist package', () => {
  it('has 10,000 labelled 28×28 digits, per-class counts as the package reports', () => {
    expect(mnist.all.length).toBe(10_000);
    expect(mnist.all.shape).toEqual([28, 28, 1]);
    expect(mnist.all.labelCounts()).toEqual(pkg.map((d) => d.length));
    expect(mnist.all.labelCounts()).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });

  it('pixels equal the package raw data, and pixel statistics match it', () => {
    const raw = pkg.flatMap((d) => d.raw);
    const x = mnist.all.x;
    expect(x.length).toBe(raw.length);
    let mismatches = 0;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < raw.length; i++) {
      if (x[i] !== Math.fround(raw[i]!)) mismatches++;
      sum += raw[i]!;
      sq += raw[i]! * raw[i]!;
    }
    expect(mismatches).toBe(0);
    const mean = sum / raw.length;
    const std = Math.sqrt(sq / raw.length - mean * mean);
    let ourSum = 0;
    let ourSq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      ourSum += v;
      ourSq += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const ourMean = ourSum / x.length;
    expect(ourMean).toBeCloseTo(mean, 6);
    expect(Math.sqrt(ourSq / x.length - ourMean * ourMean)).toBeCloseTo(std, 5);
    expect([min, max]).toEqual([0, 1]);
    // MNIST's well-known statistics (mean ≈ 0.13, std ≈ 0.31), as a sanity bound on the package itself.
    expect(mean).toBeGreaterThan(0.11);
    expect(mean).toBeLessThan(0.15);
    expect(std).toBeGreaterThan(0.28);
    expect(std).toBeLessThan(0.33);
  });

  it('labels follow the package digit files: example i of digit d matches the package get()', () => {
    const m = pkg[7]!;
    const offset = pkg.slice(0, 7).reduce((a, d) => a + d.length, 0);
    for (const k of [0, 13, m.length - 1]) {
      const ex = mnist.all.example(offset + k);
      expect(ex.y).toBe(7);
      expect(Array.from(ex.x)).toEqual(m.raw.slice(k * 784, (k + 1) * 784).map(Math.fround));
    }
  });

  it('the streaming number parser agrees with JSON.parse on a digit file', () => {
    const file = join(mnistPackageDir(), 'src', 'digits', '5.json');
    const bytes = readFileSync(file);
    const ref = (JSON.parse(bytes.toString('utf8')) as { data: number[] }).data;
    const got = parseDataArray(bytes, file);
    expect(got.length).toBe(ref.length);
    let mismatches = 0;
    for (let i = 0; i < ref.length; i++) if (got[i] !== Math.fround(ref[i]!)) mismatches++;
    expect(mismatches).toBe(0);
    expect(Array.from(parseDataArray(new TextEncoder().encode('{"data":[1e-3, -2.5E1 ,0.125]}'), 'inline'))).toEqual([0.001, -25, 0.125].map(Math.fround));
    expect(() => parseDataArray(new TextEncoder().encode('{"data":[1,x]}'), 'bad')).toThrow(/unexpected byte/);
    expect(() => parseDataArray(new TextEncoder().encode('{"data":[1,2'), 'bad')).toThrow(/not closed/);
  });

  it('maps to [-1, 1] and flattens on request', async () => {
    const m = await loadMnist({ range: [-1, 1], flatten: true });
    expect(m.all.shape).toEqual([784]);
    const raw = (await readMnistRaw()).pixels;
    for (const i of [0, 300, 12345, 7_000_000]) expect(m.all.x[i]).toBeCloseTo(2 * raw[i]! - 1, 6);
    await expect(loadMnist({ range: [1, 0] })).rejects.toThrow(/lo < hi/);
  });

  it('train/test split is stratified, disjoint, covering and reproducible', async () => {
    const { train, test } = mnist.indices;
    expect(train.length + test.length).toBe(10_000);
    expect(test.length).toBe(2000);
    const seen = new Set<number>(train);
    expect(test.some((i) => seen.has(i))).toBe(false);
    test.forEach((i) => seen.add(i));
    expect(seen.size).toBe(10_000);
    const perClass = mnist.test.labelCounts();
    mnist.all.labelCounts().forEach((n, c) => expect(Math.abs(perClass[c]! - 0.2 * n)).toBeLessThanOrEqual(1));
    const again = await loadMnist();
    expect(again.indices.test).toEqual(test);
    const other = await loadMnist({ seed: 1 });
    expect(other.indices.test).not.toEqual(test);
    expect(Array.from(mnist.test.example(5).x)).toEqual(Array.from(mnist.all.example(test[5]!).x));
  });

  it('batches: shapes, one-hot labels, dropLast, seeded order, no leaked tensors', async () => {
    const small = mnist.test.take(130);
    const sizes: number[] = [];
    await expectNoLeak(async () => {
      for await (const b of small.batches({ batchSize: 32, shuffle: true, seed: 3, oneHot: true })) {
        sizes.push(b.x.shape[0]!);
        expect(b.x.shape.slice(1)).toEqual([28, 28, 1]);
        expect(b.y!.shape).toEqual([b.x.shape[0], 10]);
        const rowSums = tidy(() => b.y!.sum(1).dataSync());
        expect(Array.from(rowSums).every((v) => v === 1)).toBe(true);
        b.x.dispose();
        b.y!.dispose();
      }
    });
    expect(sizes).toEqual([32, 32, 32, 32, 2]);
    expect([...small.batchArrays({ batchSize: 32, dropLast: true })].length).toBe(4);
    const order = (seed: number, epoch?: number) => [...small.batchArrays({ batchSize: 130, shuffle: true, seed, epoch })][0]!.indices;
    expect(order(3)).toEqual(order(3));
    expect(order(3)).not.toEqual(order(4));
    expect(order(3, 1)).not.toEqual(order(3, 2));
    expect([...order(3)].sort((a, b) => a - b)).toEqual(Array.from({ length: 130 }, (_, i) => i));
    const batch = [...small.batchArrays({ batchSize: 10, shuffle: true, seed: 9 })][2]!;
    batch.indices.forEach((i, k) => {
      expect(Array.from(batch.x.subarray(k * 784, (k + 1) * 784))).toEqual(Array.from(small.example(i).x));
      expect(batch.y![k]).toBe(small.example(i).y);
    });
    await expectNoLeak(() => small.toTensors());
  });

  it('works with a map-style loader (length + get + collate), as nn DataLoader consumes it', async () => {
    const ds = mnist.test.take(50);
    // The DataLoader contract: samples from get(i), batched by a collate function.
    const indices = [4, 0, 49, 7];
    await expectNoLeak(() => {
      const batch = ds.collate(indices.map((i) => ds.get(i)));
      expect(batch.x.shape).toEqual([4, 28, 28, 1]);
      expect(Array.from(batch.y!.dataSync())).toEqual(indices.map((i) => ds.get(i).y));
      const flat = batch.x.dataSync();
      expect(Array.from(flat.subarray(2 * 784, 3 * 784))).toEqual(Array.from(ds.get(49).x));
      const hot = ds.collator({ oneHot: true })(indices.map((i) => ds.get(i)));
      expect(hot.y!.shape).toEqual([4, 10]);
      expect(tidy(() => hot.y!.argMax(1).dataSync())).toEqual(batch.y!.dataSync());
      return [batch, hot];
    });
  });
});
