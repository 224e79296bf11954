/**
 * MatMamba-Vision against independent oracles: the float64 recurrence reference for the full and
 * Mix'n'Match models, and a freshly built smaller model for every nested width.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { makeConfig, type MatMambaVisionConfig } from '../../src/model/config.js';
import { resolveWidths } from '../../src/model/nesting.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { refForward, sliceForWidths } from '../reference/matmamba-ref.js';
import {
  imagesTensor,
  maxAbsDiff,
  randomImages,
  randomWeights,
  relErr,
  setup,
  smallConfig,
} from '../helpers.js';

before(setup);

function features(
  model: MatMambaVision,
  images: Float32Array,
  widths: Parameters<MatMambaVision['forward']>[1],
) {
  return tf.tidy(() => {
    const { features, logits } = model.forward(imagesTensor(model.config, images), widths);
    return [features.dataSync().slice(), logits!.dataSync().slice()] as const;
  });
}

function reference(
  cfg: MatMambaVisionConfig,
  weights: Map<string, Float32Array>,
  images: Float32Array,
) {
  const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
  const feats: number[] = [];
  const logits: number[] = [];
  for (let b = 0; b < images.length / per; b++) {
    const r = refForward(cfg, weights, images.subarray(b * per, (b + 1) * per));
    feats.push(...r.features);
    logits.push(...r.logits!);
  }
  return [feats, logits] as const;
}

for (const chunkSize of [4, 256]) {
  test(`full width equals the plain Mamba2 recurrence reference (chunk ${chunkSize})`, () => {
    const cfg = smallConfig({ chunkSize });
    const weights = randomWeights(cfg, 11);
    const model = MatMambaVision.fromArrays(cfg, weights);
    const images = randomImages(cfg, 3, 5);
    const [f, l] = features(model, images, 1);
    const [rf, rl] = reference(cfg, weights, images);
    assert.ok(relErr(f, rf) < 1e-4, `features rel err ${relErr(f, rf)}`);
    assert.ok(relErr(l, rl) < 1e-4, `logits rel err ${relErr(l, rl)}`);
    model.dispose();
  });
}

test('every nested width equals a freshly built model of that inner width with sliced weights', () => {
  const cfg = smallConfig();
  const weights = randomWeights(cfg, 12);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const images = randomImages(cfg, 4, 6);
  for (const w of ['1/2', '1/4', '1/8', '3/8', '3/4']) {
    const d = resolveWidths(cfg, w)[0]!;
    // A model whose *full* width is d: expand scaled so its inner width is expand·d.
    const smallCfg = makeConfig({ ...cfg, expand: (cfg.expand * d) / cfg.dModel });
    const small = MatMambaVision.fromArrays(
      smallCfg,
      sliceForWidths(cfg, weights, Array(cfg.nLayer).fill(d)),
    );
    const [fn, ln] = features(model, images, w);
    const [fs, ls] = features(small, images, 1);
    assert.ok(maxAbsDiff(fn, fs) <= 1e-5, `width ${w}: features differ by ${maxAbsDiff(fn, fs)}`);
    assert.ok(maxAbsDiff(ln, ls) <= 1e-5, `width ${w}: logits differ by ${maxAbsDiff(ln, ls)}`);
    // and narrower really is a different model
    const [ff] = features(model, images, 1);
    assert.ok(maxAbsDiff(fn, ff) > 1e-3, `width ${w} gave the full-width features`);
    small.dispose();
  }
  model.dispose();
});

test("Mix'n'Match per-layer widths equal the reference with per-layer sliced weights", () => {
  const cfg = smallConfig();
  const weights = randomWeights(cfg, 13);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const images = randomImages(cfg, 2, 7);
  for (const spec of [['1/8', '1', '1/2'], '1/4x2,1', ['1/2', '3/8', '1/8']] as const) {
    const layerDims = resolveWidths(cfg, spec);
    const [f, l] = features(model, images, spec);
    const [rf, rl] = reference(cfg, sliceForWidths(cfg, weights, layerDims), images);
    assert.ok(relErr(f, rf) < 1e-4, `${String(spec)}: features rel err ${relErr(f, rf)}`);
    assert.ok(relErr(l, rl) < 1e-4, `${String(spec)}: logits rel err ${relErr(l, rl)}`);
  }
  model.dispose();
});

test('all widths emit d_model-wide features', () => {
  const cfg = smallConfig();
  const model = MatMambaVision.create(cfg, 1);
  const x = imagesTensor(cfg, randomImages(cfg, 2, 1));
  for (const w of ['1', '1/2', '1/4', '1/8']) {
    const f = model.encode(x, w);
    assert.deepEqual(f.shape, [2, cfg.dModel]);
    f.dispose();
  }
  x.dispose();
  model.dispose();
});

test('forward frees its intermediates and checks the image shape', () => {
  const cfg = smallConfig();
  const model = MatMambaVision.create(cfg, 1);
  const x = imagesTensor(cfg, randomImages(cfg, 2, 1));
  model.encode(x, '1/2').dispose();
  const n0 = tf.memory().numTensors;
  model.encode(x, '1/2').dispose();
  model.forward(x, ['1', '1/4', '1/8']).features.dispose();
  assert.ok(tf.memory().numTensors <= n0 + 1, 'tensors leaked'); // +1: logits of the second call
  const wrong = tf.zeros([1, cfg.imageSize + 4, cfg.imageSize, cfg.inChans]) as tf.Tensor4D;
  assert.throws(() => model.forward(wrong), {
    code: 'E_SHAPE',
    message: /images must be \[B, 12, 12, 3\]/,
  });
  wrong.dispose();
  x.dispose();
  model.dispose();
  assert.throws(() => model.encode(x), { code: 'E_NOT_OPEN' });
});

test("pool 'avg' (the official option) equals the reference's mean of the normed patch tokens", () => {
  const cfg = smallConfig({ pool: 'avg' });
  const weights = randomWeights(cfg, 23);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const images = randomImages(cfg, 2, 9);
  for (const width of [1, 0.5]) {
    const [f, l] = features(model, images, width);
    const w = sliceForWidths(cfg, weights, resolveWidths(cfg, width));
    const [rf, rl] = reference(cfg, w, images);
    assert.ok(relErr(f, rf) < 1e-4, `features rel err ${relErr(f, rf)} at width ${width}`);
    assert.ok(relErr(l, rl) < 1e-4, `logits rel err ${relErr(l, rl)} at width ${width}`);
    // ... and is not the CLS token's features.
    const cls = reference({ ...cfg, pool: 'cls' }, w, images)[0];
    assert.ok(relErr(f, cls) > 1e-2, 'avg differs from cls');
  }
  model.dispose();
});
