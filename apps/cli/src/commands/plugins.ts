import { REGISTRY_KINDS } from '@nutshell/core';
import type { Kit } from '@nutshell/core';
import type { CliCommandSpec, CliState } from '../state.js';

interface PluginRow {
  name: string;
  version: string | null;
  package: string;
  source: 'builtin' | 'project' | 'cli';
  path: string | null;
  status: 'ok' | 'broken';
  error: string | null;
  commands: string[];
  /** Other registry entries the plugin added, by kind. */
  provides: Record<string, string[]>;
}

export function pluginsCommand(state: CliState): CliCommandSpec {
  return {
    summary: 'list the plugins mounted in the CLI, their versions and commands, and any broken ones',
    description:
      'Plugins are installed @nutshell/* packages whose package.json declares\n' +
      '  "nutshell": { "plugin": "./dist/plugin.js" }\n' +
      'found in the current project\'s node_modules (nearest first) and in the CLI\'s own dependencies.',
    args: [],
    needsBackend: false,
    run({ kit, print }) {
      const rows: PluginRow[] = [
        { ...entries(kit, '@nutshell/cli'), name: '@nutshell/cli', version: state.version, package: '@nutshell/cli', source: 'builtin', path: null, status: 'ok', error: null },
      ];
      for (const found of state.discovery.plugins) {
        const rejected = found.plugin && state.rejected.find((r) => r.plugin === found.plugin);
        const error = found.error ?? rejected?.error ?? null;
        const name = found.plugin?.name ?? found.packageName;
        rows.push({
          ...(error ? { commands: [], provides: {} } : entries(kit, name)),
          name,
          version: found.plugin?.version ?? found.packageVersion ?? null,
          package: found.packageName,
          source: found.source,
          path: found.dir,
          status: error ? 'broken' : 'ok',
          error,
        });
      }
      for (const row of rows) {
        const head = `${row.name}@${row.version ?? '?'}${row.package !== row.name ? ` (package ${row.package})` : ''}`;
        print(`${head}  [${row.source}${row.path ? `: ${row.path}` : ''}]`);
        if (row.status === 'broken') {
          print(`  BROKEN: ${row.error}`);
          continue;
        }
        print(`  commands: ${row.commands.length ? row.commands.join(', ') : '(none)'}`);
        for (const [kind, names] of Object.entries(row.provides)) print(`  ${kind}: ${names.join(', ')}`);
      }
      for (const s of state.discovery.shadowed) print(`(ignored ${s.packageName} at ${s.dir}: shadowed by ${s.by})`);
      return { plugins: rows, shadowed: state.discovery.shadowed };
    },
  };
}

function entries(kit: Kit, owner: string): Pick<PluginRow, 'commands' | 'provides'> {
  const provides: Record<string, string[]> = {};
  for (const kind of REGISTRY_KINDS) {
    if (kind === 'commands') continue;
    const names = kit.list(kind).filter((n) => kit.registries[kind].ownerOf(n) === owner);
    if (names.length) provides[kind] = names;
  }
  const commands = kit.list('commands').filter((n) => kit.registries.commands.ownerOf(n) === owner);
  return { commands, provides };
}
