import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Shared with the playground's tests (a relative import: apps are not packages of each other).
import { allJs, listFiles, removeDir, viteBuild } from '../../playground/test/build.js';
import { MARKERS, packageHasMarker } from '../../playground/test/markers.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const USED = ['transformer', 'finetune-lora', 'backend-wasm (tfjs-backend-wasm)'];
const UNUSED = ['backend-webgpu (tfjs-backend-webgpu)', 'backend-native', 'quantize', 'ethics-audit', 'gan', 'diffusion', 'metrics', 'datasets'];

describe('gloss-writer bundle', () => {
  let dist: string | undefined;
  beforeAll(() => void (dist = viteBuild(appDir)), 120_000);
  afterAll(() => removeDir(dist));

  it('contains the packages it uses and none of the others', () => {
    const js = allJs(dist!);
    for (const name of [...USED, ...UNUSED]) expect({ name, realMarker: packageHasMarker(name) }).toEqual({ name, realMarker: true });
    for (const name of USED) expect({ name, inBundle: js.includes(MARKERS[name]!.marker) }).toEqual({ name, inBundle: true });
    for (const name of UNUSED) expect({ name, inBundle: js.includes(MARKERS[name]!.marker) }).toEqual({ name, inBundle: false });
  });

  it('has a measured size (recorded in the README)', () => {
    const files = listFiles(dist!);
    const js = files.filter((f) => f.path.endsWith('.js'));
    const jsBytes = js.reduce((a, f) => a + f.bytes, 0);
    const jsGzip = js.reduce((a, f) => a + gzipSync(readFileSync(join(dist!, f.path))).length, 0);
    const wasm = files.filter((f) => f.path.endsWith('.wasm')).reduce((a, f) => a + f.bytes, 0);
    console.log(`gloss-writer: JS ${(jsBytes / 1024).toFixed(0)} KiB (${(jsGzip / 1024).toFixed(0)} KiB gzip) in ${js.length} files; wasm ${(wasm / 1024).toFixed(0)} KiB; total ${(files.reduce((a, f) => a + f.bytes, 0) / 1024).toFixed(0)} KiB`);
    expect(jsBytes).toBeGreaterThan(100_000); // tfjs-core alone is larger: the build is real
    expect(jsBytes).toBeLessThan(900_000);
    expect(wasm).toBeGreaterThan(0);
  });
});
