import { InvalidArgumentError, Rng, type TokenScorer } from '@nutshell/core';
import {
  DEFAULT_TEMPLATES, byteTokenizer, canaryExposure, counterfactualProbe, ibanValid, luhnValid, randomSecrets, redactPii,
  renderDatasheetHtml, renderDatasheetMarkdown, scanPii, scanPiiCorpus, type Datasheet,
} from '@nutshell/ethics-audit';
import { describe, expect, it } from 'vitest';

/** A full-context count model: p(t | prefix) = (count(prefix + t) + α) / (count(prefix) + αV). */
function memorizer(corpus: number[][], V: number, alpha = 0.1): TokenScorer {
  const counts = new Map<string, number>();
  for (const s of corpus) for (let i = 0; i <= s.length; i++) {
    const k = s.slice(0, i).join(',');
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return {
    vocabSize: V,
    async scoreTokens(seqs) {
      return seqs.map((s) => Float32Array.from(s.slice(1), (_, i) => {
        const prefix = s.slice(0, i + 1).join(','), next = s.slice(0, i + 2).join(',');
        return Math.log(((counts.get(next) ?? 0) + alpha) / ((counts.get(prefix) ?? 0) + alpha * V));
      }));
    },
  };
}

describe('PII scanner', () => {
  it('finds and validates e-mails, phones, cards (Luhn), IBANs (mod 97), IPs', () => {
    const text = 'Mail jane.doe+x@example.co.uk or call +44 20 7946 0958. Card 4111 1111 1111 1111, not 4111 1111 1111 1112. '
      + 'IBAN GB82 WEST 1234 5698 7654 32 and bad GB00 WEST 1234 5698 7654 32. Server 192.168.1.20, not 999.1.1.1; v6 2001:db8::8a2e:370:7334. '
      + 'Date 2024-01-15, version 1.2.3.';
    const found = scanPii(text).map((m) => [m.type, m.value]);
    expect(found).toEqual([
      ['email', 'jane.doe+x@example.co.uk'], ['phone', '+44 20 7946 0958'], ['credit_card', '4111 1111 1111 1111'],
      ['iban', 'GB82 WEST 1234 5698 7654 32'], ['ipv4', '192.168.1.20'], ['ipv6', '2001:db8::8a2e:370:7334'],
    ]);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('DE88 3704 0044 0532 0130 00')).toBe(false);
    expect(redactPii('write to a@b.io now')).toBe('write to [EMAIL] now');
    const s = scanPiiCorpus(['no pii here', 'ip 10.0.0.1 and a@b.io', 'x@y.org'], { examples: 2 });
    expect(s).toMatchObject({ documents: 3, documentsWithPii: 2, counts: { email: 2, ipv4: 1, phone: 0 } });
    expect(s.examples).toHaveLength(2);
    expect(() => scanPii(3 as never)).toThrow(InvalidArgumentError);
    expect(() => scanPii('x', { types: ['ssn' as never] })).toThrow(/unknown PII type/);
  });
});

describe('canary exposure (Carlini et al. 2019)', () => {
  it('is high for an inserted canary and low for one the model never saw', async () => {
    const rng = new Rng('canary');
    const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], prefix = [10, 11];
    const corpus = randomSecrets(prefix, digits, 4, 200, () => rng.uniform());
    const canary = [...prefix, 3, 1, 4, 1];
    const unseen = [...prefix, 2, 7, 1, 8];
    for (let i = 0; i < 5; i++) corpus.push(canary);
    const scorer = memorizer(corpus, 12);
    const candidates = randomSecrets(prefix, digits, 4, 500, () => rng.uniform());
    const hit = await canaryExposure(scorer, { canary, candidates, prefixLength: 2 });
    expect(hit.rank).toBe(1);
    expect(hit.exposure).toBeCloseTo(Math.log2(501), 10);
    expect(hit.estimatedExposure).toBeGreaterThan(5);
    const miss = await canaryExposure(scorer, { canary: unseen, candidates, prefixLength: 2 });
    expect(miss.exposure).toBeLessThan(4);
    await expect(canaryExposure(scorer, { canary: [1], candidates })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('counterfactual template probes', () => {
  it('measures a log-probability gap the model learned, and none for a term-blind model', async () => {
    const V = byteTokenizer.vocabSize;
    const corpus = ['She worked as a nurse.', 'She worked as a nurse.', 'He worked as a nurse.', 'He worked as an engineer.', 'He worked as an engineer.', 'She worked as an engineer.']
      .map((t) => byteTokenizer.encode(t));
    const scorer = memorizer(corpus, V);
    const terms = { groups: ['female', 'male'], pairs: [['She', 'He']] };
    const r = await counterfactualProbe(scorer, byteTokenizer, { templates: ['{term} worked as a nurse.', '{term} worked as an engineer.'], terms });
    expect(r.byTemplate[0]!.logProb.female).toBeGreaterThan(r.byTemplate[0]!.logProb.male!);
    expect(r.byTemplate[1]!.logProb.male).toBeGreaterThan(r.byTemplate[1]!.logProb.female!);
    expect(r.cases).toBe(2);
    expect(r.preferenceRate).toBe(0.5);
    const blind: TokenScorer = { vocabSize: V, async scoreTokens(seqs) { return seqs.map((s) => new Float32Array(s.length - 1).fill(-1)); } };
    const b = await counterfactualProbe(blind, byteTokenizer);
    expect(b.cases).toBe(DEFAULT_TEMPLATES.length * 5);
    // Only the text after the term is scored, so a model blind to the term shows no gap.
    expect(b.meanGap.male).toBe(0);
    expect(b.preferenceRate).toBe(0.5);
    await expect(counterfactualProbe(blind, byteTokenizer, { templates: ['no slot'] })).rejects.toThrow(/slot/);
  });
});

describe('datasheets (Gebru et al.)', () => {
  it('renders Markdown and escaped HTML and refuses missing sections', () => {
    const d: Datasheet = {
      name: 'digits <v1>', license: 'MIT',
      motivation: { 'For what purpose was the dataset created?': 'Handwritten digit recognition.' },
      composition: { 'How many instances are there in total?': '10,000' },
      uses: { 'Are there tasks for which the dataset should not be used?': 'Identifying writers.' },
      maintenance: {},
    };
    const md = renderDatasheetMarkdown(d);
    expect(md).toMatch(/^# Datasheet: digits <v1>/);
    expect(md).toMatch(/## Motivation\n\n\*\*For what purpose was the dataset created\?\*\*\n\nHandwritten/);
    expect(md).not.toMatch(/## Maintenance/);
    const html = renderDatasheetHtml(d);
    expect(html).toMatch(/digits &lt;v1&gt;/);
    expect(() => renderDatasheetMarkdown({ ...d, uses: {} })).toThrow(/uses/);
  });
});
