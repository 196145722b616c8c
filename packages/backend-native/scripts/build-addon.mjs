// Builds build/nutshell_native.node (N-API addon over OpenBLAS) with the system C compiler.
// It must never fail an install or a build: where there is no compiler, no OpenBLAS or no
// N-API headers it writes build/unavailable.json with the reason and exits 0, and the backend
// then reports itself unavailable at runtime.
//
// Environment:
//   CC                          compiler (default: cc)
//   NUTSHELL_NATIVE_BUILD_DIR   output folder (default: <package>/build)
//   NUTSHELL_NATIVE_SKIP_BUILD  set to 1 to skip compiling (records "skipped" as the reason)
//   NUTSHELL_OPENBLAS_INCLUDE   extra include folder holding cblas.h
//   NUTSHELL_OPENBLAS_LIB       extra library folder holding libopenblas
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = resolve(process.env.NUTSHELL_NATIVE_BUILD_DIR || join(pkgDir, 'build'));
// Every .c file of src-c/ is one translation unit of the addon (addon.c defines the module).
const sources = readdirSync(join(pkgDir, 'src-c')).filter((f) => f.endsWith('.c')).sort().map((f) => join(pkgDir, 'src-c', f));
const target = join(buildDir, 'nutshell_native.node');
const unavailableFile = join(buildDir, 'unavailable.json');
const cc = process.env.CC || 'cc';

function log(message) {
  console.log(`[@nutshell/backend-native] ${message}`);
}

function unavailable(reason, detail) {
  mkdirSync(buildDir, { recursive: true });
  rmSync(target, { force: true });
  const record = { reason, detail: detail ? String(detail).slice(-4000) : undefined, compiler: cc, time: new Date().toISOString() };
  writeFileSync(unavailableFile, JSON.stringify(record, null, 2) + '\n');
  log(`native addon not built: ${reason} (the 'native' backend will report itself unavailable; see README)`);
  process.exit(0);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return { ok: false, output: r.error.message, missing: r.error.code === 'ENOENT' };
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

try {
  if (process.env.NUTSHELL_NATIVE_SKIP_BUILD === '1') unavailable('build skipped (NUTSHELL_NATIVE_SKIP_BUILD=1)');
  if (process.platform === 'win32') unavailable('building the addon is only supported on Linux and macOS');

  let napiInclude;
  try {
    const require = createRequire(import.meta.url);
    napiInclude = join(dirname(require.resolve('node-api-headers/package.json')), 'include');
  } catch (err) {
    unavailable('npm package node-api-headers not found', err?.message);
  }
  if (!existsSync(join(napiInclude, 'node_api.h'))) unavailable(`node_api.h missing in ${napiInclude}`);

  const version = run(cc, ['--version']);
  if (!version.ok) unavailable(version.missing ? `no C compiler ('${cc}' not found; install gcc or set CC)` : `C compiler '${cc}' does not run`, version.output);

  // Portable code generation: OpenBLAS dispatches its own kernels at runtime, our loops stay generic.
  const archFlags = process.arch === 'x64' ? ['-march=x86-64-v2', '-mtune=generic'] : [];
  // -fno-trapping-math: nobody enables FP traps, and without it GCC will not if-convert (so not
  // vectorise) loops with clamps or divisions such as the activations'; results are unchanged.
  const baseFlags = ['-O3', '-std=c11', '-fPIC', '-fvisibility=hidden', '-fno-trapping-math', ...archFlags];
  const sharedFlags = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];

  // Candidate places for cblas.h / libopenblas, the first that compiles and links wins.
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const includeDirs = [
    process.env.NUTSHELL_OPENBLAS_INCLUDE,
    undefined,
    `/usr/include/${multiarch}/openblas-pthread`,
    `/usr/include/${multiarch}`,
    '/usr/include/openblas',
    '/usr/local/include/openblas',
    '/opt/homebrew/opt/openblas/include',
    '/usr/local/opt/openblas/include',
  ].filter((d, i, all) => all.indexOf(d) === i && (d === undefined || existsSync(d)));
  const libDirs = [
    process.env.NUTSHELL_OPENBLAS_LIB,
    undefined,
    `/usr/lib/${multiarch}/openblas-pthread`,
    '/opt/homebrew/opt/openblas/lib',
    '/usr/local/opt/openblas/lib',
  ].filter((d, i, all) => all.indexOf(d) === i && (d === undefined || existsSync(d)));

  const work = mkdtempSync(join(tmpdir(), 'nutshell-native-'));
  const probe = join(work, 'probe.c');
  writeFileSync(
    probe,
    '#include <cblas.h>\nvoid openblas_set_num_threads(int);\n' +
      'int main(void){float a=1,b=2,c=0;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1.f,&a,1,&b,1,0.f,&c,1);openblas_set_num_threads(1);return c==2.f?0:1;}\n',
  );
  let chosen;
  let lastError = '';
  for (const inc of includeDirs) {
    for (const lib of libDirs) {
      const flags = [...(inc ? [`-I${inc}`] : []), ...(lib ? [`-L${lib}`, `-Wl,-rpath,${lib}`] : [])];
      const r = run(cc, [...baseFlags, ...flags, probe, '-lopenblas', '-o', join(work, 'probe')]);
      if (r.ok) {
        chosen = flags;
        break;
      }
      lastError = r.output;
    }
    if (chosen) break;
  }
  if (!chosen) {
    rmSync(work, { recursive: true, force: true });
    unavailable('OpenBLAS not found (cblas.h / -lopenblas); install it, e.g. apt-get install libopenblas-dev', lastError);
  }

  mkdirSync(buildDir, { recursive: true });
  const tmpTarget = join(work, 'nutshell_native.node');
  const args = [...baseFlags, ...sharedFlags, `-I${napiInclude}`, ...chosen, ...sources, '-lopenblas', '-lm', '-o', tmpTarget];
  const compiled = run(cc, args);
  if (!compiled.ok) {
    rmSync(work, { recursive: true, force: true });
    unavailable('compiling src-c/*.c failed', compiled.output);
  }

  // Load it once in a child process: catches a missing runtime library before users do.
  const check = run(process.execPath, ['-e', `const a=require(${JSON.stringify(tmpTarget)});if(typeof a.matmul!=='function')throw new Error('no matmul export')`]);
  if (!check.ok) {
    rmSync(work, { recursive: true, force: true });
    unavailable('the compiled addon does not load', check.output);
  }
  renameOrCopy(tmpTarget, target);
  rmSync(work, { recursive: true, force: true });
  rmSync(unavailableFile, { force: true });
  log(`built ${target} (${cc} ${[...baseFlags, ...chosen].join(' ')} -lopenblas)`);
} catch (err) {
  unavailable('unexpected error while building the addon', err?.stack ?? err);
}

function renameOrCopy(from, to) {
  try {
    renameSync(from, to);
  } catch {
    // tmpdir may be on another filesystem.
    copyFileSync(from, to);
  }
}
