import { readFileSync } from 'node:fs';
import { FormatError, InvalidArgumentError, describe, type CommandInput, type CommandOption, type CommandSpec, type TextTokenizer } from '@nutshell/core';
import { estimateEmissions } from '../carbon/carbon.js';
import { aif360Metrics } from '../fairness/aif360.js';
import { fairnessSummary } from '../fairness/group-metrics.js';
import type { Label } from '../fairness/labels.js';
import type { SensitiveFeatures } from '../fairness/metric-frame.js';
import { lossThresholdAttack } from '../membership/attacks.js';
import { membershipReport } from '../membership/roc.js';
import { prvEpsilon } from '../privacy/prv.js';
import { getNoiseMultiplier, rdpEpsilon } from '../privacy/rdp.js';
import { verifyManifest } from '../provenance/manifest.js';
import { AuditLog } from '../report/audit-log.js';
import { byteTokenizer, detectWatermark } from '../watermark/detect.js';
import { audit, renderAuditHtml, renderAuditMarkdown } from '../report/audit-report.js';
import { writeFileAtomic } from './atomic.js';
import { cdaCommand } from './cda-command.js';
import { autoValue, parseCsv } from './csv.js';
import { imageWatermarkCommand } from './image-watermark-command.js';
import { verbatimCommand } from './verbatim-command.js';
import { suiteFromConfig } from './report-config.js';

type Opts = CommandInput['options'];

/** Usage of every subcommand: `nutshell audit --help` lists them, `nutshell audit help <subcommand>` shows one. */
const USAGE: Record<string, string> = {
  fairness: 'fairness --data D.json ({"y_true", "y_pred", "sensitive_features", "sample_weight"?}) | --csv F --group col[,col] --y-true col --y-pred col [--weight col] [--privileged v] [--pos-label v] [--method between_groups|to_overall] — fairlearn metrics by group (AIF360 with --privileged)',
  'dp-epsilon': 'dp-epsilon --sample-rate q --noise-multiplier σ --steps n --delta δ [--accountant rdp|prv] — ε of DP-SGD (RDP with Opacus\' orders, or PRV)',
  'dp-noise': 'dp-noise --target-epsilon ε --delta δ --sample-rate q --steps n|--epochs e — the noise multiplier for a budget',
  membership: 'membership --data D.json ({"member_scores", "non_member_scores"} or {"member_losses", "non_member_losses"}) — AUC, TPR at 0.1 % and 1 % FPR',
  'watermark-detect': 'watermark-detect --text T.txt --key K [--tokenizer bytes|<registered>] | --tokens ids.json --vocab-size V [--prompt-length n] [--gamma γ] [--z-threshold z] [--ignore-repeated] — green-list z-test',
  'watermark-image': 'watermark-image embed --in IMG.png --out OUT.png --key K --payload BITS|0xHEX [--psnr 40] | watermark-image detect --in IMG.png --key K --bits N | --payload BITS [--fpr 1e-4] [--max-shift px] — invisible DCT spread-spectrum watermark on PNG files (gray, RGB, RGBA)',
  verbatim: 'verbatim --corpus FILE --texts FILE [--min-length 50] [--tokenizer bytes|<registered>] — verbatim spans of generated texts in the training corpus (files: .json array, .jsonl lines of strings or {text}, else the whole file is one text)',
  cda: 'cda --in FILE --out FILE [--mode duplicate|substitute] [--probability p] [--direction both|to-second|to-first] [--names] [--pairs pairs.json] [--seed s] — counterfactual data augmentation (.json, .jsonl, or one text per line)',
  'manifest-verify': 'manifest-verify --manifest M.json [--file F] [--file-name name] [--trusted-key K] — signature and asset hashes of a provenance manifest',
  'log-verify': 'log-verify --log audit.jsonl — hash chain of an audit log',
  carbon: 'carbon --energy-kwh E [--region DEU] [--pue 1.2] — CO₂e of a run',
  report: 'report --config audit.json [--out report.html|.md|.json] [--format html|md|json] — one audit report per model',
  help: 'help <subcommand> — usage of one subcommand',
};
const SUBCOMMANDS = Object.keys(USAGE);

function readText(path: unknown, what: string): string {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError(`${what}: give a file path`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function readJson(path: unknown, what: string): Record<string, unknown> {
  const text = readText(path, what);
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new FormatError('json', `${path}: ${(err as Error).message}`);
  }
}

function num(opts: Opts, name: string, fallback?: number): number {
  const v = opts[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`option --${name}: required number, got ${describe(v)}`);
  return v;
}

function fairnessInput(opts: Opts): { yTrue: Label[]; yPred: Label[]; sensitiveFeatures: SensitiveFeatures; sampleWeight?: number[] } {
  if (opts.csv !== undefined) {
    const { columns, header } = parseCsv(readText(opts.csv, '--csv'));
    const col = (name: string) => {
      const c = columns[name];
      if (!c) throw new InvalidArgumentError(`--csv: no column "${name}"; columns: ${header.join(', ')}`);
      return c.map(autoValue);
    };
    const groupCols = String(opts.group ?? 'group').split(',').map((s) => s.trim());
    const sensitiveFeatures = groupCols.length === 1 ? col(groupCols[0]!) : Object.fromEntries(groupCols.map((g) => [g, col(g)]));
    const sampleWeight = opts.weight ? col(String(opts.weight)).map(Number) : undefined;
    return { yTrue: col(String(opts['y-true'] ?? 'y_true')), yPred: col(String(opts['y-pred'] ?? 'y_pred')), sensitiveFeatures, sampleWeight };
  }
  const d = readJson(opts.data, '--data');
  for (const k of ['y_true', 'y_pred', 'sensitive_features']) if (d[k] === undefined) throw new InvalidArgumentError(`--data: missing "${k}" (expected {"y_true", "y_pred", "sensitive_features", "sample_weight"?})`);
  return {
    yTrue: d.y_true as Label[], yPred: d.y_pred as Label[], sensitiveFeatures: d.sensitive_features as SensitiveFeatures,
    sampleWeight: d.sample_weight as number[] | undefined,
  };
}

async function resolveTokenizer(name: string, input: CommandInput): Promise<TextTokenizer> {
  if (name === 'bytes') return byteTokenizer;
  if (!input.kit.registries.tokenizers.has(name)) {
    throw new InvalidArgumentError(`--tokenizer: unknown tokenizer "${name}"; built in: bytes; registered: ${input.kit.list('tokenizers').join(', ') || '(none)'}`);
  }
  let t = input.kit.get('tokenizers', name) as unknown;
  if (typeof t === 'function') t = await (t as () => unknown)();
  if (t && typeof t === 'object' && 'load' in t && typeof (t as { load: unknown }).load === 'function') t = await (t as { load: () => unknown }).load();
  const tok = t as TextTokenizer;
  if (!tok || typeof tok.encode !== 'function' || !Number.isInteger(tok.vocabSize)) throw new InvalidArgumentError(`--tokenizer: "${name}" is not a TextTokenizer (encode + vocabSize)`);
  return tok;
}

async function run(input: CommandInput): Promise<unknown> {
  const { args, options: o, print } = input;
  const sub = args[0];
  if (args.length > 1 && sub !== 'watermark-image' && sub !== 'help') throw new InvalidArgumentError(`audit ${sub}: unexpected argument ${describe(args[1])}`);
  switch (sub) {
    case 'fairness': {
      const data = fairnessInput(o);
      const method = (o.method ?? 'between_groups') as 'between_groups' | 'to_overall';
      const posLabel = o['pos-label'] === undefined ? undefined : autoValue(String(o['pos-label']));
      const s = fairnessSummary({ ...data, method, posLabel });
      const result: Record<string, unknown> = { ...s };
      if (o.privileged !== undefined) {
        if (!Array.isArray(data.sensitiveFeatures)) throw new InvalidArgumentError('--privileged needs a single sensitive feature');
        result.aif360 = aif360Metrics({ yTrue: data.yTrue, yPred: data.yPred, protectedAttribute: data.sensitiveFeatures as (string | number)[], privileged: autoValue(String(o.privileged)), favorableLabel: posLabel, sampleWeight: data.sampleWeight });
      }
      print(`demographic parity difference ${s.demographic_parity_difference.toFixed(4)}, ratio ${s.demographic_parity_ratio.toFixed(4)}`);
      print(`equalized odds difference ${s.equalized_odds_difference.toFixed(4)}, ratio ${s.equalized_odds_ratio.toFixed(4)}`);
      for (const [g, v] of Object.entries(s.by_group)) print(`  ${g}: selection ${v.selection_rate.toFixed(4)} tpr ${v.tpr.toFixed(4)} fpr ${v.fpr.toFixed(4)} n=${v.count}`);
      return result;
    }
    case 'dp-epsilon': {
      const q = num(o, 'sample-rate'), sigma = num(o, 'noise-multiplier'), steps = num(o, 'steps'), delta = num(o, 'delta');
      const accountant = String(o.accountant ?? 'rdp');
      if (accountant === 'prv') {
        const r = prvEpsilon({ sampleRate: q, noiseMultiplier: sigma, steps, delta });
        print(`ε = ${r.epsilon.toFixed(4)} (PRV, bounds [${r.epsilonLower.toFixed(4)}, ${r.epsilonUpper.toFixed(4)}]) for δ = ${delta}`);
        return { epsilon: r.epsilon, epsilon_lower: r.epsilonLower, epsilon_upper: r.epsilonUpper, accountant: 'prv' };
      }
      if (accountant !== 'rdp') throw new InvalidArgumentError(`--accountant: expected rdp or prv, got ${describe(accountant)}`);
      const r = rdpEpsilon(q, sigma, steps, delta);
      print(`ε = ${r.epsilon.toFixed(4)} at α = ${r.bestAlpha} for δ = ${delta} (RDP, Opacus' orders)`);
      return { epsilon: r.epsilon, best_alpha: r.bestAlpha, accountant: 'rdp' };
    }
    case 'dp-noise': {
      const sigma = getNoiseMultiplier({
        targetEpsilon: num(o, 'target-epsilon'), targetDelta: num(o, 'delta'), sampleRate: num(o, 'sample-rate'),
        ...(o.epochs !== undefined ? { epochs: num(o, 'epochs') } : { steps: num(o, 'steps') }),
      });
      print(`noise multiplier σ = ${sigma}`);
      return { noise_multiplier: sigma };
    }
    case 'membership': {
      const d = readJson(o.data, '--data');
      if (Array.isArray(d.member_losses) && Array.isArray(d.non_member_losses)) {
        const r = lossThresholdAttack(d.member_losses as number[], d.non_member_losses as number[]);
        print(`loss-threshold attack: AUC ${r.auc.toFixed(4)}, TPR@0.1%FPR ${r.tpr_at_0_1pct_fpr.toFixed(4)}, TPR@1%FPR ${r.tpr_at_1pct_fpr.toFixed(4)}`);
        return r;
      }
      if (!Array.isArray(d.member_scores) || !Array.isArray(d.non_member_scores)) {
        throw new InvalidArgumentError('--data: expected {"member_scores", "non_member_scores"} or {"member_losses", "non_member_losses"}');
      }
      const r = membershipReport(d.member_scores as number[], d.non_member_scores as number[]);
      print(`AUC ${r.auc.toFixed(4)}, TPR@0.1%FPR ${r.tpr_at_0_1pct_fpr.toFixed(4)}, TPR@1%FPR ${r.tpr_at_1pct_fpr.toFixed(4)}`);
      return r;
    }
    case 'watermark-detect': {
      const key = o.key;
      if (typeof key !== 'string' || !key) throw new InvalidArgumentError('--key: required (the watermark key)');
      let tokens: number[];
      let vocabSize: number;
      if (o.tokens !== undefined) {
        const parsed = JSON.parse(readText(o.tokens, '--tokens')) as unknown;
        tokens = (Array.isArray(parsed) ? parsed : (parsed as { tokens?: unknown }).tokens) as number[];
        vocabSize = num(o, 'vocab-size');
      } else {
        const tok = await resolveTokenizer(String(o.tokenizer ?? 'bytes'), input);
        tokens = tok.encode(readText(o.text, '--text'));
        vocabSize = tok.vocabSize;
      }
      const r = detectWatermark(tokens, {
        key, vocabSize, gamma: o.gamma as number | undefined, promptLength: o['prompt-length'] as number | undefined,
        ignoreRepeatedNgrams: o['ignore-repeated'] === true, zThreshold: o['z-threshold'] as number | undefined,
      });
      print(`z = ${r.z.toFixed(3)}, green ${r.green}/${r.scored} (${(100 * r.green_fraction).toFixed(1)}%): ${r.detected ? 'WATERMARKED' : 'not detected'}`);
      return r;
    }
    case 'manifest-verify': {
      const m = readJson(o.manifest, '--manifest');
      const files: Record<string, string> = {};
      if (typeof o.file === 'string') files[String(o['file-name'] ?? o.file.split(/[\\/]/).pop())] = o.file;
      const r = await verifyManifest(m, { files, ...(typeof o['trusted-key'] === 'string' ? { trustedKeys: [o['trusted-key']] } : {}) });
      print(r.valid ? `valid manifest signed by ${r.signer}` : `INVALID: ${r.problems.join('; ')}`);
      return r;
    }
    case 'log-verify': {
      const r = AuditLog.verify(readText(o.log, '--log'));
      print(r.valid ? `valid audit log, ${r.entries} entries, head ${r.head}` : `INVALID at line ${r.firstBadLine}: ${r.problem}`);
      return r;
    }
    case 'carbon': {
      const e = estimateEmissions(num(o, 'energy-kwh'), o.region as string | undefined, (o.pue as number | undefined) ?? 1);
      print(`${(e.emissionsKg * 1000).toFixed(3)} g CO₂e at ${e.gridIntensity} g/kWh (${e.region})`);
      return e;
    }
    case 'report': {
      if (typeof o.config !== 'string') throw new InvalidArgumentError('report: --config audit.json is required');
      const { model, suite } = await suiteFromConfig(o.config, (name) => resolveTokenizer(name, input));
      const report = await audit(model, suite);
      const out = typeof o.out === 'string' ? o.out : undefined;
      const format = String(o.format ?? (out?.endsWith('.html') ? 'html' : out?.endsWith('.md') ? 'md' : 'json'));
      if (!['html', 'md', 'json'].includes(format)) throw new InvalidArgumentError(`--format: expected html, md or json, got ${describe(format)}`);
      if (out) {
        const text = format === 'html' ? renderAuditHtml(report) : format === 'md' ? renderAuditMarkdown(report) : `${JSON.stringify(report, null, 2)}\n`;
        writeFileAtomic(out, text);
        print(`wrote ${format} audit report to ${out}`);
      }
      print(`${report.model.name}: ${report.findings.length} findings, overall severity ${report.severity}`);
      for (const f of report.findings) print(`  [${f.severity}] ${f.check}: ${f.message}`);
      return report;
    }
    case 'watermark-image':
      return imageWatermarkCommand(input);
    case 'verbatim':
      return verbatimCommand(input, (name) => resolveTokenizer(name, input));
    case 'cda':
      return cdaCommand(input);
    case 'help': {
      const which = args[1];
      if (which === undefined) {
        for (const k of SUBCOMMANDS) print(`nutshell audit ${USAGE[k]}`);
        return { subcommands: SUBCOMMANDS.map((k) => ({ name: k, usage: `nutshell audit ${USAGE[k]}` })) };
      }
      if (!USAGE[which]) throw new InvalidArgumentError(`audit help: unknown subcommand ${describe(which)}; one of ${SUBCOMMANDS.join(', ')}`);
      print(`Usage: nutshell audit ${USAGE[which]}`);
      return { name: which, usage: `nutshell audit ${USAGE[which]}` };
    }
    default:
      throw new InvalidArgumentError(`audit: expected a subcommand (${SUBCOMMANDS.join(', ')}), got ${describe(sub)}`);
  }
}

const spec = {
  summary: 'fairness, differential-privacy, membership-inference, watermark (text and image), extraction, CDA, provenance and carbon audits',
  description: ['Subcommands (run "nutshell audit help <subcommand>" for one):', ...Object.values(USAGE).map((u) => `  ${u}`), 'Outputs (--out) are written atomically; errors are one line.'].join('\n'),
  args: [
    { name: 'subcommand', description: SUBCOMMANDS.join(' | '), required: true },
    { name: 'action', description: 'embed | detect (watermark-image), or the subcommand to describe (help)' },
  ],
  options: <CommandOption[]>[
    { name: 'data', type: 'string', description: 'JSON input file (fairness, membership)' },
    { name: 'csv', type: 'string', description: 'CSV input file (fairness)' },
    { name: 'group', type: 'string', description: 'sensitive-feature column(s), comma-separated (fairness --csv)', default: 'group' },
    { name: 'y-true', type: 'string', description: 'true-label column (fairness --csv)', default: 'y_true' },
    { name: 'y-pred', type: 'string', description: 'prediction column (fairness --csv)', default: 'y_pred' },
    { name: 'weight', type: 'string', description: 'sample-weight column (fairness --csv)' },
    { name: 'pos-label', type: 'string', description: 'positive label (default 1)' },
    { name: 'privileged', type: 'string', description: 'privileged group value: adds AIF360 metrics (disparate impact, 4/5 rule, average odds, Theil)' },
    { name: 'method', type: 'string', description: 'between_groups (default) or to_overall' },
    { name: 'sample-rate', type: 'number', description: 'Poisson sampling rate q (dp-*)' },
    { name: 'noise-multiplier', type: 'number', description: 'noise multiplier σ (dp-epsilon)' },
    { name: 'steps', type: 'number', description: 'number of DP-SGD steps (dp-*)' },
    { name: 'epochs', type: 'number', description: 'epochs instead of steps (dp-noise)' },
    { name: 'delta', type: 'number', description: 'target δ (dp-*)' },
    { name: 'target-epsilon', type: 'number', description: 'target ε (dp-noise)' },
    { name: 'accountant', type: 'string', description: 'rdp (default) or prv (dp-epsilon)' },
    { name: 'text', type: 'string', description: 'text file to test (watermark-detect)' },
    { name: 'tokens', type: 'string', description: 'JSON file of token ids (watermark-detect)' },
    { name: 'vocab-size', type: 'number', description: 'vocabulary size with --tokens (watermark-detect)' },
    { name: 'tokenizer', type: 'string', description: 'bytes (default) or a registered tokenizer (watermark-detect)' },
    { name: 'key', type: 'string', description: 'watermark key (watermark-detect)' },
    { name: 'gamma', type: 'number', description: 'green-list fraction γ (default 0.25)' },
    { name: 'prompt-length', type: 'number', description: 'leading prompt tokens not scored (watermark-detect)' },
    { name: 'ignore-repeated', type: 'boolean', description: 'score each bigram once (watermark-detect)' },
    { name: 'z-threshold', type: 'number', description: 'detection threshold on z (default 4)' },
    { name: 'manifest', type: 'string', description: 'provenance manifest JSON (manifest-verify)' },
    { name: 'file', type: 'string', description: 'asset file to re-hash (manifest-verify)' },
    { name: 'file-name', type: 'string', description: 'asset name of --file in the manifest (default: its base name)' },
    { name: 'trusted-key', type: 'string', description: 'require this Ed25519 public key (manifest-verify)' },
    { name: 'log', type: 'string', description: 'audit log JSONL (log-verify)' },
    { name: 'energy-kwh', type: 'number', description: 'energy in kWh (carbon)' },
    { name: 'region', type: 'string', description: 'ISO alpha-3 grid region or WORLD (carbon)' },
    { name: 'pue', type: 'number', description: 'power usage effectiveness (carbon, default 1)' },
    { name: 'config', type: 'string', description: 'audit config JSON (report)' },
    { name: 'in', type: 'string', description: 'input file: PNG (watermark-image), texts (cda)' },
    { name: 'payload', type: 'string', description: 'watermark payload as bits "0110…" or hex "0x…" (watermark-image)' },
    { name: 'bits', type: 'number', description: 'payload length to decode (watermark-image detect)' },
    { name: 'psnr', type: 'number', description: 'target PSNR in dB (watermark-image embed, default 40)' },
    { name: 'fpr', type: 'number', description: 'false-positive rate of detection (watermark-image detect, default 1e-4)' },
    { name: 'max-shift', type: 'number', description: 'largest top/left crop re-aligned for (watermark-image detect)' },
    { name: 'corpus', type: 'string', description: 'training corpus file (verbatim)' },
    { name: 'texts', type: 'string', description: 'generated texts file (verbatim)' },
    { name: 'min-length', type: 'number', description: 'shortest span that counts as extracted, in characters or tokens (verbatim, default 50)' },
    { name: 'mode', type: 'string', description: 'duplicate (default) or substitute (cda)' },
    { name: 'probability', type: 'number', description: 'substitution probability (cda --mode substitute, default 0.5)' },
    { name: 'direction', type: 'string', description: 'both (default), to-second or to-first (cda)' },
    { name: 'names', type: 'boolean', description: 'also swap first names (cda)' },
    { name: 'pairs', type: 'string', description: 'JSON file of [first, second] word pairs (cda; default the gender pairs)' },
    { name: 'format', type: 'string', description: 'html, md or json (report; default from --out)' },
  ],
  // None of the audits compute with tensors (report takes predictions and scores), so the CLI need not start a backend.
  needsBackend: false,
  run,
};

/** `nutshell audit <subcommand> …`. */
export const auditCommand: CommandSpec = spec;
