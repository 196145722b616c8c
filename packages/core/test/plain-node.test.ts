import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Gradients must work in plain `node`, not only under vitest or a bundler.
describe('plain Node', () => {
  it('computes gradients without a bundler', () => {
    const script = `
      import { grad, sum, square, tensor, useBackend } from '@nutshell/core';
      await useBackend('cpu');
      const g = grad((x) => sum(square(x)))(tensor([1, -2, 3]));
      console.log(JSON.stringify(Array.from(g.dataSync())));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim())).toEqual([2, -4, 6]);
  });
});
