import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, createKit, type CommandSpec } from '@nutshell/core';
import { expectNoLeak } from '@nutshell/core/testing';
import plugin from '@nutshell/transformer/plugin';
import { CharTokenizer, GPT, loadGpt2, trainGpt } from '@nutshell/transformer';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'nutshell-gpt-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A repetitive corpus a tiny model learns in a few dozen steps.
const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
const small = { nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 16 };
const quiet = { progress: false as const, batchSize: 8, evalBatches: 2 };

const paramsOf = (m: GPT) => m.namedParameters().map(([n, p]) => [n, Array.from(p.dataSync())] as const);

describe('trainGpt', () => {
  it('learns: validation loss falls well below the uniform baseline', async () => {
    const r = await trainGpt({ text, config: small, steps: 60, lr: 1e-2, warmupSteps: 5, evalEvery: 30, ...quiet });
    const uniform = Math.log(r.tokenizer.vocabSize);
    expect(r.history.evals[0]!.metrics.loss).toBeLessThan(uniform);
    expect(r.valLoss).toBeLessThan(0.6 * uniform);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    expect(r.valPerplexity).toBeCloseTo(Math.exp(r.valLoss), 6);
    r.model.dispose();
  });

  it('resumes from its checkpoint to exactly the weights of an uninterrupted run, and writes a loadable model', async () => {
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    const o = { text, config: { ...small, dropout: 0.1 }, steps: 12, evalEvery: 4, ...quiet };
    const full = await trainGpt({ ...o, outDir: a });
    const half = await trainGpt({ ...o, outDir: b, untilStep: 6 });
    half.model.dispose();
    const resumed = await trainGpt({ ...o, outDir: b });
    expect(resumed.history.steps.map((s) => s.loss)).toEqual(full.history.steps.map((s) => s.loss));
    expect(paramsOf(resumed.model)).toEqual(paramsOf(full.model));
    for (const f of ['config.json', 'model.safetensors', 'char-tokenizer.json', 'loss-curve.json', 'loss-curve.svg', 'checkpoint.safetensors']) expect(existsSync(join(a, f))).toBe(true);
    expect(readFileSync(join(a, 'loss-curve.svg'), 'utf8')).toMatch(/^<svg[\s\S]*polyline/);
    const loaded = await loadGpt2(a);
    expect(paramsOf(loaded)).toEqual(paramsOf(full.model));
    [full.model, resumed.model, loaded].forEach((m) => m.dispose());
  });

  it('a training run leaks no tensors', async () => {
    await expectNoLeak(async () => {
      const r = await trainGpt({ text, config: small, steps: 3, evalEvery: 3, ...quiet });
      r.model.dispose();
    }, 'trainGpt');
  });

  it('rejects bad inputs', async () => {
    await expect(trainGpt({ text: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(trainGpt({ text: 'abc', config: small, ...quiet })).rejects.toThrow(/too few/);
    await expect(trainGpt({ text, config: { ...small, nHead: 3 }, ...quiet })).rejects.toThrow(/divisible/);
  });
});

describe('CLI commands (plugin)', () => {
  it('train gpt, then score and generate with the model folder', async () => {
    const kit = await createKit({ backend: false, plugins: [plugin] });
    expect(kit.list('commands')).toEqual(expect.arrayContaining(['generate', 'score', 'train', 'tokenize']));
    expect(kit.list('models')).toContain('gpt');
    const cmd = (name: string) => kit.get('commands', name) as CommandSpec;
    const lines: string[] = [];
    const run = (name: string, args: string[], options: Record<string, unknown>) =>
      cmd(name).run({ args, options: options as never, json: true, kit, print: (l) => lines.push(l) }) as Promise<Record<string, unknown>>;
    const { writeFileSync } = await import('node:fs');
    const data = join(tmp, 'corpus.txt');
    writeFileSync(data, text);
    const out = join(tmp, 'cli-model');
    const t = await run('train', ['gpt'], { data, out, steps: 4, 'batch-size': 4, context: 16, layers: 1, heads: 2, embd: 16, 'eval-every': 2, 'eval-batches': 1, seed: 1 });
    expect(t.steps).toBe(4);
    expect(Number.isFinite(t.val_loss)).toBe(true);
    const model = await loadGpt2(out);
    const tok = CharTokenizer.fromText(text);
    const ids = tok.encode('the cat');
    const s = await run('score', [], { model: out, ids: ids.join(',') });
    const [lp] = await model.scoreTokens([ids]);
    expect(s.token_logprobs).toEqual(Array.from(lp!));
    const st = await run('score', ['the cat'], { model: out });
    expect(st.token_logprobs).toEqual(s.token_logprobs);
    const g = await run('generate', [], { model: out, ids: ids.join(','), 'max-new-tokens': 5, greedy: true });
    expect((g.ids as number[]).length).toBe(5);
    const gt = await run('generate', [], { model: out, prompt: 'the cat', 'max-new-tokens': 5, greedy: true, json: true });
    expect(gt.ids).toEqual(g.ids);
    expect(gt.text).toBe(tok.decode(g.ids as number[]));
    await expect(run('generate', [], { model: out })).rejects.toThrow(InvalidArgumentError);
    await expect(run('score', [], { model: out, ids: '1,x' })).rejects.toThrow(/not a token id/);
    await expect(run('train', ['bert'], { out })).rejects.toThrow(/unknown model/);
    model.dispose();
  });
});
