/**
 * A model with a learned whitening (config `whiten`): the ONNX embedding and the tfjs embedding
 * both equal unit64(W · unit64(A · unit64(features)) + b), A the width's adapter where it has one, computed here in float64 from the tfjs features, at full
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
  matvec64,
  maxAbsDiff,
  randomImages,
  randomWeights,
  setup,
  smallConfig,
  unit64,
} from '../helpers.js';

before(setup);

const cfg = smallConfig({ whiten: true, adapters: ['1/4'], nClasses: 0 });
const D = cfg.dModel;

/** unit64(W unit64(A unit64(f)) + b) per row, in float64 (A only where given). */
function whitenedRef(
  features: Float32Array,
  w: Float32Array,
  b: Float32Array,
  adapter: Float32Array | null,
): Float32Array {
  const out = new Float32Array(features.length);
  for (let r = 0; r < features.length / D; r++) {
    let u = unit64(Float64Array.from(features.subarray(r * D, (r + 1) * D)));
    if (adapter) u = unit64(matvec64(adapter, u));
    out.set(unit64(matvec64(w, u, b)), r * D);
  }
  return out;
}

test('ONNX and tfjs embeddings are the adapted, whitened, normalised features at every width', async () => {
  const weights = randomWeights(cfg, 41);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const images = randomImages(cfg, 3, 7);
  for (const widths of ['1', '1/4', '1/8x2,1']) {
    const features = tf.tidy(() =>
      model.encode(imagesTensor(cfg, images), widths).dataSync().slice(),
    ) as Float32Array;
    // Only the uniform width 1/4 has an adapter; width 1 and a Mix'n'Match list use none.
    const ref = whitenedRef(
      features,
      weights.get('whiten.weight')!,
      weights.get('whiten.bias')!,
      widths === '1/4' ? weights.get('adapters.1_4.weight')! : null,
    );
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

test('a whitened model saves and loads with its whitening and adapters, and costs D² more MACs', () => {
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
    assert.deepEqual(back.get('adapters.1_4.weight'), weights.get('adapters.1_4.weight'));
    assert.deepEqual(loaded.model.config.adapters, ['1/4']);
    loaded.model.dispose();
    const plain = smallConfig({ nClasses: 0 });
    assert.equal(modelCost(cfg).macs - modelCost(plain).macs, D * D);
    assert.equal(modelCost(cfg).params - modelCost(plain).params, D * D + D);
    // The adapted width runs one more D x D map.
    assert.equal(modelCost(cfg, '1/4').macs - modelCost(plain, '1/4').macs, 2 * D * D);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
