import { ShapeError, tf, type Tensor } from '@nutshell/core';
import { Conv2d, Linear, MaxPool2d, Module, relu, type Seed } from '@nutshell/nn';

/** Per-pixel normalization of MNIST in [0, 1] (the usual torchvision constants). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Width of the penultimate (feature) layer. */
export const MNIST_FEATURE_DIM = 128;

/**
 * The MNIST feature / classifier network whose trained weights ship in `weights/`: three
 * [conv3×3 (padding 1) → ReLU → maxpool 2] stages (16, 32, 64 channels; 28 → 14 → 7 → 3), flatten
 * (576, NHWC order), fc1 576 → 128 → ReLU (the features), fc2 128 → 10 (class logits). 98 442
 * parameters, PyTorch layouts and names (`conv1.weight` is [16, 1, 3, 3], `fc1.weight` is [128, 576]).
 * Input: normalized images [N, 28, 28, 1] (NHWC); `MnistFeatureExtractor` does the normalization.
 */
export class MnistFeatureNet extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly pool = new MaxPool2d(2);

  constructor(options: { seed?: Seed } = {}) {
    super();
    const seed = options.seed ?? 0;
    this.conv1 = this.registerModule('conv1', new Conv2d(1, 16, 3, { padding: 1, seed: `${seed}/conv1` }));
    this.conv2 = this.registerModule('conv2', new Conv2d(16, 32, 3, { padding: 1, seed: `${seed}/conv2` }));
    this.conv3 = this.registerModule('conv3', new Conv2d(32, 64, 3, { padding: 1, seed: `${seed}/conv3` }));
    this.fc1 = this.registerModule('fc1', new Linear(576, MNIST_FEATURE_DIM, { seed: `${seed}/fc1` }));
    this.fc2 = this.registerModule('fc2', new Linear(MNIST_FEATURE_DIM, 10, { seed: `${seed}/fc2` }));
  }

  /** Penultimate-layer activations [N, 128] (after ReLU). */
  features(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 28 || x.shape[2] !== 28 || x.shape[3] !== 1) {
      throw new ShapeError(`MnistFeatureNet: expected normalized images [N, 28, 28, 1], got shape [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      let h = this.pool.forward(relu(this.conv1.forward(x)));
      h = this.pool.forward(relu(this.conv2.forward(h)));
      h = this.pool.forward(relu(this.conv3.forward(h)));
      return relu(this.fc1.forward(tf.reshape(h, [x.shape[0]!, 576])));
    });
  }

  /** Class logits [N, 10]. */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.fc2.forward(this.features(x)));
  }
}
