import { activateBackend } from '../backends.js';
import type { CliCommandSpec } from '../state.js';
import { formatTable } from '../table.js';

export function backendsCommand(): CliCommandSpec {
  return {
    summary: 'show which backends run here, which one "auto" picks and why, and why the others do not',
    args: [],
    needsBackend: false,
    async run({ print }) {
      const auto = await activateBackend('auto');
      const top = auto.considered.find((r) => r.name === auto.name);
      const backends = auto.considered.map((row) => {
        const picked = row.name === auto.name;
        let why: string;
        if (picked) why = `picked by auto: ${auto.reason}`;
        else if (row.available) why = `available, but auto prefers ${auto.name} (priority ${top?.priority ?? '?'} > ${row.priority})`;
        else why = row.reason;
        return { ...row, picked, why };
      });
      const rows = backends.map((b) => [b.name + (b.picked ? ' *' : ''), b.available ? 'yes' : 'no', b.installed ? String(b.priority) : '-', b.packageName]);
      formatTable(['backend', 'available', 'priority', 'package'], rows).forEach((l) => print(l));
      print('');
      print(`auto picks ${auto.name}: ${auto.reason}`);
      for (const b of backends) {
        const notes = b.available && b.capabilities?.notes?.length ? ` [${b.capabilities.notes.join('; ')}]` : '';
        print(`  ${b.name}: ${b.picked ? `runs on ${b.reason}` : b.why}${notes}`);
      }
      return { auto: { name: auto.name, reason: auto.reason }, backends };
    },
  };
}
