/**
 * A model with a learned whitening (config `whiten`): the ONNX embedding and the tfjs embedding
 * both equal unit(W · unit(features) + b), computed here in float64 from the tfjs features, at full
 * and narrow widths; the weights survive a save and load.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { modelCost } from '../../src/model/cost.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { loadModel, saveModel } from '../../src/model/weights.js';
import { exportMatMamba } from '../../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import {
  imagesTensor,
  maxAbsDiff,
  randomImages,
  randomWeights,
  setup,
  smallConfig,
} from '../helpers.js';

before(setup);

const cfg = smallConfig({ whiten: true, nClasses: 0 });
const D = cfg.dModel;

/** unit(W unit(f) + b) per row, in float64. */
function whitenedRef(features: Float32Array, w: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(features.length);
  for (let r = 0; r < features.length / D; r++) {
    const f = features.subarray(r * D, (r + 1) * D);
    const fn = Math.hypot(...f);
    const y = new Float64Array(D);
    for (let o = 0; o < D; o++) {
      let acc = b[o]!;
      for (let k = 0; k < D; k++) acc += (w[o * D + k]! * f[k]!) / fn;
      y[o] = acc;
    }
    const n = Math.hypot(...y);
    for (let o = 0; o < D; o++) out[r * D + o] = y[o]! / n;
  }
  return out;
}

test('ONNX and tfjs embeddings are the whitened, normalised features at every width', async () => {
  const weights = randomWeights(cfg, 41);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const images = randomImages(cfg, 3, 7);
  for (const widths of ['1', '1/4', '1/8x2,1']) {
    const features = tf.tidy(() =>
      model.encode(imagesTensor(cfg, images), widths).dataSync().slice(),
    ) as Float32Array;
    const ref = whitenedRef(features, weights.get('whiten.weight')!, weights.get('whiten.bias')!);
    const ex = exportMatMamba(model, { widths });
    const session = await createSession(ex.bytes, 'cpu');
    const out = await runImages(session, images, 3, ex, 8);
    await session.release();
    assert.ok(maxAbsDiff(out.features, features) < 1e-4, `features at ${widths}`);
    assert.ok(maxAbsDiff(out.embeddings, ref) < 1e-4, `ONNX embedding at ${widths}`);
    const tfjs = tf.tidy(() => {
      const e = model.embed(imagesTensor(cfg, images), widths);
      return tf
        .div(e, tf.norm(e, 2, 1, true))
        .dataSync()
        .slice();
    }) as Float32Array;
    assert.ok(maxAbsDiff(tfjs, ref) < 1e-4, `tfjs embedding at ${widths}`);
    // The whitening is not a no-op here: the plain normalised features are far from it.
    const plain = features.map(
      (v, i) => v / Math.hypot(...features.subarray(i - (i % D), i - (i % D) + D)),
    );
    assert.ok(maxAbsDiff(plain, ref) > 0.05);
  }
  model.dispose();
});

test('a whitened model saves and loads with its whitening, and costs D² more MACs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whiten-'));
  try {
    const weights = randomWeights(cfg, 42);
    const model = MatMambaVision.fromArrays(cfg, weights);
    saveModel(model, dir, { name: 'w' });
    model.dispose();
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      model: { whiten?: boolean };
    };
    assert.equal(json.model.whiten, true);
    const loaded = loadModel(dir);
    assert.equal(loaded.model.config.whiten, true);
    const back = loaded.model.toArrays();
    assert.deepEqual(back.get('whiten.weight'), weights.get('whiten.weight'));
    assert.deepEqual(back.get('whiten.bias'), weights.get('whiten.bias'));
    loaded.model.dispose();
    const plain = smallConfig({ nClasses: 0 });
    assert.equal(modelCost(cfg).macs - modelCost(plain).macs, D * D);
    assert.equal(modelCost(cfg).params - modelCost(plain).params, D * D + D);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
