import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, InvalidArgumentError } from './errors.js';

/** What a backend can do; informational, shown by `nutshell backends`. */
export interface BackendCapabilities {
  /** Runs on a GPU (or a software GPU). */
  gpu: boolean;
  /** Kernels are asynchronous (data must be awaited, e.g. webgpu). */
  async: boolean;
  /** Threads the backend's hot kernels use. */
  threads: number;
  /** Free-form notes: "OpenBLAS sgemm", "SIMD", ... */
  notes?: string[];
}

export interface Availability {
  available: boolean;
  /** Why it is not available, or what it runs on when it is. */
  reason: string;
  /** Overrides the static priority once the environment is known (e.g. a software GPU adapter). */
  priority?: number;
}

/**
 * A backend plugin wraps one tfjs backend. `auto` picks the available plugin with the highest
 * priority; priorities come from the measured speeds in `pnpm bench` (native > wasm > cpu).
 */
export interface BackendPlugin {
  /** The tfjs backend name this plugin registers ('cpu', 'wasm', 'webgpu', 'native'). */
  readonly name: string;
  /** The npm package that ships it. */
  readonly packageName: string;
  /** Higher is faster. */
  readonly priority: number;
  readonly capabilities: BackendCapabilities;
  /** Never throws: says whether the backend can start here and why not. */
  isAvailable(): Promise<Availability>;
  /** Registers the tfjs backend (idempotent). Throws BackendUnavailableError if it cannot. */
  setup(): Promise<void>;
}

export interface BackendStatus {
  name: string;
  packageName: string;
  installed: boolean;
  available: boolean;
  priority: number;
  reason: string;
  capabilities?: BackendCapabilities;
}

export interface BackendChoice {
  /** The backend now active. */
  name: string;
  /** Why it was picked. */
  reason: string;
  /** Every backend considered, best first. */
  considered: BackendStatus[];
}

/** Backend packages nutshell knows about, so `useBackend('wasm')` can name what to install. */
export const KNOWN_BACKEND_PACKAGES: Readonly<Record<string, string>> = {
  native: '@nutshell/backend-native',
  wasm: '@nutshell/backend-wasm',
  webgpu: '@nutshell/backend-webgpu',
  cpu: '@nutshell/core',
};

const plugins = new Map<string, BackendPlugin>();
const discoveryFailures = new Map<string, string>();

/** Makes a backend plugin known to `useBackend`. Registering the same object twice is a no-op. */
export function registerBackendPlugin(plugin: BackendPlugin): void {
  const existing = plugins.get(plugin.name);
  if (existing && existing !== plugin && existing.packageName !== plugin.packageName) {
    throw new InvalidArgumentError(
      `backend '${plugin.name}' is already registered by ${existing.packageName}; ${plugin.packageName} cannot register it again`,
    );
  }
  plugins.set(plugin.name, plugin);
  discoveryFailures.delete(plugin.name);
}

export function getBackendPlugins(): BackendPlugin[] {
  return [...plugins.values()];
}

/** tfjs's cpu backend: pure JavaScript, always available, the reference for parity tests. */
export const cpuBackend: BackendPlugin = {
  name: 'cpu',
  packageName: '@nutshell/core',
  priority: 10,
  capabilities: { gpu: false, async: false, threads: 1, notes: ['pure JavaScript reference'] },
  async isAvailable() {
    return { available: true, reason: 'pure JavaScript, always available' };
  },
  async setup() {
    // Registered by importing @tensorflow/tfjs-backend-cpu in setup.ts.
  },
};
registerBackendPlugin(cpuBackend);

/**
 * Loads the known backend packages that are installed (each exports its plugin as default) so
 * `auto` can consider them. Missing packages are remembered with the reason.
 */
export async function discoverBackends(): Promise<void> {
  for (const [name, pkg] of Object.entries(KNOWN_BACKEND_PACKAGES)) {
    if (plugins.has(name)) continue;
    try {
      const mod = await importInstalled(pkg);
      const plugin = (mod.default ?? mod.backend) as BackendPlugin | undefined;
      if (!plugin || typeof plugin.setup !== 'function') throw new Error(`${pkg} does not export a backend plugin`);
      registerBackendPlugin(plugin);
    } catch (err) {
      discoveryFailures.set(name, `package ${pkg} is not installed (npm install ${pkg})` + detail(err));
    }
  }
}

function detail(err: unknown): string {
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return '';
  return `; loading it failed: ${(err as Error)?.message ?? String(err)}`;
}

type NodeProcessLike = { getBuiltinModule?: (id: string) => unknown };

/** Imports a package by name, falling back (in Node) to resolving it from the working directory. */
async function importInstalled(pkg: string): Promise<Record<string, unknown>> {
  try {
    return (await import(/* @vite-ignore */ pkg)) as Record<string, unknown>;
  } catch (first) {
    // getBuiltinModule (Node ≥ 20.16) keeps `node:` imports out of browser bundles.
    const getBuiltin = typeof process !== 'undefined' ? (process as NodeProcessLike).getBuiltinModule : undefined;
    if (!getBuiltin) throw first;
    const { createRequire } = getBuiltin('node:module') as typeof import('node:module');
    const { pathToFileURL } = getBuiltin('node:url') as typeof import('node:url');
    let resolved: string;
    try {
      resolved = createRequire(`${process.cwd()}/`).resolve(pkg);
    } catch {
      throw first;
    }
    return (await import(/* @vite-ignore */ pathToFileURL(resolved).href)) as Record<string, unknown>;
  }
}

/** Status of every known backend, best first. Never throws. */
export async function describeBackends(): Promise<BackendStatus[]> {
  await discoverBackends();
  const rows: BackendStatus[] = [];
  for (const plugin of plugins.values()) rows.push(await statusOf(plugin));
  for (const [name, reason] of discoveryFailures) {
    if (plugins.has(name)) continue;
    rows.push({ name, packageName: KNOWN_BACKEND_PACKAGES[name]!, installed: false, available: false, priority: 0, reason });
  }
  return rows.sort((a, b) => Number(b.available) - Number(a.available) || b.priority - a.priority);
}

/**
 * Activates a backend. `'auto'` picks the fastest available one; a name picks that one or throws
 * BackendUnavailableError naming the package and the reason; a plugin object is registered first.
 */
export async function useBackend(choice: 'auto' | string | BackendPlugin = 'auto'): Promise<BackendChoice> {
  if (typeof choice === 'object') {
    registerBackendPlugin(choice);
    choice = choice.name;
  }
  if (typeof choice !== 'string' || choice.length === 0) {
    throw new InvalidArgumentError(`useBackend: expected 'auto', a backend name or a BackendPlugin, got ${String(choice)}`);
  }
  if (choice !== 'auto') return useNamedBackend(choice);
  const considered = await describeBackends();
  const failures: string[] = [];
  for (const row of considered) {
    if (!row.available) continue;
    try {
      await activate(plugins.get(row.name)!);
      const reason = failures.length
        ? `fastest available that started (${failures.join('; ')})`
        : `fastest available (priority ${row.priority})`;
      return { name: row.name, reason, considered };
    } catch (err) {
      row.available = false;
      row.reason = `failed to start: ${(err as Error).message}`;
      failures.push(`${row.name} failed to start`);
    }
  }
  throw new BackendUnavailableError('auto', 'no backend could start');
}

/** Only the requested backend is probed: probing others can be slow or noisy (GPU drivers). */
async function useNamedBackend(name: string): Promise<BackendChoice> {
  if (!plugins.has(name)) await discoverBackends();
  const plugin = plugins.get(name);
  if (!plugin) {
    const pkg = KNOWN_BACKEND_PACKAGES[name];
    if (pkg) throw new BackendUnavailableError(name, discoveryFailures.get(name) ?? `package ${pkg} is not installed`, pkg);
    const known = [...new Set([...plugins.keys(), ...Object.keys(KNOWN_BACKEND_PACKAGES)])].join(', ');
    throw new BackendUnavailableError(name, `unknown backend; known backends: ${known}`);
  }
  const row = await statusOf(plugin);
  if (!row.available) throw new BackendUnavailableError(name, row.reason, plugin.packageName);
  await activate(plugin);
  return { name, reason: 'requested', considered: [row] };
}

async function statusOf(plugin: BackendPlugin): Promise<BackendStatus> {
  let availability: Availability;
  try {
    availability = await plugin.isAvailable();
  } catch (err) {
    availability = { available: false, reason: `availability check failed: ${(err as Error).message}` };
  }
  return {
    name: plugin.name,
    packageName: plugin.packageName,
    installed: true,
    available: availability.available,
    priority: availability.priority ?? plugin.priority,
    reason: availability.reason,
    capabilities: plugin.capabilities,
  };
}

async function activate(plugin: BackendPlugin): Promise<void> {
  await plugin.setup();
  const ok = await tf.setBackend(plugin.name);
  if (!ok || tf.getBackend() !== plugin.name) {
    throw new BackendUnavailableError(plugin.name, 'tfjs could not initialize it', plugin.packageName);
  }
  quietNodeBanner();
}

/** tfjs's cpu backend prints an advert for tfjs-node on first use in Node; it does not apply here. */
function quietNodeBanner(): void {
  const b = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof b.firstUse === 'boolean') b.firstUse = false;
}
