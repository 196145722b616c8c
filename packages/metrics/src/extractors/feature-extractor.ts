import type { Matrix } from '../linalg/matrix.js';

/**
 * A feature extractor turns images into rows of features (for FID, KID, precision/recall, …) and,
 * when it is a classifier, into class probabilities (for the Inception Score). Results are float64
 * matrices the caller owns; inputs are read, never disposed.
 */
export interface FeatureExtractor<Images = unknown> {
  readonly name: string;
  /** Feature width (e.g. 128 for the MNIST network, 2048 for InceptionV3 pool3). */
  readonly dim: number;
  /** How inputs are resized and normalized — FIDs are comparable only under the same pipeline. */
  readonly preprocessing: string;
  features(images: Images): Matrix;
  /** Softmax class probabilities [N, classes], when the network has a classifier head. */
  probabilities?(images: Images): Matrix;
  /** Frees the network's weights. */
  dispose(): void;
}
