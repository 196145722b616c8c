/**
 * @nutshell/metrics — reference-exact evaluation metrics in float64 JavaScript.
 * Text: sacreBLEU BLEU and chrF/chrF++, rouge-score ROUGE (with NLTK's Porter stemmer), bootstrap CIs.
 * Features: FID, KID, Inception Score, precision/recall/density/coverage, sliced Wasserstein, PSNR, SSIM.
 * Tabular: scikit-learn-style classification/regression metrics and calibration error.
 * Language models: perplexity over core's TokenScorer and comparison with a reference model.
 * Extractors: the shipped MNIST network (mnistFid / mnistIs) and pytorch-fid's InceptionV3 pool3.
 * Also: distinct-n / self-BLEU / exact match, KL / JS / Gaussian KL / MMD / bits per dim, rater
 * agreement (Cohen, Fleiss, Krippendorff), pairwise preferences (Wilson, binomial, Bradley–Terry,
 * Elo), efficiency (parameters, FLOPs, latency, peak tensor memory), ProGAN's pyramid SWD.
 */
export * from './text/tokenizers.js';
export * from './text/bleu.js';
export * from './text/chrf.js';
export * from './text/porter.js';
export * from './text/rouge.js';
export * from './text/rouge-aggregate.js';
export * from './stats/bootstrap.js';
export * from './linalg/matrix.js';
export { eigh, sqrtPsd, traceSqrtPsd } from './linalg/eigh.js';
export * from './image/fid.js';
export * from './image/kid.js';
export * from './image/inception-score.js';
export * from './image/prdc.js';
export * from './image/swd.js';
export * from './image/psnr-ssim.js';
export * from './tabular/classification.js';
export * from './tabular/regression.js';
export * from './tabular/calibration.js';
export * from './lm/perplexity.js';
export * from './io/npy.js';
export * from './extractors/feature-extractor.js';
export * from './extractors/mnist-net.js';
export * from './extractors/mnist.js';
export * from './extractors/inception-v3.js';
export * from './extractors/inception.js';
export * from './distributions/divergences.js';
export * from './text/diversity.js';
export * from './human/agreement.js';
export * from './human/pairwise.js';
export * from './efficiency.js';
export * from './image/swd-pyramid.js';
export * from './human/rating-tasks.js';
