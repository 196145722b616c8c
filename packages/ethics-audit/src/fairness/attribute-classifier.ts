import { InvalidArgumentError, Rng, ShapeError, describe, tf, type Tensor } from '@nutshell/core';
import { Adam, MLP, crossEntropy, type Module } from '@nutshell/nn';
import { representationAudit, type RepresentationOptions, type RepresentationReport } from './representation.js';

/**
 * Attribute classifiers for representation audits: anything that labels samples with a class index
 * (a plugin, a model of your own) implements AttributeClassifier; `trainAttributeClassifier` trains a
 * small MLP on labelled reference data (e.g. MNIST digit class as the attribute of generated digits).
 */
export interface AttributeClassifier {
  readonly classes: readonly string[];
  /** Class index per sample (first axis of x). The caller keeps ownership of x. */
  predict(x: Tensor): number[] | Promise<number[]>;
}

export interface TrainAttributeOptions {
  classes: readonly string[];
  /** Hidden layer sizes (default [64]). */
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
}

class MlpAttributeClassifier implements AttributeClassifier {
  constructor(readonly classes: readonly string[], readonly model: Module, private readonly inFeatures: number) {}

  predict(x: Tensor): number[] {
    const n = x.shape[0]!;
    if (x.size / Math.max(1, n) !== this.inFeatures) throw new ShapeError(`AttributeClassifier.predict: expected ${this.inFeatures} features per sample, got shape [${x.shape.join(', ')}]`);
    const out: number[] = [];
    for (let s = 0; s < n; s += 1024) {
      const e = Math.min(n, s + 1024);
      const pred = tf.tidy(() => tf.argMax(this.model.forward(tf.reshape(tf.slice(x, s, e - s), [e - s, this.inFeatures])), 1));
      out.push(...(pred.dataSync() as Int32Array));
      pred.dispose();
    }
    return out;
  }

  dispose(): void {
    for (const p of this.model.parameters()) p.dispose();
  }
}

/** Trains an MLP attribute classifier with Adam on (x [N, …], labels); returns it with its training accuracy. */
export function trainAttributeClassifier(x: Tensor, labels: ArrayLike<number>, options: TrainAttributeOptions): AttributeClassifier & { trainAccuracy: number; dispose(): void } {
  const classes = options?.classes;
  if (!Array.isArray(classes) || classes.length < 2) throw new InvalidArgumentError(`trainAttributeClassifier: classes must list at least two names, got ${describe(classes)}`);
  const n = x?.shape?.[0];
  if (!n || !labels || labels.length !== n) throw new ShapeError(`trainAttributeClassifier: ${describe(labels?.length)} labels for ${describe(n)} samples`);
  for (let i = 0; i < n; i++) if (!Number.isInteger(labels[i]) || labels[i]! < 0 || labels[i]! >= classes.length) throw new InvalidArgumentError(`trainAttributeClassifier: label ${i} is ${describe(labels[i])}, expected 0…${classes.length - 1}`);
  const D = x.size / n, epochs = options.epochs ?? 20, bs = options.batchSize ?? 64;
  const model = new MLP({ sizes: [D, ...(options.hidden ?? [64]), classes.length], seed: options.seed ?? 0 });
  const opt = new Adam(model, { lr: options.lr ?? 1e-2 });
  const rng = new Rng(options.seed ?? 0);
  const X = tf.reshape(x, [n, D]);
  const Y = tf.tensor1d(Array.from(labels), 'int32');
  for (let e = 0; e < epochs; e++) {
    const perm = rng.permutation(n);
    for (let s = 0; s < n; s += bs) {
      const idx = tf.tensor1d(perm.slice(s, s + bs), 'int32');
      const xb = tf.gather(X, idx), yb = tf.gather(Y, idx);
      opt.minimize(() => crossEntropy(model.forward(xb), yb));
      tf.dispose([idx, xb, yb]);
    }
  }
  opt.dispose();
  const clf = new MlpAttributeClassifier(classes, model, D);
  const pred = clf.predict(X);
  tf.dispose([X, Y]);
  const trainAccuracy = pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / n;
  return Object.assign(clf, { trainAccuracy });
}

/** Labels the samples with the classifier and audits the label distribution (see representationAudit). */
export async function auditRepresentation(classifier: AttributeClassifier, samples: Tensor, options: Omit<RepresentationOptions, 'classes'> & { classes?: readonly string[] } = {}): Promise<RepresentationReport & { labels: number[] }> {
  if (!classifier || typeof classifier.predict !== 'function' || !Array.isArray(classifier.classes)) throw new InvalidArgumentError(`auditRepresentation: expected an AttributeClassifier { classes, predict }, got ${describe(classifier)}`);
  const labels = await classifier.predict(samples);
  return { ...representationAudit(labels, { ...options, classes: options.classes ?? classifier.classes }), labels };
}
