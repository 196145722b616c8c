import type { TextTokenizer } from '@nutshell/core';
import { CharTokenizer, bpeFromTokenizerJson, bpeFromVocabMerges, gpt2FromBytes, type GPT } from '@nutshell/transformer';

/**
 * Loads a GPT exported by the CLI (`nutshell train gpt --out DIR`: Hugging Face GPT-2 layout) from
 * files the user picked. transformer's `loadGpt2` reads a folder with node:fs; in the browser the
 * same bytes go through its in-memory `gpt2FromBytes`.
 */
export async function loadCheckpointFiles(files: readonly File[]): Promise<{ model: GPT; tokenizer: TextTokenizer; summary: string }> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const need = (name: string) => {
    const f = byName.get(name);
    if (!f) throw new Error(`${name} is missing: select config.json, model.safetensors and the tokenizer file together`);
    return f;
  };
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await need('config.json').text()) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`config.json: ${(e as Error).message}`);
  }
  const bytes = new Uint8Array(await need('model.safetensors').arrayBuffer());
  const tokenizer = await tokenizerFrom(byName);
  const model = gpt2FromBytes(config, bytes);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    model.dispose();
    throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.config.vocabSize}`);
  }
  const summary = `${model.config.nLayer} layers, ${model.config.nEmbd} wide, context ${model.config.nPositions}, vocabulary ${model.config.vocabSize}, ${model.numParameters().toLocaleString()} parameters`;
  return { model, tokenizer, summary };
}

async function tokenizerFrom(byName: Map<string, File>): Promise<TextTokenizer> {
  const text = async (n: string) => (byName.has(n) ? byName.get(n)!.text() : undefined);
  const tj = await text('tokenizer.json');
  if (tj !== undefined) return bpeFromTokenizerJson(tj);
  const vocab = await text('vocab.json');
  const merges = await text('merges.txt');
  if (vocab !== undefined && merges !== undefined) return bpeFromVocabMerges(vocab, merges);
  const ch = await text('char-tokenizer.json');
  if (ch !== undefined) return CharTokenizer.fromJSON(JSON.parse(ch));
  throw new Error('no tokenizer file: select char-tokenizer.json, tokenizer.json, or vocab.json + merges.txt with the model');
}
