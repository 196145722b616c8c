import type { BackendPlugin } from '@nutshell/core';

/** The backends the parity suite knows, by tfjs name → package. */
export const PARITY_BACKENDS: Readonly<Record<string, string>> = {
  wasm: '@nutshell/backend-wasm',
  native: '@nutshell/backend-native',
  webgpu: '@nutshell/backend-webgpu',
};

export type LoadedBackend = { name: string; plugin: BackendPlugin } | { name: string; plugin?: undefined; reason: string };

/** Imports a backend package (its default export is the plugin). Never throws. */
export async function loadBackend(name: string): Promise<LoadedBackend> {
  const pkg = PARITY_BACKENDS[name];
  if (!pkg) return { name, reason: `unknown backend '${name}' (known: ${Object.keys(PARITY_BACKENDS).join(', ')})` };
  try {
    const mod = (await import(/* @vite-ignore */ pkg)) as { default?: BackendPlugin };
    const plugin = mod.default;
    if (!plugin || typeof plugin.setup !== 'function') return { name, reason: `${pkg} has no default-exported BackendPlugin` };
    return { name, plugin };
  } catch (err) {
    return { name, reason: `cannot load ${pkg}: ${(err as Error).message}` };
  }
}

/** Loads a backend and asks whether it can run here. */
export async function probeBackend(name: string): Promise<{ name: string; plugin?: BackendPlugin; available: boolean; reason: string }> {
  const loaded = await loadBackend(name);
  if (!loaded.plugin) return { name, available: false, reason: loaded.reason };
  try {
    const a = await loaded.plugin.isAvailable();
    return { name, plugin: loaded.plugin, available: a.available, reason: a.reason };
  } catch (err) {
    return { name, plugin: loaded.plugin, available: false, reason: `isAvailable threw: ${(err as Error).message}` };
  }
}
