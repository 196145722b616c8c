import { readFileSync } from 'node:fs';

interface OwnPackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
}

let cached: OwnPackageJson | undefined;

/** The CLI's own package.json (one directory above dist/). */
export function ownPackageJson(): OwnPackageJson {
  cached ??= JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as OwnPackageJson;
  return cached;
}

/** Directory holding the CLI's package.json, as a file URL. */
export const OWN_PACKAGE_URL = new URL('../', import.meta.url);
