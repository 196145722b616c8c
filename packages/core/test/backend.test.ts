import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  describeBackends,
  getBackend,
  registerBackendPlugin,
  useBackend,
  type BackendPlugin,
} from '@nutshell/core';

const broken: BackendPlugin = {
  name: 'test-broken',
  packageName: '@acme/backend-broken',
  priority: 10_000,
  capabilities: { gpu: false, async: false, threads: 1 },
  isAvailable: async () => ({ available: false, reason: 'needs a quantum computer' }),
  setup: async () => {},
};

describe('backends', () => {
  it('cpu is always available and can be selected by name', async () => {
    const choice = await useBackend('cpu');
    expect(choice.name).toBe('cpu');
    expect(getBackend()).toBe('cpu');
  });

  it('auto skips unavailable backends even with a higher priority', async () => {
    registerBackendPlugin(broken);
    const choice = await useBackend('auto');
    expect(choice.name).not.toBe('test-broken');
    const row = choice.considered.find((r) => r.name === 'test-broken');
    expect(row).toMatchObject({ available: false, reason: 'needs a quantum computer' });
  });

  it('asking for an unavailable backend names the package and the reason', async () => {
    registerBackendPlugin(broken);
    const err = await useBackend('test-broken').catch((e) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toBe("backend 'test-broken' is not available (package @acme/backend-broken): needs a quantum computer");
  });

  it('an unknown backend lists the known ones', async () => {
    await expect(useBackend('tpu')).rejects.toThrow(/backend 'tpu' is not available: unknown backend; known backends: .*cpu/);
  });

  it('a backend that fails to start is skipped by auto with the reason recorded', async () => {
    const flaky: BackendPlugin = { ...broken, name: 'test-flaky', isAvailable: async () => ({ available: true, reason: 'ok' }), setup: async () => { throw new Error('driver crashed'); } };
    registerBackendPlugin(flaky);
    const choice = await useBackend('auto');
    expect(choice.name).not.toBe('test-flaky');
    expect(choice.considered.find((r) => r.name === 'test-flaky')?.reason).toMatch(/failed to start: driver crashed/);
    expect(choice.reason).toMatch(/test-flaky failed to start/);
  });

  it('lists known backend packages that are not installed with an install hint', async () => {
    const rows = await describeBackends();
    for (const row of rows.filter((r) => !r.installed)) {
      expect(row.reason).toMatch(new RegExp(`npm install ${row.packageName}`));
    }
    expect(rows.some((r) => r.name === 'cpu' && r.available)).toBe(true);
  });
});
