import { BackendUnavailableError, describeBackends, getBackendPlugins, KNOWN_BACKEND_PACKAGES, registerBackendPlugin, useBackend } from '@nutshell/core';
import type { BackendChoice, BackendPlugin, BackendStatus } from '@nutshell/core';

/**
 * Core's discoverBackends() imports backend packages from core's own location (and the working
 * directory), which in a pnpm install cannot see the CLI's dependencies. So the CLI imports the
 * backend packages it depends on itself and registers their default exports; what fails to load is
 * remembered with a precise reason (not installed, not built, crashed on import).
 */
const failures = new Map<string, string>();
const loads = new Map<string, Promise<void>>();

// Literal specifiers, so bundlers and the workspace's dependency checks see these imports.
const IMPORTERS: Record<string, () => Promise<{ default?: unknown }>> = {
  native: () => import('@nutshell/backend-native'),
  wasm: () => import('@nutshell/backend-wasm'),
  webgpu: () => import('@nutshell/backend-webgpu'),
};

/** Imports and registers the backend packages for `names` (default: every known one), once each. */
export async function loadBackendPackages(names: readonly string[] = Object.keys(KNOWN_BACKEND_PACKAGES)): Promise<void> {
  for (const name of names) {
    const pkg = KNOWN_BACKEND_PACKAGES[name];
    if (!pkg || pkg === '@nutshell/core') continue;
    if (!loads.has(name)) loads.set(name, loadOne(name, pkg));
    await loads.get(name);
  }
}

async function loadOne(name: string, pkg: string): Promise<void> {
  try {
    const importer = IMPORTERS[name];
    const mod = importer ? await importer() : ((await import(pkg)) as { default?: unknown });
    const plugin = mod.default as BackendPlugin | undefined;
    if (!plugin || typeof plugin.setup !== 'function' || typeof plugin.isAvailable !== 'function') {
      throw new Error(`${pkg} does not default-export a BackendPlugin`);
    }
    registerBackendPlugin(plugin);
  } catch (err) {
    failures.set(name, loadFailure(pkg, err));
  }
}

function loadFailure(pkg: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = oneLine(e?.message ?? String(err));
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${pkg}'`)) {
    return `package ${pkg} is not installed (npm install ${pkg})`;
  }
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && /[/\\]dist[/\\]/.test(message)) {
    return `package ${pkg} is installed but not built (its dist/ is missing: run pnpm build)`;
  }
  return `package ${pkg} failed to load: ${message}`;
}

/**
 * Known backends, best first, with the CLI's more precise reasons for missing packages. With
 * `names`, only those backends' packages are loaded (the others may show as not installed).
 */
export async function backendStatuses(names?: readonly string[]): Promise<BackendStatus[]> {
  await loadBackendPackages(names);
  const rows = await describeBackends();
  return rows.map(patch);
}

/**
 * useBackend() after loading the CLI's backend packages, with their precise failure reasons. A
 * named backend loads only its own package, so `--backend cpu` does not probe (and wake) the GPU.
 */
export async function activateBackend(choice: string): Promise<BackendChoice> {
  await loadBackendPackages(choice === 'auto' ? undefined : [choice]);
  try {
    const picked = await useBackend(choice);
    return { ...picked, considered: picked.considered.map(patch) };
  } catch (err) {
    const failure = failures.get(choice);
    if (err instanceof BackendUnavailableError && failure && !describeInstalled(choice)) {
      throw new BackendUnavailableError(choice, failure, KNOWN_BACKEND_PACKAGES[choice]);
    }
    throw err;
  }
}

function describeInstalled(name: string): boolean {
  return getBackendPlugins().some((p) => p.name === name);
}

function patch(row: BackendStatus): BackendStatus {
  return !row.installed && failures.has(row.name) ? { ...row, reason: failures.get(row.name)! } : row;
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
