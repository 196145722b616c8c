// Makes a fresh clone ready with nothing but Node 20 and npm: installs the workspace with the
// pinned pnpm (through npx when pnpm is not on PATH) and builds every package with nx.
// Used by the root `npm run demo` and `npm test`, so both work as the first command on a machine.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = 'pnpm@12.4.2';
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' };

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`bootstrap: \`${cmd} ${args.join(' ')}\` failed with exit code ${r.status ?? r.signal}`);
    process.exit(r.status ?? 1);
  }
}

function pnpmCommand() {
  try {
    if (execSync('pnpm --version', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === PNPM.split('@')[1]) return ['pnpm', []];
  } catch {
    // not installed: fall through to npx
  }
  return ['npx', ['-y', PNPM]];
}

const [pnpm, prefix] = pnpmCommand();
run(pnpm, [...prefix, 'install', '--frozen-lockfile', '--prefer-offline']);
if (!existsSync(join(root, 'node_modules/.bin/nx'))) {
  console.error('bootstrap: nx is missing after install');
  process.exit(1);
}
run(join(root, 'node_modules/.bin/nx'), ['run-many', '-t', 'build', '--output-style=stream']);
