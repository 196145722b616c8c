import { NutshellError } from './errors.js';
import { disposeAll, measureTensors } from './memory.js';

export class TensorLeakError extends NutshellError {
  constructor(readonly leaked: number, readonly leakedBytes: number, label: string) {
    super('E_TENSOR_LEAK', `${label}: expected no new live tensors, found ${leaked} (${leakedBytes} bytes)`);
  }
}

/**
 * Test helper for every package: runs `fn`, disposes what it returns, and throws if any tensor
 * created inside is still alive. Works with any test runner.
 *
 *   await expectNoLeak(() => model.forward(x));
 */
export async function expectNoLeak(fn: () => unknown, label = 'expectNoLeak'): Promise<void> {
  const report = await measureTensors(async () => {
    const out = await fn();
    disposeAll(out);
  });
  if (report.leaked !== 0) throw new TensorLeakError(report.leaked, report.leakedBytes, label);
}

export { measureTensors };
