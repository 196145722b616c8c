import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BackendUnavailableError,
  describeBackends,
  getKernel,
  getKernelsForBackend,
  registerBackendPlugin,
  tf,
  useBackend,
} from '@nutshell/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import nativeBackendDefault, {
  getNativeThreads,
  nativeBackend,
  nativeKernels,
  probeNativeAddon,
  setNativeThreads,
} from '@nutshell/backend-native';
import { availability, expectParity, randomTensor, skipNote } from './helpers.js';

const buildScript = fileURLToPath(new URL('../scripts/build-addon.mjs', import.meta.url));
const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nutshell-native-test-'));
  temps.push(dir);
  return dir;
}
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('@nutshell/backend-native plugin (runs with or without OpenBLAS)', () => {
  it('exports the plugin as default and as nativeBackend', () => {
    expect(nativeBackendDefault).toBe(nativeBackend);
    expect(nativeBackend.name).toBe('native');
    expect(nativeBackend.packageName).toBe('@nutshell/backend-native');
    expect(nativeBackend.priority).toBe(300);
    expect(nativeBackend.capabilities.gpu).toBe(false);
    expect(nativeBackend.capabilities.threads).toBeGreaterThanOrEqual(1);
  });

  it('isAvailable answers with a reason instead of throwing', async () => {
    const a = await nativeBackend.isAvailable();
    expect(typeof a.available).toBe('boolean');
    expect(a.reason).toMatch(a.available ? /OpenBLAS/ : /./);
  });

  it('reports the reason recorded by the build script when the addon is missing', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'unavailable.json'), JSON.stringify({ reason: 'OpenBLAS not found (test)' }));
    const probe = probeNativeAddon(dir);
    expect(probe.ok).toBe(false);
    expect(!probe.ok && probe.reason).toMatch(/not built: OpenBLAS not found \(test\)/);
  });

  it('reports a missing build folder and an unloadable addon', () => {
    const empty = probeNativeAddon(tempDir());
    expect(!empty.ok && empty.reason).toMatch(/was not built/);
    const broken = tempDir();
    writeFileSync(join(broken, 'nutshell_native.node'), 'not a shared object');
    const bad = probeNativeAddon(broken);
    expect(!bad.ok && bad.reason).toMatch(/loading .* failed/);
  });

  it('build script exits 0 and records the reason when there is no compiler', () => {
    const dir = tempDir();
    const r = spawnSync(process.execPath, [buildScript], {
      env: { ...process.env, CC: '/nonexistent/cc', NUTSHELL_NATIVE_BUILD_DIR: dir },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const record = JSON.parse(readFileSync(join(dir, 'unavailable.json'), 'utf8'));
    expect(record.reason).toMatch(/no C compiler/);
    expect(probeNativeAddon(dir)).toMatchObject({ ok: false });
  });

  it('build script honours NUTSHELL_NATIVE_SKIP_BUILD', () => {
    const dir = tempDir();
    const r = spawnSync(process.execPath, [buildScript], {
      env: { ...process.env, NUTSHELL_NATIVE_SKIP_BUILD: '1', NUTSHELL_NATIVE_BUILD_DIR: dir },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'unavailable.json'), 'utf8')).reason).toMatch(/skipped/);
  });

  it.skipIf(availability.available)('setup() throws BackendUnavailableError where the addon is missing', async () => {
    await expect(nativeBackend.setup()).rejects.toBeInstanceOf(BackendUnavailableError);
  });
});

describe.skipIf(!availability.available)(`native backend registration${skipNote}`, () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
  });

  it('useBackend(plugin) and useBackend("native") activate it', async () => {
    const choice = await useBackend(nativeBackend);
    expect(choice.name).toBe('native');
    expect(tf.getBackend()).toBe('native');
    await tf.setBackend('cpu');
    registerBackendPlugin(nativeBackend);
    expect((await useBackend('native')).name).toBe('native');
    const row = (await describeBackends()).find((r) => r.name === 'native');
    expect(row).toMatchObject({ available: true, priority: 300 });
  });

  it('setup is idempotent and registers every cpu kernel plus its own', async () => {
    const warn = vi.spyOn(console, 'warn');
    await nativeBackend.setup();
    await nativeBackend.setup();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    const native = new Set(getKernelsForBackend('native').map((k) => k.kernelName));
    for (const k of getKernelsForBackend('cpu')) expect(native.has(k.kernelName), k.kernelName).toBe(true);
    for (const k of nativeKernels) {
      // Nutshell* kernels are the addon's own (no cpu counterpart); the others replace cpu's.
      if (k.kernelName.startsWith('Nutshell')) expect(getKernel(k.kernelName, 'cpu')).toBeUndefined();
      else expect(getKernel(k.kernelName, 'native')!.kernelFunc).not.toBe(getKernel(k.kernelName, 'cpu')!.kernelFunc);
    }
    expect(nativeKernels.map((k) => k.kernelName).sort()).toEqual(
      [
        'BatchMatMul', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedConv2D', '_FusedMatMul',
        'Add', 'Sub', 'Multiply', 'RealDiv', 'Pow', 'SquaredDifference', 'Maximum', 'Minimum',
        'Exp', 'Log', 'Tanh', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Relu', 'Sigmoid', 'Reciprocal', 'Step',
        'Transpose', 'Slice', 'SplitV', 'Concat', 'Sum', 'Mean', 'Max', 'Min', 'Softmax',
        'NutshellLayerNorm', 'NutshellLayerNormGrad', 'NutshellLinear', 'NutshellCachedAttention', 'NutshellAdam',
        'NutshellAttention', 'NutshellAttentionGrad', 'NutshellActivation', 'NutshellActivationGrad', 'NutshellGroupNorm', 'NutshellGroupNormGrad',
        'MaxPool', 'MaxPoolGrad', 'GatherV2', 'UnsortedSegmentSum',
      ].sort(),
    );
  });

  it('runs the remaining ops through the cpu kernels', async () => {
    await nativeBackend.setup();
    await expectParity(() => tf.mean(tf.add(tf.softmax(randomTensor('x', [3, 7])), tf.scalar(2)), 1));
    await expectParity(() => tf.cumsum(tf.elu(randomTensor('x', [3, 7])), 1));
  });

  it('BLAS threads are configurable and results do not depend on them', async () => {
    const before = getNativeThreads();
    expect(before).toBeGreaterThanOrEqual(1);
    try {
      setNativeThreads(1);
      expect(getNativeThreads()).toBe(1);
      expect(nativeBackend.capabilities.threads).toBe(1);
      await expectParity(() => tf.matMul(randomTensor('a', [64, 80]), randomTensor('b', [80, 48])));
    } finally {
      setNativeThreads(before);
    }
    expect(getNativeThreads()).toBe(before);
    expect(() => setNativeThreads(0)).toThrow(RangeError);
  });
});
