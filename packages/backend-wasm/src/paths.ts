/** Where the three tfjs-backend-wasm binaries live, for Node, browsers and bundles. */

export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

export type WasmFileName = (typeof WASM_FILES)[number];

/** A directory prefix (ending in '/') or one path/URL per binary, as `setWasmPaths` takes them. */
export type WasmPaths = string | Record<WasmFileName, string>;

export interface ResolvedWasmPaths {
  paths: WasmPaths;
  /** Human-readable origin, shown in the availability reason. */
  source: string;
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * The copies in this package's dist/wasm, as URLs. Each `new URL('<literal>', import.meta.url)` is
 * written out so Vite and webpack 5 see the pattern and emit the file as an asset.
 */
export function packagedWasmUrls(): Record<WasmFileName, string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./wasm/tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./wasm/tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./wasm/tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}

interface NodeApis {
  existsSync(path: string): boolean;
  join(...parts: string[]): string;
  dirname(path: string): string;
  sep: string;
  fileURLToPath(url: string | URL): string;
  createRequire(from: string): { resolve(id: string): string };
}

/** Node built-ins without a static import, so browser bundles do not try to include them. */
async function nodeApis(): Promise<NodeApis> {
  const proc = process as unknown as { getBuiltinModule?: (id: string) => unknown };
  const load = async (id: string): Promise<any> =>
    proc.getBuiltinModule?.(id) ?? (await import(/* @vite-ignore */ /* webpackIgnore: true */ id));
  const [fs, path, url, mod] = await Promise.all([load('node:fs'), load('node:path'), load('node:url'), load('node:module')]);
  return {
    existsSync: fs.existsSync,
    join: path.join,
    dirname: path.dirname,
    sep: path.sep,
    fileURLToPath: url.fileURLToPath,
    createRequire: mod.createRequire,
  };
}

/** The binary tfjs will load: threads never run in Node, so SIMD or plain. */
export function binaryFor(simd: boolean, threads = false): WasmFileName {
  if (simd && threads) return 'tfjs-backend-wasm-threaded-simd.wasm';
  return simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
}

function hasFile(api: NodeApis, dir: string, needed: WasmFileName): boolean {
  return api.existsSync(api.join(dir, needed));
}

/**
 * Node: plain file paths. First the installed @tensorflow/tfjs-backend-wasm (resolved from this
 * module, then from the working directory), then the copies in a `wasm/` folder next to this module
 * (this package's dist/wasm, or the folder shipped beside a bundle). Returns the places it looked
 * when none has the files.
 */
export async function resolveNodeWasmPaths(needed: WasmFileName): Promise<ResolvedWasmPaths | { tried: string[] }> {
  const api = await nodeApis();
  const tried: string[] = [];
  const here = moduleUrl();
  const bases = [here, `${process.cwd()}${api.sep}`].filter((b): b is string => !!b);
  for (const base of bases) {
    let dir: string;
    try {
      dir = api.join(api.dirname(api.createRequire(base).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    } catch {
      tried.push(`@tensorflow/tfjs-backend-wasm resolved from ${base.startsWith('file:') ? api.fileURLToPath(base) : base} (not found)`);
      continue;
    }
    if (hasFile(api, dir, needed)) return { paths: dir + api.sep, source: `@tensorflow/tfjs-backend-wasm at ${dir}` };
    tried.push(`${dir} (no ${needed})`);
  }
  if (here) {
    const dir = api.fileURLToPath(new URL('./wasm/', here));
    if (hasFile(api, dir, needed)) return { paths: dir.endsWith(api.sep) ? dir : dir + api.sep, source: `copies at ${dir}` };
    tried.push(`${dir} (no ${needed})`);
  }
  return { tried };
}

/** Checks user-supplied paths in Node (file paths only; URLs are taken on trust). */
export async function checkNodeOverride(paths: WasmPaths, needed: WasmFileName): Promise<string | undefined> {
  const target = typeof paths === 'string' ? paths + needed : paths[needed];
  if (!target || /^[a-z]+:\/\//i.test(target) || target.startsWith('data:') || target.startsWith('blob:')) return undefined;
  const api = await nodeApis();
  return api.existsSync(target) ? undefined : `${target} does not exist`;
}

/** import.meta.url, or undefined where a bundler (CommonJS output) left it empty. */
function moduleUrl(): string | undefined {
  try {
    return typeof import.meta.url === 'string' ? import.meta.url : undefined;
  } catch {
    return undefined;
  }
}
