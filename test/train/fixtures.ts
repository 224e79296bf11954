/** Synthetic data for training tests: a fake Fashion-MNIST in IDX files, and a fake emoji set. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ImageSet } from '../../src/data/image-set.js';
import { FMNIST_SUBDIR } from '../../src/data/paths.js';
import { Rng } from '../../src/util/rng.js';

export function idxBytes(shape: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

/** Writes `<root>/fashion-mnist/*.gz` with class-dependent blobs, so a model can learn them. */
export function writeFakeFashionMnist(root: string, nTrain: number, nTest: number, seed = 0): void {
  const dir = join(root, FMNIST_SUBDIR);
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  for (const [prefix, n] of [
    ['train', nTrain],
    ['t10k', nTest],
  ] as const) {
    const px = new Uint8Array(n * 28 * 28);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(10);
      labels[i] = c;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const on = Math.floor(y / 7) * 4 + Math.floor(x / 7) === c; // a bright block per class
          px[i * 784 + y * 28 + x] = on ? 200 + rng.int(55) : rng.int(40);
        }
      }
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxBytes([n, 28, 28], px)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idxBytes([n], labels)));
  }
}

/** `ids` identities x 3 vendors of random 8x8 RGB images, emoji-style labels and groups. */
export function fakeEmoji(ids: number, seed = 0): ImageSet {
  const rng = new Rng(seed);
  const n = ids * 3;
  return {
    name: 'emoji',
    size: 8,
    channels: 3,
    pixels: Uint8Array.from({ length: n * 8 * 8 * 3 }, () => rng.int(256)),
    labels: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 3)),
    classes: Array.from({ length: ids }, (_, i) => `e${i}`),
    groups: Int32Array.from({ length: n }, (_, i) => i % 3),
    groupNames: ['twitter', 'google', 'openmoji'],
  };
}
