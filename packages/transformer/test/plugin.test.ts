import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, createKit, type CommandSpec, type TextTokenizer } from '@nutshell/core';
import plugin from '@nutshell/transformer/plugin';
import { TOKENIZER_FACTORIES, WordPieceTokenizer, saveTokenizer, trainByteLevelBPE, type TokenizerFactory } from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'nutshell-tok-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bpe = trainByteLevelBPE('the cat sat on the mat; the cat ate the rat.', { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
const bpeDir = join(tmp, 'bpe');
await saveTokenizer(bpe, bpeDir);
const wpVocab = join(tmp, 'vocab.txt');
writeFileSync(wpVocab, new WordPieceTokenizer({ vocab: ['[UNK]', '[CLS]', '[SEP]', 'un', '##want', '##ed', 'Un'] }).toVocabTxt());
const corpus = join(tmp, 'corpus.txt');
writeFileSync(corpus, 'abc 😀');

describe('capability plugin', () => {
  it('registers the tokenizer factories and the tokenize command', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('tokenizers')).toEqual(Object.keys(TOKENIZER_FACTORIES).sort());
    expect(kit.list('tokenizers')).toEqual(['char', 'dir', 'gpt2-files', 'tokenizer-json', 'wordpiece']);
    expect(kit.list('commands')).toEqual(['generate', 'score', 'tokenize', 'train']);
    const factory = kit.get('tokenizers', 'gpt2-files') as TokenizerFactory;
    const t: TextTokenizer = await factory.create({ vocab: join(bpeDir, 'vocab.json'), merges: join(bpeDir, 'merges.txt') });
    expect(t.encode('the cat')).toEqual(bpe.encode('the cat'));
    await expect(factory.create({})).rejects.toThrow(InvalidArgumentError);
  });

  it('nutshell tokenize: ids and tokens, --json shape, --decode, every factory', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    const cmd = kit.get('commands', 'tokenize') as CommandSpec;
    const lines: string[] = [];
    const run = (args: string[], options: Record<string, string | boolean>) => cmd.run({ args, options, json: false, kit, print: (l) => lines.push(l) });
    const text = 'the cat<|endoftext|>';
    const r = (await run([text], { tokenizer: 'gpt2-files', vocab: join(bpeDir, 'vocab.json'), merges: join(bpeDir, 'merges.txt') })) as { ids: number[]; tokens: string[]; count: number; vocabSize: number };
    expect(r.ids).toEqual(bpe.encode(text));
    expect(r.tokens).toEqual(bpe.tokenize(text).map((t) => t.token));
    expect(r.count).toBe(r.ids.length);
    expect(r.tokens.at(-1)).toBe('<|endoftext|>');
    expect(lines.join('\n')).toContain('"<|endoftext|>"');
    const plain = (await run([text], { file: join(bpeDir, 'tokenizer.json'), 'no-special': true })) as { ids: number[] };
    expect(plain.ids).toEqual(bpe.encode(text, { allowedSpecial: 'none' }));
    const viaDir = (await run(['the', 'cat'], { dir: bpeDir })) as { ids: number[] };
    expect(viaDir.ids).toEqual(bpe.encode('the cat'));
    const decoded = (await run([r.ids.join(',')], { dir: bpeDir, decode: true })) as { text: string };
    expect(decoded.text).toBe(text);
    const wp = (await run(['Unwanted'], { tokenizer: 'wordpiece', vocab: wpVocab })) as { tokens: string[] };
    expect(wp.tokens).toEqual(['un', '##want', '##ed']);
    const cased = (await run(['Unwanted'], { tokenizer: 'wordpiece', vocab: wpVocab, cased: true })) as { tokens: string[] };
    expect(cased.tokens).toEqual(['Un', '##want', '##ed']);
    const ch = (await run(['c😀'], { corpus })) as { ids: number[] };
    expect(ch.ids).toEqual([3, 4]);
    await expect(run(['x'], {})).rejects.toThrow(/--tokenizer/);
    await expect(run(['x'], { tokenizer: 'nope' })).rejects.toThrow(/no tokenizers named "nope"/);
    await expect(run([], { dir: bpeDir })).rejects.toThrow(InvalidArgumentError);
    await expect(run(['1,x'], { dir: bpeDir, decode: true })).rejects.toThrow(/not a token id/);
    await expect(run(['99999'], { dir: bpeDir, decode: true })).rejects.toThrow(/not in the vocabulary/);
  });
});
