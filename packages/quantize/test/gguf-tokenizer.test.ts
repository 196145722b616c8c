import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, InvalidArgumentError, Rng, saveSafetensors, tensor, tf } from '@nutshell/core';
import { exportCommand, exportGpt2Gguf, gguf, gpt2TokenizerMetadata, parseGguf, readGgufTokenizer, writeGguf, type GgufValue } from '@nutshell/quantize';

// A tiny byte-level BPE: 4 byte tokens, 3 merges, <|endoftext|> last (as GPT-2's id 50256).
const vocab = { 'h': 0, 'e': 1, 'l': 2, 'o': 3, 'he': 4, 'll': 5, 'hell': 6, 'Ġw': 7, '<|endoftext|>': 8 };
const merges = ['h e', 'l l', 'he ll'];

/** Where `key` is stored, the value type id that follows it (read from the bytes, not the parser). */
function onDiskTypes(bytes: Uint8Array, key: string): [number, number | null] {
  const k = new TextEncoder().encode(key);
  outer: for (let i = 8; i + k.length + 8 < bytes.length; i++) {
    for (let j = 0; j < k.length; j++) if (bytes[i + j] !== k[j]) continue outer;
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    // gguf string: u64 length then bytes; the key's length precedes it.
    if (Number(dv.getBigUint64(i - 8, true)) !== k.length) continue;
    const type = dv.getUint32(i + k.length, true);
    return [type, type === 9 ? dv.getUint32(i + k.length + 4, true) : null];
  }
  throw new Error(`key ${key} not found`);
}

function tinyGpt2(V: number): Record<string, ReturnType<typeof tensor>> {
  const r = new Rng(1);
  const E = 32, P = 16;
  const t = (shape: number[]) => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal() * 0.05), shape);
  return {
    'wte.weight': t([V, E]), 'wpe.weight': t([P, E]), 'ln_f.weight': t([E]), 'ln_f.bias': t([E]),
    'h.0.ln_1.weight': t([E]), 'h.0.ln_1.bias': t([E]), 'h.0.attn.c_attn.weight': t([E, 3 * E]), 'h.0.attn.c_attn.bias': t([3 * E]),
    'h.0.attn.c_proj.weight': t([E, E]), 'h.0.attn.c_proj.bias': t([E]), 'h.0.ln_2.weight': t([E]), 'h.0.ln_2.bias': t([E]),
    'h.0.mlp.c_fc.weight': t([E, 4 * E]), 'h.0.mlp.c_fc.bias': t([4 * E]), 'h.0.mlp.c_proj.weight': t([4 * E, E]), 'h.0.mlp.c_proj.bias': t([E]),
  };
}
const config = { n_layer: 1, n_head: 2, n_embd: 32, n_positions: 16 };

describe('GGUF tokenizer metadata (llama.cpp tokenizer.ggml.*)', () => {
  it('builds tokens by id, token types, merges and special ids as gguf-py types them', () => {
    const m = gpt2TokenizerMetadata({ vocab, merges, vocabSize: 11 });
    const v = (k: string) => m[k] as GgufValue & { itemType?: string };
    expect(v('tokenizer.ggml.model')).toEqual({ type: 'STRING', value: 'gpt2' });
    expect(v('tokenizer.ggml.pre')).toEqual({ type: 'STRING', value: 'gpt-2' });
    expect(v('tokenizer.ggml.tokens')).toEqual({ type: 'ARRAY', itemType: 'STRING', value: ['h', 'e', 'l', 'o', 'he', 'll', 'hell', 'Ġw', '<|endoftext|>', '[PAD9]', '[PAD10]'] });
    // NORMAL 1, CONTROL 3, UNUSED 5 (gguf-py TokenType).
    expect(v('tokenizer.ggml.token_type')).toEqual({ type: 'ARRAY', itemType: 'INT32', value: [1, 1, 1, 1, 1, 1, 1, 1, 3, 5, 5] });
    expect(v('tokenizer.ggml.merges')).toEqual({ type: 'ARRAY', itemType: 'STRING', value: merges });
    expect(v('tokenizer.ggml.bos_token_id')).toEqual({ type: 'UINT32', value: 8 });
    expect(v('tokenizer.ggml.eos_token_id')).toEqual({ type: 'UINT32', value: 8 });
    // Pairs are accepted for merges; pre can be omitted.
    const p = gpt2TokenizerMetadata({ vocab: new Map(Object.entries(vocab)), merges: [['h', 'e']], pre: null, userDefinedTokens: ['Ġw'] });
    expect(p['tokenizer.ggml.merges']!.value).toEqual(['h e']);
    expect('tokenizer.ggml.pre' in p).toBe(false);
    expect((p['tokenizer.ggml.token_type']!.value as number[])[7]).toBe(4);
  });

  it('exportGpt2Gguf writes them (types checked in the file bytes) and readGgufTokenizer reads them back', () => {
    const ts = tinyGpt2(12);
    const raw = Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: new Uint8Array(t.dataSync().buffer.slice(0)) }]));
    const bytes = exportGpt2Gguf(config, raw as never, 'q8_0', 'tiny', { vocab, merges });
    tf.dispose(Object.values(ts));
    expect(onDiskTypes(bytes, 'tokenizer.ggml.model')).toEqual([8, null]); // STRING
    expect(onDiskTypes(bytes, 'tokenizer.ggml.tokens')).toEqual([9, 8]); // ARRAY of STRING
    expect(onDiskTypes(bytes, 'tokenizer.ggml.token_type')).toEqual([9, 5]); // ARRAY of INT32
    expect(onDiskTypes(bytes, 'tokenizer.ggml.merges')).toEqual([9, 8]);
    expect(onDiskTypes(bytes, 'tokenizer.ggml.bos_token_id')).toEqual([4, null]); // UINT32
    expect(onDiskTypes(bytes, 'tokenizer.ggml.eos_token_id')).toEqual([4, null]);
    const file = parseGguf(bytes);
    const tok = readGgufTokenizer(file.metadata)!;
    expect(tok.model).toBe('gpt2');
    expect(tok.pre).toBe('gpt-2');
    expect(tok.tokens.length).toBe(12); // padded to the embedding's rows
    expect(Object.fromEntries(tok.vocab)).toEqual(vocab);
    expect(tok.merges).toEqual(merges);
    expect([tok.bosTokenId, tok.eosTokenId]).toEqual([8, 8]);
    expect(tok.tokenTypes.slice(8)).toEqual([3, 5, 5, 5]);
    // Without a tokenizer: no keys, and reading gives null.
    expect(readGgufTokenizer(parseGguf(exportGpt2Gguf(config, raw as never, 'f32')).metadata)).toBeNull();
  });

  it('the export command picks up vocab.json + merges.txt from the model directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nq-tok-'));
    const ts = tinyGpt2(9);
    writeFileSync(join(dir, 'model.safetensors'), saveSafetensors(ts));
    tf.dispose(Object.values(ts));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
    const out = join(dir, 'm.gguf');
    const r = await exportCommand.run({ args: [], options: { format: 'gguf', quant: 'f16', model: dir, out } as never, json: false, kit: {} as never, print: () => {} });
    expect((r as { tokenizer: boolean }).tokenizer).toBe(true);
    const tok = readGgufTokenizer(parseGguf(new Uint8Array(readFileSync(out))).metadata)!;
    expect(tok.tokens).toEqual(Object.keys(vocab));
    expect(tok.merges).toEqual(merges);
  });

  it('rejects malformed input (InvalidArgumentError) and malformed metadata (FormatError)', () => {
    expect(() => gpt2TokenizerMetadata({ vocab: { a: 0, b: 0 }, merges: [] })).toThrow(InvalidArgumentError);
    expect(() => gpt2TokenizerMetadata({ vocab: { a: 0 }, merges: ['a'] })).toThrow(/merges\[0\]/);
    expect(() => gpt2TokenizerMetadata({ vocab: { a: 0 }, merges: [], bosTokenId: 3 })).toThrow(/bosTokenId/);
    expect(() => gpt2TokenizerMetadata({ vocab: { a: 1 }, merges: [], vocabSize: 1 })).toThrow(/vocabSize/);
    expect(() => gpt2TokenizerMetadata({ vocab: { a: 0 }, merges: [], specialTokens: ['<s>'] })).toThrow(/not in the vocab/);
    const good = gpt2TokenizerMetadata({ vocab, merges });
    const read = (md: Record<string, GgufValue>) => readGgufTokenizer(parseGguf(writeGguf({ metadata: md })).metadata);
    expect(read(good)!.tokens.length).toBe(9);
    expect(() => read({ ...good, 'tokenizer.ggml.token_type': gguf.array('UINT8', [1]) })).toThrow(FormatError);
    expect(() => read({ ...good, 'tokenizer.ggml.bos_token_id': gguf.i32(8) })).toThrow(/UINT32/);
    expect(() => read({ ...good, 'tokenizer.ggml.eos_token_id': gguf.u32(99) })).toThrow(/not a token id/);
    expect(() => read({ ...good, 'tokenizer.ggml.tokens': gguf.array('INT32', [1]) })).toThrow(FormatError);
    const { 'tokenizer.ggml.tokens': _drop, ...noTokens } = good;
    expect(() => read(noTokens)).toThrow(/missing/);
  });
});
