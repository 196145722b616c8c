import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownLines, runCli, STACK_LINE } from './run-cli.js';
import { assemble, f32, i32, i64, safetensorsBytes, u16, u8 } from './safetensors-writer.js';

let dir: string;
const file = (name: string, bytes: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nutshell-inspect-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = () =>
  safetensorsBytes(
    {
      weight: { dtype: 'F32', shape: [2, 3], bytes: f32([1.5, -0.25, NaN, Infinity, -Infinity, 0]) },
      ids: { dtype: 'I32', shape: [3], bytes: i32([7, -8, 2147483647]) },
      big: { dtype: 'I64', shape: [2], bytes: i64([-5n, 9007199254740993n]) },
      // F16 bits: 1.0, -2.0, +inf, 65504 (largest half)
      half: { dtype: 'F16', shape: [2, 2], bytes: u16([0x3c00, 0xc000, 0x7c00, 0x7bff]) },
      // BF16 bits: 1.0, -0.5
      brain: { dtype: 'BF16', shape: [2], bytes: u16([0x3f80, 0xbf00]) },
      flags: { dtype: 'BOOL', shape: [3], bytes: u8([1, 0, 1]) },
      bytes: { dtype: 'U8', shape: [1, 2], bytes: u8([0, 255]) },
      scalar: { dtype: 'F32', shape: [], bytes: f32([3]) },
      empty: { dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
    },
    { format: 'pt', note: 'hand-written' },
  );

describe('nutshell inspect', () => {
  it('--json gives exactly format, metadata and each tensor\'s dtype and shape', async () => {
    const r = await runCli(['inspect', file('good.safetensors', good()), '--json']);
    expect(r.code).toBe(0);
    expect(ownLines(r.stderr)).toEqual([]);
    expect(JSON.parse(r.stdout)).toEqual({
      format: 'safetensors',
      metadata: { format: 'pt', note: 'hand-written' },
      tensors: {
        weight: { dtype: 'F32', shape: [2, 3] },
        ids: { dtype: 'I32', shape: [3] },
        big: { dtype: 'I64', shape: [2] },
        half: { dtype: 'F16', shape: [2, 2] },
        brain: { dtype: 'BF16', shape: [2] },
        flags: { dtype: 'BOOL', shape: [3] },
        bytes: { dtype: 'U8', shape: [1, 2] },
        scalar: { dtype: 'F32', shape: [] },
        empty: { dtype: 'F32', shape: [0, 4] },
      },
    });
  });

  it('--values adds flat values, with NaN and infinities as strings', async () => {
    const r = await runCli(['inspect', file('values.safetensors', good()), '--json', '--values']);
    expect(r.code).toBe(0);
    const { tensors } = JSON.parse(r.stdout);
    expect(tensors.weight.values).toEqual([1.5, -0.25, 'NaN', 'Infinity', '-Infinity', 0]);
    expect(tensors.ids.values).toEqual([7, -8, 2147483647]);
    expect(tensors.big.values[0]).toBe(-5);
    // 2^53 + 1 is not a double: it must not be silently rounded.
    expect(String(tensors.big.values[1])).toBe('9007199254740993');
    expect(tensors.half.values).toEqual([1, -2, 'Infinity', 65504]);
    expect(tensors.brain.values).toEqual([1, -0.5]);
    expect(tensors.flags.values.map(Boolean)).toEqual([true, false, true]);
    expect(tensors.bytes.values).toEqual([0, 255]);
    expect(tensors.scalar.values).toEqual([3]);
    expect(tensors.empty.values).toEqual([]);
  });

  it('a tensor named __proto__ is an ordinary entry', async () => {
    const header = JSON.stringify({ ['__proto__']: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const r = await runCli(['inspect', file('proto.safetensors', assemble(header, [f32([2.5])])), '--json', '--values']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"format":"safetensors","metadata":null,"tensors":{"__proto__":{"dtype":"F32","shape":[1],"values":[2.5]}}}\n');
  });

  it('no metadata gives "metadata": null; human output lists the tensors', async () => {
    const path = file('nometa.safetensors', safetensorsBytes({ x: { dtype: 'F32', shape: [1], bytes: f32([2]) } }));
    const json = await runCli(['inspect', path, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ format: 'safetensors', metadata: null, tensors: { x: { dtype: 'F32', shape: [1] } } });
    const human = await runCli(['inspect', path]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^x\s+F32\s+\[1\]$/m);
  });

  const header = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
  const bad: [string, () => Uint8Array | string, RegExp][] = [
    ['empty', () => new Uint8Array(0), /./],
    ['seven-bytes', () => new Uint8Array(7), /./],
    ['truncated-data', () => good().subarray(0, good().length - 5), /./],
    ['truncated-header', () => good().subarray(0, 40), /header/i],
    ['bad-json', () => assemble('{"a": {"dtype": "F32", ', [f32([1, 2])]), /json/i],
    ['header-longer-than-file', () => assemble(header, [f32([1, 2])], 1000n), /header|length|exceed|bytes/i],
    ['huge-header-length', () => assemble(header, [f32([1, 2])], 2n ** 63n), /header|length|exceed|bytes/i],
    ['not-an-object', () => assemble('[1, 2, 3]', []), /./],
    ['bad-dtype', () => assemble(JSON.stringify({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }), [f32([1])]), /dtype|F33/i],
    ['size-mismatch', () => assemble(JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), [f32([1, 2])]), /./],
    ['offsets-past-end', () => assemble(JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), [f32([1, 2])]), /./],
    ['text-file', () => 'hello, this is not a safetensors file at all\n', /./],
  ];

  for (const [name, bytes, pattern] of bad) {
    it(`a malformed file (${name}) fails with one line naming the file and the problem`, async () => {
      const path = file(`${name}.safetensors`, bytes());
      const runs = await Promise.all([[], ['--json'], ['--json', '--values']].map((extra) => runCli(['inspect', path, ...extra])));
      for (const r of runs) {
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toMatch(STACK_LINE);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^nutshell: /);
        expect(lines[0]).toContain(`${name}.safetensors`);
        expect(lines[0]).toMatch(pattern);
      }
    });
  }

  it('a missing file fails with one line', async () => {
    const r = await runCli(['inspect', join(dir, 'nope.safetensors'), '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^nutshell: .*nope\.safetensors: no such file\n$/);
  });

  it('a directory fails with one line', async () => {
    const sub = join(dir, 'a-directory.safetensors');
    mkdirSync(sub, { recursive: true });
    const r = await runCli(['inspect', sub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nutshell: .*a-directory\.safetensors: is a directory/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
