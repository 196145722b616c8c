import * as m from './index.js';

/** One entry of the `metrics` registry: a name, what it scores, and the function that computes it. */
export interface MetricEntry {
  name: string;
  kind: 'text' | 'features' | 'image' | 'classification' | 'regression' | 'calibration' | 'language-model';
  higherIsBetter: boolean;
  summary: string;
  /** The library function (see its documentation for arguments). */
  compute: (...args: never[]) => unknown;
}

export const METRICS: readonly MetricEntry[] = [
  { name: 'bleu', kind: 'text', higherIsBetter: true, summary: 'sacreBLEU corpus BLEU (corpusBleu; sentenceBleu for one segment)', compute: m.corpusBleu },
  { name: 'chrf', kind: 'text', higherIsBetter: true, summary: 'sacreBLEU chrF / chrF++ (wordOrder 2)', compute: m.corpusChrf },
  { name: 'rouge', kind: 'text', higherIsBetter: true, summary: 'rouge-score ROUGE-N/L/Lsum with optional Porter stemming', compute: m.rouge },
  { name: 'fid', kind: 'features', higherIsBetter: false, summary: 'Fréchet distance between feature sets (float64, exact for N < d)', compute: m.fid },
  { name: 'kid', kind: 'features', higherIsBetter: false, summary: 'Kernel Inception Distance (cubic kernel, unbiased MMD², subsets)', compute: m.kid },
  { name: 'inception-score', kind: 'features', higherIsBetter: true, summary: 'Inception Score from class probabilities (splits)', compute: m.inceptionScore },
  { name: 'precision-recall', kind: 'features', higherIsBetter: true, summary: 'k-NN precision/recall and density/coverage', compute: m.precisionRecall },
  { name: 'swd', kind: 'features', higherIsBetter: false, summary: 'sliced Wasserstein distance with seeded projections', compute: m.slicedWasserstein },
  { name: 'psnr', kind: 'image', higherIsBetter: true, summary: 'peak signal-to-noise ratio (dB)', compute: m.psnr },
  { name: 'ssim', kind: 'image', higherIsBetter: true, summary: 'structural similarity (Gaussian window 11, σ 1.5)', compute: m.ssim },
  { name: 'accuracy', kind: 'classification', higherIsBetter: true, summary: 'share of exact label matches', compute: m.accuracy },
  { name: 'precision-recall-f', kind: 'classification', higherIsBetter: true, summary: 'precision, recall, F-beta (binary/micro/macro/weighted)', compute: m.precisionRecallF },
  { name: 'confusion-matrix', kind: 'classification', higherIsBetter: true, summary: 'confusion matrix', compute: m.confusionMatrix },
  { name: 'roc-auc', kind: 'classification', higherIsBetter: true, summary: 'area under the ROC curve (binary)', compute: m.rocAuc },
  { name: 'average-precision', kind: 'classification', higherIsBetter: true, summary: 'average precision (binary)', compute: m.averagePrecision },
  { name: 'log-loss', kind: 'classification', higherIsBetter: false, summary: 'cross-entropy of predicted probabilities', compute: m.logLoss },
  { name: 'mse', kind: 'regression', higherIsBetter: false, summary: 'mean squared error', compute: m.meanSquaredError },
  { name: 'mae', kind: 'regression', higherIsBetter: false, summary: 'mean absolute error', compute: m.meanAbsoluteError },
  { name: 'r2', kind: 'regression', higherIsBetter: true, summary: 'coefficient of determination', compute: m.r2Score },
  { name: 'ece', kind: 'calibration', higherIsBetter: false, summary: 'expected calibration error (equal-width bins)', compute: m.expectedCalibrationError },
  { name: 'perplexity', kind: 'language-model', higherIsBetter: false, summary: 'perplexity over a TokenScorer (sliding window)', compute: m.perplexity },
];
