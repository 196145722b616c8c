import { createKit } from '@nutshell/core';
import type { Kit, NutshellPlugin } from '@nutshell/core';

export interface Composition {
  kit: Kit;
  /** Plugins left out, with the reason (register() threw, a name clash, an unmet requirement). */
  rejected: { plugin: NutshellPlugin; error: string }[];
}

/**
 * Builds the CLI's kit (without activating a backend) from the CLI's own plugin and the discovered
 * ones. One broken plugin must not take the others down: if composing all of them fails, plugins
 * are added one at a time, in passes, so those that need another plugin can follow it.
 */
export async function composeKit(own: NutshellPlugin, extra: NutshellPlugin[]): Promise<Composition> {
  try {
    return { kit: await createKit({ backend: false, plugins: [own, ...extra] }), rejected: [] };
  } catch {
    // Find the culprits below.
  }
  let kit = await createKit({ backend: false, plugins: [own] });
  const accepted: NutshellPlugin[] = [own];
  let pending = [...extra];
  const errors = new Map<NutshellPlugin, string>();
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false;
    const next: NutshellPlugin[] = [];
    for (const plugin of pending) {
      try {
        kit = await createKit({ backend: false, plugins: [...accepted, plugin] });
        accepted.push(plugin);
        progress = true;
      } catch (err) {
        errors.set(plugin, (err as Error)?.message ?? String(err));
        next.push(plugin);
      }
    }
    pending = next;
  }
  return { kit, rejected: pending.map((plugin) => ({ plugin, error: errors.get(plugin) ?? 'could not be registered' })) };
}
