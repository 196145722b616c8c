import type { BackendChoice, BackendPlugin } from './backend.js';
import { useBackend } from './backend.js';
import type { CommandSpec, FileFormat } from './commands.js';
import { InvalidArgumentError, PluginError } from './errors.js';
import { parseVersion, satisfies } from './semver.js';

/**
 * What each registry holds. Packages give their kinds precise types by augmenting this interface:
 *   declare module '@nutshell/core' { interface RegistryEntries { schedulers: SchedulerFactory } }
 */
export interface RegistryEntries {
  models: unknown;
  layers: unknown;
  tokenizers: unknown;
  schedulers: unknown;
  samplers: unknown;
  quantizers: unknown;
  metrics: unknown;
  audits: unknown;
  datasets: unknown;
  /** File formats `nutshell inspect` understands (safetensors, gguf, …). */
  formats: FileFormat;
  commands: CommandSpec;
}

export type RegistryKind = keyof RegistryEntries;

export const REGISTRY_KINDS: readonly RegistryKind[] = [
  'models', 'layers', 'tokenizers', 'schedulers', 'samplers', 'quantizers', 'metrics', 'audits', 'datasets', 'formats', 'commands',
];

/** A named collection of one kind of entry; remembers which plugin added each name. */
export class Registry<T> {
  private readonly entries = new Map<string, { value: T; owner: string }>();
  constructor(readonly kind: string) {}

  add(name: string, value: T, owner: string): void {
    if (typeof name !== 'string' || !/^[A-Za-z0-9][\w.:/-]*$/.test(name)) {
      throw new PluginError(`${owner}: ${this.kind} name must be a word like "ddim" or "gpt2-small", got ${JSON.stringify(name)}`);
    }
    const existing = this.entries.get(name);
    if (existing) {
      throw new PluginError(`${owner}: ${this.kind} "${name}" is already registered by plugin ${existing.owner}`);
    }
    this.entries.set(name, { value, owner });
  }

  get(name: string): T {
    const entry = this.entries.get(name);
    if (!entry) {
      const known = this.names();
      throw new InvalidArgumentError(
        `no ${this.kind} named "${name}"; registered: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
    return entry.value;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  ownerOf(name: string): string | undefined {
    return this.entries.get(name)?.owner;
  }
}

export interface PluginContext {
  /** The registering plugin's name. */
  readonly plugin: string;
  /** The active backend, if the kit selected one. */
  readonly backend: string | undefined;
  add<K extends RegistryKind>(kind: K, name: string, entry: RegistryEntries[K]): void;
}

export interface PluginDefinition {
  /** npm-style name, e.g. "@nutshell/diffusion" or "my-sampler". */
  name: string;
  /** Semver version of the plugin. */
  version: string;
  /** Other plugins this one needs, by name → semver range. */
  requires?: Record<string, string>;
  description?: string;
  register(ctx: PluginContext): void | Promise<void>;
}

export interface NutshellPlugin extends Readonly<PluginDefinition> {
  readonly kind: 'nutshell-plugin';
}

/** Declares a capability plugin; validates its shape now so mistakes surface at import time. */
export function definePlugin(def: PluginDefinition): NutshellPlugin {
  if (!def || typeof def !== 'object') throw new PluginError(`definePlugin: expected an object, got ${String(def)}`);
  if (typeof def.name !== 'string' || !/^(@[\w.-]+\/)?[\w.-]+$/.test(def.name)) {
    throw new PluginError(`definePlugin: name must be an npm-style name, got ${JSON.stringify(def.name)}`);
  }
  try {
    parseVersion(String(def.version));
  } catch {
    throw new PluginError(`plugin ${def.name}: version must be semver like 1.0.0, got ${JSON.stringify(def.version)}`);
  }
  if (typeof def.register !== 'function') throw new PluginError(`plugin ${def.name}: register(ctx) must be a function`);
  for (const [dep, range] of Object.entries(def.requires ?? {})) {
    try {
      satisfies('0.0.0', range);
    } catch {
      throw new PluginError(`plugin ${def.name}: requires ${dep} with an invalid range ${JSON.stringify(range)}`);
    }
  }
  return Object.freeze({ ...def, requires: { ...def.requires }, kind: 'nutshell-plugin' as const });
}

export interface KitOptions {
  /** Backend to activate: 'auto' (default), a name, a BackendPlugin, or false to leave it as is. */
  backend?: 'auto' | string | BackendPlugin | false;
  plugins?: NutshellPlugin[];
}

export type Registries = { readonly [K in RegistryKind]: Registry<RegistryEntries[K]> };

/** A composed subset of nutshell: one backend and the registries the chosen plugins filled. */
export interface Kit {
  readonly backend: BackendChoice | undefined;
  /** Registered plugins: name → version. */
  readonly plugins: ReadonlyMap<string, string>;
  readonly registries: Registries;
  get<K extends RegistryKind>(kind: K, name: string): RegistryEntries[K];
  list(kind: RegistryKind): string[];
}

/** Composes plugins (in dependency order, whatever order they are given in) on a backend. */
export async function createKit(options: KitOptions = {}): Promise<Kit> {
  const backend = options.backend === false ? undefined : await useBackend(options.backend ?? 'auto');
  const registries = Object.fromEntries(REGISTRY_KINDS.map((k) => [k, new Registry(k)])) as unknown as Registries;
  const installed = new Map<string, string>();
  const ordered = orderByRequires(options.plugins ?? []);
  for (const plugin of ordered) {
    for (const [dep, range] of Object.entries(plugin.requires ?? {})) {
      const have = installed.get(dep)!;
      if (!satisfies(have, range)) {
        throw new PluginError(`plugin ${plugin.name} requires ${dep}@${range}, but version ${have} is in the kit`);
      }
    }
    const ctx: PluginContext = {
      plugin: plugin.name,
      backend: backend?.name,
      add: (kind, name, entry) => {
        const registry = registries[kind] as Registry<unknown> | undefined;
        if (!registry) throw new PluginError(`${plugin.name}: unknown registry kind "${String(kind)}"; kinds: ${REGISTRY_KINDS.join(', ')}`);
        registry.add(name, entry, plugin.name);
      },
    };
    await plugin.register(ctx);
    installed.set(plugin.name, plugin.version);
  }
  return {
    backend,
    plugins: installed,
    registries,
    get: (kind, name) => registries[kind].get(name),
    list: (kind) => registries[kind].names(),
  };
}

function orderByRequires(plugins: NutshellPlugin[]): NutshellPlugin[] {
  const byName = new Map<string, NutshellPlugin>();
  for (const p of plugins) {
    if (!p || p.kind !== 'nutshell-plugin') throw new PluginError(`createKit: expected plugins made by definePlugin(), got ${String(p?.name ?? p)}`);
    if (byName.has(p.name)) throw new PluginError(`plugin ${p.name} is given twice`);
    byName.set(p.name, p);
  }
  const missing: string[] = [];
  for (const p of plugins) {
    for (const dep of Object.keys(p.requires ?? {})) {
      if (!byName.has(dep)) missing.push(`${p.name} requires ${dep}@${p.requires![dep]}, which is not in the kit`);
    }
  }
  if (missing.length) throw new PluginError(missing.join('; '));
  const out: NutshellPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: NutshellPlugin, path: string[]) => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new PluginError(`plugins require each other in a cycle: ${[...path, p.name].join(' → ')}`);
    state.set(p.name, 'visiting');
    for (const dep of Object.keys(p.requires ?? {})) visit(byName.get(dep)!, [...path, p.name]);
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of plugins) visit(p, []);
  return out;
}
