import { tf } from '@nutshell/core';

export interface MatmulBench {
  size: number;
  reps: number;
  /** Median seconds per n×n matmul, result read back included. */
  seconds: number;
  gflops: number;
}

/**
 * Times an n×n float32 matmul on the active backend: one warm-up, then repetitions until about
 * `budgetSeconds` have passed (at least 3, at most 50); reports the median.
 */
export async function benchMatmul(size: number, budgetSeconds = 0.3): Promise<MatmulBench> {
  const a = tf.randomUniform([size, size], -1, 1, 'float32', 1);
  const b = tf.randomUniform([size, size], -1, 1, 'float32', 2);
  try {
    const once = async () => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      return (performance.now() - t0) / 1000;
    };
    await once();
    const times: number[] = [];
    const begin = performance.now();
    while (times.length < 3 || (times.length < 50 && (performance.now() - begin) / 1000 < budgetSeconds)) {
      times.push(await once());
    }
    times.sort((x, y) => x - y);
    const seconds = times[Math.floor(times.length / 2)]!;
    return { size, reps: times.length, seconds, gflops: (2 * size ** 3) / seconds / 1e9 };
  } finally {
    a.dispose();
    b.dispose();
  }
}
