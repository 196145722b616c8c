import * as m from './index.js';

/** One entry of the `metrics` registry: a name, what it scores, and the function that computes it. */
export interface MetricEntry {
  name: string;
  kind: 'text' | 'features' | 'image' | 'classification' | 'regression' | 'calibration' | 'language-model' | 'distribution' | 'human-eval' | 'efficiency';
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
  { name: 'swd-pyramid', kind: 'image', higherIsBetter: false, summary: "ProGAN's multi-scale (Laplacian pyramid, 7×7 patch) sliced Wasserstein distance", compute: m.swdPyramid },
  { name: 'mnist-fid', kind: 'image', higherIsBetter: false, summary: 'FID on the shipped MNIST network features (128-d)', compute: m.mnistFid },
  { name: 'mnist-is', kind: 'image', higherIsBetter: true, summary: 'Inception Score with the shipped MNIST classifier', compute: m.mnistIs },
  { name: 'mmd', kind: 'features', higherIsBetter: false, summary: 'squared MMD with RBF or polynomial kernel (unbiased / biased)', compute: m.mmd },
  { name: 'distinct-n', kind: 'text', higherIsBetter: true, summary: 'unique n-grams / all n-grams', compute: m.distinctN },
  { name: 'self-bleu', kind: 'text', higherIsBetter: false, summary: 'mean sentence BLEU of each text against the others', compute: m.selfBleu },
  { name: 'exact-match', kind: 'text', higherIsBetter: true, summary: 'share of exact matches (optional SQuAD normalization)', compute: m.exactMatch },
  { name: 'kl', kind: 'distribution', higherIsBetter: false, summary: 'discrete KL divergence (ε smoothing optional)', compute: m.klDivergence },
  { name: 'js', kind: 'distribution', higherIsBetter: false, summary: 'Jensen–Shannon divergence', compute: m.jsDivergence },
  { name: 'gaussian-kl', kind: 'distribution', higherIsBetter: false, summary: 'closed-form KL between diagonal Gaussians', compute: m.gaussianKl },
  { name: 'wasserstein-1d', kind: 'distribution', higherIsBetter: false, summary: '1-D Wasserstein-1 distance', compute: m.wasserstein1d },
  { name: 'bits-per-dim', kind: 'distribution', higherIsBetter: false, summary: 'negative log-likelihood in bits per dimension', compute: m.bitsPerDim },
  { name: 'cohen-kappa', kind: 'human-eval', higherIsBetter: true, summary: "Cohen's κ (unweighted, linear, quadratic)", compute: m.cohenKappa },
  { name: 'fleiss-kappa', kind: 'human-eval', higherIsBetter: true, summary: "Fleiss' κ from a subjects × categories count matrix", compute: m.fleissKappa },
  { name: 'krippendorff-alpha', kind: 'human-eval', higherIsBetter: true, summary: "Krippendorff's α (nominal, ordinal, interval, ratio; missing values)", compute: m.krippendorffAlpha },
  { name: 'win-rate', kind: 'human-eval', higherIsBetter: true, summary: 'pairwise win rate with Wilson interval and binomial test', compute: m.winRate },
  { name: 'bradley-terry', kind: 'human-eval', higherIsBetter: true, summary: 'Bradley–Terry strengths (MM algorithm) and Elo scale', compute: m.bradleyTerry },
  { name: 'likert', kind: 'human-eval', higherIsBetter: true, summary: 'Likert summary: mean, sd, median, counts, top-box share', compute: m.likertSummary },
  { name: 'pairwise-sample-size', kind: 'human-eval', higherIsBetter: false, summary: 'comparisons needed to detect a win rate (binomial test, normal approximation)', compute: m.pairwiseSampleSize },
  { name: 'parameters', kind: 'efficiency', higherIsBetter: false, summary: 'parameter count and bytes per dtype of an nn Module', compute: m.parameterStats },
  { name: 'flops', kind: 'efficiency', higherIsBetter: false, summary: 'FLOPs of one forward pass (Linear, Conv2d, ConvTranspose2d)', compute: m.countFlops },
  { name: 'latency', kind: 'efficiency', higherIsBetter: false, summary: 'latency median/p95 after warm-up on the active backend', compute: m.measureLatency },
  { name: 'peak-memory', kind: 'efficiency', higherIsBetter: false, summary: 'peak bytes of live tensors while a function runs', compute: m.peakTensorMemory },
  { name: 'perplexity', kind: 'language-model', higherIsBetter: false, summary: 'perplexity over a TokenScorer (sliding window)', compute: m.perplexity },
];

/** Feature extractors, registered as `models` (the plugin interface has no extractor registry kind). */
export const EXTRACTORS = [
  { name: 'mnist-features', summary: 'shipped MNIST CNN: 128-d penultimate features and 10-class probabilities', load: m.mnistFeatureExtractor },
  { name: 'inception-v3-pool3', summary: "pytorch-fid's InceptionV3 (2048-d pool3) from user-supplied safetensors weights", load: m.inceptionFeatureExtractor },
] as const;
