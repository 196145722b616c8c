#!/usr/bin/env node
// Scaffolds a nutshell plugin package: `pnpm create-plugin <name> [--dir packages]`.
// Creates <dir>/<name>/ (package @nutshell/<name>) with a plugin that adds the CLI command
// `<name>-hello` and a `metrics` entry, a test, a README, and the workspace's build setup.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const TEMPLATES = join(HERE, 'templates');
/** The monorepo root: tools/create-plugin/../.. */
const ROOT = resolve(HERE, '..', '..');
const SCOPE = '@nutshell/';

const USAGE = `Usage: pnpm create-plugin <name> [--dir packages] [--description TEXT]

Creates <dir>/<name>/ with the package @nutshell/<name>: a nutshell plugin that adds the CLI
command "<name>-hello" and an example "metrics" entry, with a test and a README.
  <name>              lowercase npm name, e.g. "my-sampler" (the @nutshell/ scope is added)
  --dir DIR           parent directory (default: packages/ of this workspace)
  --description TEXT  one-line description for package.json and the README`;

class UsageError extends Error {}

/** Creates the package; returns the directory it wrote. Throws on a bad name or an existing directory. */
export function createPlugin({ name, dir = join(ROOT, 'packages'), description, cwd = process.cwd() }) {
  const short = validateName(name);
  const target = resolve(cwd, dir, short);
  if (existsSync(target)) {
    const what = statSync(target).isDirectory() ? 'directory' : 'file';
    throw new Error(`${target} already exists (a ${what}); refusing to overwrite it. Pick another name or remove it first`);
  }
  const packageName = SCOPE + short;
  const desc = description ?? `A nutshell plugin: adds the "${short}-hello" command to the nutshell CLI.`;
  const posix = (p) => p.split(sep).join('/');
  const values = {
    name: short,
    packageName,
    upperPackageName: packageName.toUpperCase(),
    description: desc,
    descriptionLiteral: JSON.stringify(desc),
    dirFromRoot: posix(relative(ROOT, target)) || '.',
  };

  const files = {
    'package.json': `${JSON.stringify(packageJson(packageName, desc), null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig(target, posix), null, 2)}\n`,
  };
  for (const template of listTemplates(TEMPLATES)) {
    files[template.replace(/\.tmpl$/, '')] = render(readFileSync(join(TEMPLATES, template), 'utf8'), values);
  }
  mkdirSync(target, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    writeFileSync(join(target, file), text, { flag: 'wx' });
  }
  return { dir: target, packageName, files: Object.keys(files).sort() };
}

/** A lowercase npm package name without scope; "@nutshell/x" is accepted as "x". */
export function validateName(raw) {
  if (typeof raw !== 'string' || raw.length === 0) throw new UsageError('missing <name>, e.g. pnpm create-plugin my-sampler');
  let name = raw;
  if (name.startsWith('@')) {
    if (!name.startsWith(SCOPE)) throw new Error(`plugin packages live in the ${SCOPE.slice(0, -1)} scope; got ${JSON.stringify(raw)}`);
    name = name.slice(SCOPE.length);
  }
  if (name !== name.toLowerCase()) throw new Error(`name must be lowercase, got ${JSON.stringify(raw)}`);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    throw new Error(`name must be a lowercase npm name (letters, digits, "-", "_", "."; starting with a letter or digit), got ${JSON.stringify(raw)}`);
  }
  if (name.length + SCOPE.length > 214) throw new Error(`name is too long for npm (at most ${214 - SCOPE.length} characters)`);
  if (['node_modules', 'favicon.ico', 'core', 'cli'].includes(name)) throw new Error(`name ${JSON.stringify(name)} is reserved`);
  return name;
}

function packageJson(packageName, description) {
  return {
    name: packageName,
    version: '0.1.0',
    description,
    license: 'Apache-2.0',
    type: 'module',
    sideEffects: false,
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './plugin': { types: './dist/plugin.d.ts', default: './dist/plugin.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md'],
    scripts: { build: 'tsc -b' },
    // The nutshell CLI mounts installed @nutshell/* packages that declare this (see apps/cli/README.md).
    nutshell: { plugin: './dist/plugin.js' },
    dependencies: { '@nutshell/core': 'workspace:^' },
  };
}

/** Extends the workspace's base config and references core, by paths relative to where the package lands. */
function tsconfig(target, posix) {
  return {
    extends: posix(relative(target, join(ROOT, 'tsconfig.base.json'))),
    compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
    include: ['src'],
    references: [{ path: posix(relative(target, join(ROOT, 'packages', 'core'))) }],
  };
}

function listTemplates(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTemplates(join(dir, e.name), `${prefix}${e.name}/`) : e.name.endsWith('.tmpl') ? [`${prefix}${e.name}`] : [],
  );
}

function render(text, values) {
  return text.replace(/\{\{(\w+)\}\}/g, (m, key) => {
    if (!(key in values)) throw new Error(`template placeholder ${m} has no value`);
    return values[key];
  });
}

function parseArgv(argv) {
  const out = { name: undefined, dir: undefined, description: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--help' || flag === '-h') out.help = true;
    else if (flag === '--dir' || flag === '--description') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
      out[flag.slice(2)] = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${flag}`);
    else if (out.name === undefined) out.name = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; give one <name>`);
  }
  return out;
}

async function main(argv) {
  try {
    const args = parseArgv(argv);
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    const made = createPlugin({ name: args.name, dir: args.dir, description: args.description });
    const rel = relative(process.cwd(), made.dir);
    const where = rel.startsWith('..') ? made.dir : rel || '.';
    console.log(`created ${made.packageName} in ${where}/`);
    for (const f of made.files) console.log(`  ${f}`);
    console.log(`
next:
  pnpm install                           # link @nutshell/core
  pnpm exec tsc -b ${where} && pnpm exec vitest run ${where}
  # to mount it in this workspace's CLI, add "${made.packageName}": "workspace:^" to apps/cli/package.json
  # dependencies, pnpm install, then: pnpm nutshell ${made.packageName.slice(SCOPE.length)}-hello`);
    return 0;
  } catch (err) {
    process.stderr.write(`create-plugin: ${String(err?.message ?? err).replace(/\s*\n\s*/g, ' ')}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
