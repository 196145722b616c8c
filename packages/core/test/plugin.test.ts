import { describe, expect, it } from 'vitest';
import { createKit, definePlugin, PluginError, InvalidArgumentError, satisfies } from '@nutshell/core';

const base = definePlugin({
  name: '@acme/base',
  version: '1.2.0',
  register(ctx) {
    ctx.add('schedulers', 'ddim', { steps: 50 });
    ctx.add('commands', 'hello', { summary: 'says hello', run: () => ({ hello: 'world' }) });
  },
});

describe('definePlugin', () => {
  it('rejects malformed definitions with a message naming the problem', () => {
    expect(() => definePlugin({ name: 'Bad Name!', version: '1.0.0', register() {} })).toThrow(/npm-style name.*Bad Name/);
    expect(() => definePlugin({ name: 'ok', version: 'one', register() {} })).toThrow(/semver.*"one"/);
    expect(() => definePlugin({ name: 'ok', version: '1.0.0' } as never)).toThrow(PluginError);
    expect(() => definePlugin({ name: 'ok', version: '1.0.0', requires: { x: 'not a range' }, register() {} })).toThrow(/invalid range/);
  });
});

describe('createKit', () => {
  it('composes plugins in dependency order and exposes their registries', async () => {
    const order: string[] = [];
    const child = definePlugin({
      name: 'child',
      version: '0.1.0',
      requires: { '@acme/base': '^1.0.0' },
      register(ctx) {
        order.push(ctx.plugin);
        ctx.add('metrics', 'fid', { higherIsBetter: false });
      },
    });
    const traced = definePlugin({ ...base, register: (ctx) => { order.push(ctx.plugin); return base.register(ctx); } });
    const kit = await createKit({ backend: 'cpu', plugins: [child, traced] });
    expect(order).toEqual(['@acme/base', 'child']);
    expect(kit.backend?.name).toBe('cpu');
    expect(kit.get('schedulers', 'ddim')).toEqual({ steps: 50 });
    expect(kit.list('commands')).toEqual(['hello']);
    expect(kit.registries.metrics.ownerOf('fid')).toBe('child');
    expect([...kit.plugins]).toEqual([['@acme/base', '1.2.0'], ['child', '0.1.0']]);
    expect(() => kit.get('schedulers', 'euler')).toThrow(InvalidArgumentError);
    expect(() => kit.get('schedulers', 'euler')).toThrow(/no schedulers named "euler"; registered: ddim/);
  });

  it('rejects duplicate entry names, naming both plugins', async () => {
    const clash = definePlugin({ name: 'clash', version: '1.0.0', register: (ctx) => ctx.add('schedulers', 'ddim', {}) });
    await expect(createKit({ backend: false, plugins: [base, clash] })).rejects.toThrow(
      /clash: schedulers "ddim" is already registered by plugin @acme\/base/,
    );
  });

  it('rejects the same plugin twice, unmet requires, incompatible versions and cycles', async () => {
    await expect(createKit({ backend: false, plugins: [base, base] })).rejects.toThrow(/given twice/);
    const needsMissing = definePlugin({ name: 'n', version: '1.0.0', requires: { ghost: '*' }, register() {} });
    await expect(createKit({ backend: false, plugins: [needsMissing] })).rejects.toThrow(/n requires ghost@\*, which is not in the kit/);
    const needsNewer = definePlugin({ name: 'm', version: '1.0.0', requires: { '@acme/base': '^2.0.0' }, register() {} });
    await expect(createKit({ backend: false, plugins: [base, needsNewer] })).rejects.toThrow(
      /m requires @acme\/base@\^2.0.0, but version 1.2.0 is in the kit/,
    );
    const a = definePlugin({ name: 'a', version: '1.0.0', requires: { b: '*' }, register() {} });
    const b = definePlugin({ name: 'b', version: '1.0.0', requires: { a: '*' }, register() {} });
    await expect(createKit({ backend: false, plugins: [a, b] })).rejects.toThrow(/cycle: a → b → a/);
  });

  it('rejects bad registry kinds and entry names', async () => {
    const badKind = definePlugin({ name: 'k', version: '1.0.0', register: (ctx) => ctx.add('widgets' as never, 'w', {} as never) });
    await expect(createKit({ backend: false, plugins: [badKind] })).rejects.toThrow(/unknown registry kind "widgets"/);
    const badName = definePlugin({ name: 'k', version: '1.0.0', register: (ctx) => ctx.add('models', 'has space', {}) });
    await expect(createKit({ backend: false, plugins: [badName] })).rejects.toThrow(/name must be a word/);
  });

  it('rejects objects not made by definePlugin', async () => {
    await expect(createKit({ backend: false, plugins: [{ name: 'x' } as never] })).rejects.toThrow(/made by definePlugin/);
  });
});

describe('satisfies', () => {
  it.each([
    ['1.2.3', '^1.0.0', true],
    ['2.0.0', '^1.0.0', false],
    ['0.2.5', '^0.2.0', true],
    ['0.3.0', '^0.2.0', false],
    ['0.0.3', '^0.0.3', true],
    ['0.0.4', '^0.0.3', false],
    ['1.2.9', '~1.2.0', true],
    ['1.3.0', '~1.2.0', false],
    ['1.0.0', '>=1.0.0 <2.0.0', true],
    ['2.0.0', '>=1.0.0 <2.0.0', false],
    ['3.1.0', '^1.0.0 || ^3.0.0', true],
    ['9.9.9', '*', true],
    ['1.0.0-beta.1', '1.0.0', true],
  ])('%s satisfies %s → %s', (v, r, expected) => {
    expect(satisfies(v, r)).toBe(expected);
  });
});
