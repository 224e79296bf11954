/**
 * `matsearch demo`: builds the `tiny` encoder with random weights, embeds synthetic images at every
 * nested width and shows speed and agreement with the full width. Stands in for `npm start` until
 * the search engine exists.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from './main.js';
import { initBackend } from '../model/backend.js';
import { presetConfig } from '../model/config.js';
import { modelCost } from '../model/cost.js';
import { STANDARD_WIDTHS } from '../model/nesting.js';
import { MatMambaVision } from '../model/vision.js';

export const demoCommand: Command = {
  summary: 'embed synthetic images with the tiny encoder at every nested width',
  usage: '[--batch N]',
  options: { batch: { type: 'string', short: 'b' } },
  async run(values) {
    const backend = await initBackend({ purpose: 'inference' });
    const cfg = presetConfig('tiny');
    const batch = Number(values['batch'] ?? 16);
    console.log(
      `tfjs backend: ${backend}; model: tiny (random weights), ${batch} synthetic images`,
    );
    const model = MatMambaVision.create(cfg, 0);
    const images = tf.randomUniform(
      [batch, cfg.imageSize, cfg.imageSize, cfg.inChans],
      -1,
      1,
      'float32',
      7,
    ) as tf.Tensor4D;
    const full = l2(model.encode(images, 1));
    console.log('width  params    MACs/img   ms/img  mean cos to full');
    for (const w of STANDARD_WIDTHS) {
      model.encode(images, w).dispose(); // warm-up
      const t0 = performance.now();
      const f = l2(model.encode(images, w));
      const cos = tf.tidy(() => tf.mean(tf.sum(tf.mul(f, full), 1)).dataSync()[0]!);
      const ms = (performance.now() - t0) / batch;
      const { params, macs } = modelCost(cfg, w);
      console.log(
        `${w.padEnd(5)}  ${(params / 1e6).toFixed(2)} M  ${(macs / 1e6).toFixed(1).padStart(6)} M  ${ms.toFixed(2).padStart(6)}  ${cos.toFixed(4)}`,
      );
      f.dispose();
    }
    console.log('(random weights: the widths agree only after joint training; see docs/models)');
    tf.dispose([images, full]);
    model.dispose();
  },
};

function l2(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D);
}
