/** Fashion-MNIST (Xiao et al. 2017): 28x28 grey, 10 classes, 60k train / 10k test. MIT licence. */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { NotFoundError } from '../errors.js';
import { dataDir, FMNIST_SUBDIR } from './paths.js';
import { readIdx } from './idx.js';
import type { ImageSet } from './image-set.js';

export const FMNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export function loadFashionMnist(split: 'train' | 'test', root = dataDir()): ImageSet {
  const dir = join(root, FMNIST_SUBDIR);
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  if (!existsSync(imgPath))
    throw new NotFoundError(`Fashion-MNIST not found in ${dir}: run 'npm run data' first`);
  const images = readIdx(imgPath);
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  const [n, h, w] = images.shape as [number, number, number];
  if (h !== 28 || w !== 28 || labels.shape[0] !== n)
    throw new NotFoundError(`unexpected Fashion-MNIST shapes in ${dir}`);
  return {
    name: `fmnist-${split}`,
    size: 28,
    channels: 1,
    pixels: images.data,
    labels: Int32Array.from(labels.data),
    classes: FMNIST_CLASSES,
  };
}
