import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError, InvalidArgumentError, ShapeError, createKit } from '@nutshell/core';
import plugin from '@nutshell/quantize/plugin';
import {
  PACKAGE_VERSION,
  dequantizeGgml,
  gguf,
  ggufFormat,
  inspectGguf,
  parseGguf,
  quantizeGgml,
  writeGguf,
  type GgufTensorInput,
  type GgufValue,
} from '@nutshell/quantize';

const SEED = 31337;

/** A tiny independent encoder, straight from the GGUF v3 spec, to build reference bytes by hand. */
const le = {
  u32: (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; },
  u64: (v: number | bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); return b; },
  f32: (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return b; },
  str: (s: string) => { const t = new TextEncoder().encode(s); return concat(le.u64(t.length), t); },
};
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function handBuilt(): Uint8Array {
  const header = concat(new TextEncoder().encode('GGUF'), le.u32(3), le.u64(2), le.u64(3));
  const kv = concat(
    le.str('general.architecture'), le.u32(8), le.str('llama'),
    le.str('llama.context_length'), le.u32(4), le.u32(2048),
    le.str('tokenizer.ggml.scores'), le.u32(9), le.u32(6), le.u64(2), le.f32(0.5), le.f32(-1),
  );
  const infos = concat(
    le.str('a'), le.u32(2), le.u64(3), le.u64(2), le.u32(0), le.u64(0), // F32 [2, 3]: 24 bytes
    le.str('b'), le.u32(1), le.u64(32), le.u32(8), le.u64(32), // Q8_0 [32]: 34 bytes at 32
  );
  const pre = concat(header, kv, infos);
  const pad = new Uint8Array((32 - (pre.length % 32)) % 32);
  const a = concat(...[1, 2, 3, 4, 5, 6].map(le.f32), new Uint8Array(8));
  const b = quantizeGgml('Q8_0', Float32Array.from({ length: 32 }, (_, i) => i / 4));
  return concat(pre, pad, a, b, new Uint8Array(30));
}

describe('GGUF reader on hand-built bytes', () => {
  it('reads header, typed metadata, tensor infos and data', () => {
    const bytes = handBuilt();
    const f = parseGguf(bytes);
    expect(f.version).toBe(3);
    expect(f.alignment).toBe(32);
    expect(f.dataOffset % 32).toBe(0);
    expect(f.metadata['general.architecture']).toEqual({ type: 'STRING', value: 'llama' });
    expect(f.metadata['llama.context_length']).toEqual({ type: 'UINT32', value: 2048 });
    expect(f.metadata['tokenizer.ggml.scores']).toEqual({ type: 'ARRAY', itemType: 'FLOAT32', value: [0.5, -1] });
    expect(f.tensors.map((t) => [t.name, t.type, t.shape, t.dims, t.offset, t.byteLength])).toEqual([
      ['a', 'F32', [2, 3], [3, 2], 0, 24],
      ['b', 'Q8_0', [32], [32], 32, 34],
    ]);
    expect(Array.from(dequantizeGgml('F32', f.tensors[0]!.data, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(dequantizeGgml('Q8_0', f.tensors[1]!.data, 32)[8]).toBeCloseTo(2, 1);
  });

  it('the writer produces the same bytes as the hand-built file', () => {
    const bytes = handBuilt();
    const written = writeGguf({
      metadata: {
        'general.architecture': 'llama',
        'llama.context_length': gguf.u32(2048),
        'tokenizer.ggml.scores': gguf.array('FLOAT32', [0.5, -1]),
      },
      tensors: [
        { name: 'a', type: 'F32', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
        { name: 'b', type: 'Q8_0', shape: [32], values: Float32Array.from({ length: 32 }, (_, i) => i / 4) },
      ],
    });
    // The hand-built file has 30 extra trailing bytes; everything before is identical.
    expect(Buffer.from(written).equals(Buffer.from(bytes.subarray(0, written.length)))).toBe(true);
    expect(written.length % 32).toBe(0);
  });
});

describe('GGUF writer round trips', () => {
  const valueArb: fc.Arbitrary<GgufValue> = fc.oneof(
    fc.integer({ min: 0, max: 255 }).map(gguf.u8),
    fc.integer({ min: -128, max: 127 }).map(gguf.i8),
    fc.integer({ min: 0, max: 65535 }).map(gguf.u16),
    fc.integer({ min: -32768, max: 32767 }).map(gguf.i16),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(gguf.u32),
    fc.integer().map(gguf.i32),
    fc.float({ noNaN: true }).map(gguf.f32),
    fc.double({ noNaN: true }).map(gguf.f64),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(gguf.u64),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(gguf.i64),
    fc.boolean().map(gguf.bool),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(gguf.string),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 5 }).map((v) => gguf.array('STRING', v)),
    fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 5 }).map((v) => gguf.array('INT32', v)),
    fc.array(fc.array(fc.boolean(), { maxLength: 3 }).map((v) => gguf.array('BOOL', v)), { maxLength: 3 }).map((v) => gguf.array('ARRAY', v)),
  );
  const tensorArb: fc.Arbitrary<GgufTensorInput> = fc
    .tuple(fc.constantFrom('F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q4_K', 'Q6_K' as const), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }))
    .map(([type, rows, blocks]) => {
      const ne0 = type.endsWith('_K') ? 256 : 32 * blocks;
      return { name: `t.${type}.${rows}.${blocks}`, type, shape: rows ? [rows, ne0] : [ne0], values: Float32Array.from({ length: (rows || 1) * ne0 }, (_, i) => Math.sin(i)) };
    });
  it('random metadata of every type and tensors of every codec type round-trip; rewriting is byte-identical (500)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== 'general.alignment'), valueArb, { maxKeys: 6 }),
        fc.uniqueArray(tensorArb, { maxLength: 3, selector: (t) => t.name }),
        fc.constantFrom(32, 64, 1, 8),
        (metadata, tensors, alignment) => {
          const bytes = writeGguf({ metadata, tensors, alignment });
          const f = parseGguf(bytes);
          const expectedMeta = { ...metadata, ...(alignment !== 32 ? { 'general.alignment': gguf.u32(alignment) } : {}) };
          expect({ ...f.metadata }).toEqual(expectedMeta);
          expect(f.alignment).toBe(alignment);
          for (const [i, t] of tensors.entries()) {
            const got = f.tensors[i]!;
            expect([got.name, got.type, got.shape]).toEqual([t.name, t.type, t.shape]);
            expect(got.offset % alignment).toBe(0);
            expect(Buffer.from(got.data).equals(Buffer.from(quantizeGgml(t.type, (t as { values: Float32Array }).values)))).toBe(true);
          }
          const again = writeGguf({ metadata: f.metadata, tensors: f.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: t.data })), alignment });
          expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { numRuns: 500, seed: SEED },
    );
  });

  it('writer errors are typed', () => {
    expect(() => writeGguf({ alignment: 24 })).toThrow(InvalidArgumentError);
    expect(() => writeGguf({ metadata: { x: gguf.u8(300) } })).toThrow(InvalidArgumentError);
    expect(() => writeGguf({ metadata: { x: { a: 1 } as never } })).toThrow(InvalidArgumentError);
    expect(() => writeGguf({ tensors: [{ name: 'q', type: 'Q4_0', shape: [31], values: new Float32Array(31) }] })).toThrow(ShapeError);
    expect(() => writeGguf({ tensors: [{ name: 'q', type: 'F32', shape: [2], data: new Uint8Array(4) }] })).toThrow(InvalidArgumentError);
    expect(() => writeGguf({ tensors: [{ name: 'x'.repeat(64), type: 'F32', shape: [1], values: [1] }] })).toThrow(InvalidArgumentError);
    const t = { name: 'a', type: 'F32' as const, shape: [1], values: [1] };
    expect(() => writeGguf({ tensors: [t, t] })).toThrow(InvalidArgumentError);
  });
});

/** Parsing may succeed or throw FormatError; anything else (RangeError, TypeError, …) fails. */
function parseOrFormatError(bytes: Uint8Array): ReturnType<typeof parseGguf> | undefined {
  try {
    return parseGguf(bytes);
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}
function checkAccepted(bytes: Uint8Array, f: ReturnType<typeof parseGguf>): void {
  for (const t of f.tensors) {
    expect(t.data.byteOffset - bytes.byteOffset).toBeGreaterThanOrEqual(f.dataOffset);
    expect(t.data.byteOffset - bytes.byteOffset + t.byteLength).toBeLessThanOrEqual(bytes.length);
    expect(t.offset % f.alignment).toBe(0);
  }
  inspectGguf(bytes, { values: true });
}

describe('GGUF reader fuzzing: every failure is a FormatError, never a crash, hang or huge allocation', () => {
  const validArb = fc
    .tuple(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(fc.integer({ min: 0, max: 1000 }).map(gguf.u32), fc.string({ maxLength: 6 }).map(gguf.string), fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 4 }).map((v) => gguf.array('INT32', v))), { maxKeys: 4 }),
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('F32' as const, 'Q8_0' as const, 'Q4_0' as const), fc.integer({ min: 1, max: 2 })), { maxLength: 3, selector: (t) => t[0] }),
    )
    .map(([metadata, ts]) =>
      writeGguf({ metadata, tensors: ts.map(([name, type, rows]) => ({ name, type, shape: [rows, 32], values: new Float32Array(rows * 32).fill(0.5) })) }),
    );

  it('random bytes, with and without the magic (2,000)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (raw, magic) => {
        const bytes = magic ? concat(new TextEncoder().encode('GGUF'), le.u32(3), raw) : raw;
        const f = parseOrFormatError(bytes);
        if (f) checkAccepted(bytes, f);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('valid files with flipped bytes, truncations and extensions (2,500)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    );
    fc.assert(
      fc.property(validArb, mutation, (file, m) => {
        let bytes = file.slice();
        if (m.kind === 'flip') for (const [at, x] of m.at) bytes[at % bytes.length]! ^= x;
        else if (m.kind === 'truncate') bytes = bytes.subarray(0, m.keep % bytes.length);
        else bytes = concat(bytes, m.extra);
        const f = parseOrFormatError(bytes);
        if (f) checkAccepted(bytes, f);
      }),
      { numRuns: 2500, seed: SEED },
    );
  });

  it('valid files with hostile 32/64-bit fields: counts, lengths, dims, types, offsets (1,500)', () => {
    // Overwrite an aligned-or-not 4- or 8-byte field with a boundary value.
    const hostile = fc.constantFrom(0n, 1n, 2n, 3n, 4n, 255n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 12n, 39n, 40n, 64n, 1000000n);
    fc.assert(
      fc.property(validArb, fc.nat(), hostile, fc.boolean(), (file, at, value, wide) => {
        const bytes = file.slice();
        const width = wide ? 8 : 4;
        if (bytes.length < width) return;
        const pos = at % (bytes.length - width + 1);
        const dv = new DataView(bytes.buffer);
        if (wide) dv.setBigUint64(pos, value, true);
        else dv.setUint32(pos, Number(value & 0xffffffffn), true);
        const f = parseOrFormatError(bytes);
        if (f) checkAccepted(bytes, f);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('specific malformed cases give clear FormatErrors', () => {
    const ok = writeGguf({ metadata: { a: gguf.u32(1) }, tensors: [{ name: 't', type: 'F32', shape: [2], values: [1, 2] }] });
    const expectFormat = (bytes: Uint8Array, message: RegExp) => expect(() => parseGguf(bytes)).toThrow(message);
    expectFormat(new TextEncoder().encode('GGUX0000'), /not a GGUF file/);
    expectFormat(concat(new TextEncoder().encode('GGUF'), le.u32(1)), /unsupported GGUF version 1/);
    expectFormat(concat(new TextEncoder().encode('GGUF'), new Uint8Array([0, 0, 0, 3])), /big-endian/);
    expectFormat(concat(new TextEncoder().encode('GGUF'), le.u32(3), le.u64(2n ** 60n), le.u64(0)), /tensor count/);
    expectFormat(ok.subarray(0, parseGguf(ok).dataOffset + 7), /needs bytes up to/); // cut into the data (trailing padding is optional)
    const dup = writeGguf({ metadata: { a: gguf.u32(1), b: gguf.u32(2) } });
    dup[dup.indexOf(0x62, 24)] = 0x61; // rename key b → a
    expectFormat(dup, /duplicate metadata key/);
    const wideAlign = writeGguf({ metadata: { 'general.alignmenX': gguf.u64(32n) } }); // the writer refuses a u64 alignment
    wideAlign[wideAlign.indexOf(0x58)] = 0x74; // X → t
    expectFormat(wideAlign, /general.alignment must be a UINT32/);
    expect(() => writeGguf({ metadata: { 'general.alignment': gguf.u64(32n) } })).toThrow(InvalidArgumentError);
    const badType = ok.slice();
    const dv = new DataView(badType.buffer);
    // the ggml type id sits just before the u64 offset that ends the tensor info
    const infoEnd = 24 + (8 + 1 + 4 + 4) + (8 + 1 + 4 + 8 + 4 + 8); // header, kv "a", tensor info "t"
    dv.setUint32(infoEnd - 12, 99, true);
    expectFormat(badType, /unknown ggml type 99/);
  });
});

describe('inspect and the plugin', () => {
  it('inspect lists metadata (arrays previewed) and tensors with name, type, shape, offset', () => {
    const bytes = writeGguf({
      metadata: { 'general.name': 'tiny', 'tokenizer.ggml.tokens': Array.from({ length: 40 }, (_, i) => `t${i}`), big: gguf.u64(2n ** 60n) },
      tensors: [{ name: 'w', type: 'Q4_0', shape: [2, 32], values: new Float32Array(64).fill(1) }],
    });
    const info = inspectGguf(bytes);
    expect(info.metadata['general.name']).toEqual({ type: 'STRING', value: 'tiny' });
    expect(info.metadata['tokenizer.ggml.tokens']).toMatchObject({ type: 'ARRAY', itemType: 'STRING', length: 40, truncated: true });
    expect((info.metadata['tokenizer.ggml.tokens']!.value as string[]).length).toBe(16);
    expect(info.metadata.big!.value).toBe('1152921504606846976');
    expect(info.tensors).toEqual([{ name: 'w', type: 'Q4_0', shape: [2, 32], dims: [32, 2], offset: 0, bytes: 36 }]);
    expect((inspectGguf(bytes, { values: true }).metadata['tokenizer.ggml.tokens']!.value as string[]).length).toBe(40);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('the plugin registers the gguf format and the quantizers; sniff recognises the magic', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('formats')).toEqual(['gguf']);
    const format = kit.get('formats', 'gguf');
    expect(format).toBe(ggufFormat);
    expect(format.sniff(new TextEncoder().encode('GGUF\x03\0\0\0'))).toBe(true);
    expect(format.sniff(new TextEncoder().encode('{"__metadata__'))).toBe(false);
    expect(kit.list('quantizers')).toEqual(['fp4', 'int4-g32', 'int8', 'nf4', 'q4_0', 'q4_1', 'q4_k', 'q5_0', 'q6_k', 'q8_0']);
    expect(() => format.inspect(new Uint8Array(3), {})).toThrow(FormatError);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; nutshell: { plugin: string } };
    expect(PACKAGE_VERSION).toBe(pkg.version);
    expect(plugin.version).toBe(pkg.version);
    expect(pkg.nutshell.plugin).toBe('./dist/plugin.js');
  });
});
