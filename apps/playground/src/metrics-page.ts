import { corpusBleu, corpusChrf, fid, parseNpy, type MatrixLike } from '@nutshell/metrics';
import { $, onClick } from './dom.js';

function lines(id: string): string[] {
  return $<HTMLTextAreaElement>(id).value.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

/** BLEU and chrF of pasted text, one segment per line (sacreBLEU's definitions). */
function scoreText(): void {
  const hyp = lines('m-hyp');
  const ref = lines('m-ref');
  if (!hyp.length) throw new Error('paste at least one hypothesis line');
  if (hyp.length !== ref.length) throw new Error(`${hyp.length} hypothesis lines but ${ref.length} reference lines; give one reference per hypothesis`);
  const bleu = corpusBleu(hyp, [ref]);
  const chrf = corpusChrf(hyp, [ref]);
  $('m-text-out').textContent = [
    `BLEU = ${bleu.score.toFixed(2)}  (${bleu.precisions.map((p) => p.toFixed(1)).join('/')}, BP ${bleu.bp.toFixed(3)}, ratio ${bleu.ratio.toFixed(3)}, ${bleu.sys_len}/${bleu.ref_len})`,
    `${chrf.name} = ${chrf.score.toFixed(2)}  ${chrf.signature}`,
  ].join('\n');
  $('m-text-out').dataset.bleu = String(bleu.score);
  $('m-text-out').dataset.chrf = String(chrf.score);
}

/** Features from .npy, .json (array of rows) or .csv. */
async function readFeatures(file: File): Promise<MatrixLike> {
  if (file.name.endsWith('.npy')) {
    const a = parseNpy(new Uint8Array(await file.arrayBuffer()));
    if (a.shape.length !== 2) throw new Error(`${file.name}: expected a 2-D array [N, D], got shape [${a.shape.join(', ')}]`);
    return { shape: a.shape, data: a.data };
  }
  const text = await file.text();
  if (file.name.endsWith('.json')) return JSON.parse(text) as number[][];
  return text.split(/\r?\n/).filter((l) => l.trim()).map((l, i) => l.split(/[,\s]+/).filter(Boolean).map((v) => {
    const x = Number(v);
    if (!Number.isFinite(x)) throw new Error(`${file.name}: line ${i + 1} has a non-number ${JSON.stringify(v)}`);
    return x;
  }));
}

async function scoreFid(): Promise<void> {
  const a = $<HTMLInputElement>('m-fid-a').files?.[0];
  const b = $<HTMLInputElement>('m-fid-b').files?.[0];
  if (!a || !b) throw new Error('choose two feature files');
  const r = fid(await readFeatures(a), await readFeatures(b));
  $('m-fid-out').textContent = `FID = ${r.value.toFixed(4)}${r.signature ? `  (${r.signature})` : ''}`;
  $('m-fid-out').dataset.fid = String(r.value);
}

export function initMetricsPage(): void {
  onClick('m-text-run', scoreText);
  onClick('m-fid-run', scoreFid);
}
