/**
 * The optional `logits` output of the ONNX export against the float64 reference forward
 * (test/reference): the classifier head applied to the features of a nested width, as the
 * official code does. An embedding-only export has no head, and the export cache keeps the two
 * apart.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveWidths } from '../../src/model/nesting.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { saveModel } from '../../src/model/weights.js';
import { Encoder } from '../../src/runtime/encoder.js';
import { exportKey } from '../../src/runtime/export-cache.js';
import { exportMatMamba, ONNX_LOGITS } from '../../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { refForward, sliceForWidths } from '../reference/matmamba-ref.js';
import { maxAbsDiff, randomImages, randomWeights, setup, smallConfig } from '../helpers.js';

before(setup);

const cfg = smallConfig({ nClasses: 7 });
const per = cfg.imageSize * cfg.imageSize * cfg.inChans;

/** Reference logits of every image at a width: the sliced weights through the float64 model. */
function refLogits(weights: Map<string, Float32Array>, images: Float32Array, width: string) {
  const sliced = sliceForWidths(cfg, weights, resolveWidths(cfg, width));
  const out: number[] = [];
  for (let b = 0; b < images.length / per; b++)
    out.push(...refForward(cfg, sliced, images.subarray(b * per, (b + 1) * per)).logits!);
  return out;
}

for (const width of ['1', '1/4']) {
  test(`ONNX logits equal the float64 reference at width ${width}`, async () => {
    const weights = randomWeights(cfg, 31);
    const model = MatMambaVision.fromArrays(cfg, weights);
    const images = randomImages(cfg, 3, 9);
    const ex = exportMatMamba(model, { widths: width, logits: true });
    assert.equal(ex.nClasses, 7);
    const s = await createSession(ex.bytes, 'cpu');
    try {
      assert.ok(s.outputNames.includes(ONNX_LOGITS));
      const out = await runImages(s, images, 3, ex, 2);
      const ref = refLogits(weights, images, width);
      const d = maxAbsDiff(out.logits!, ref);
      assert.ok(d <= 1e-4, `width ${width}: logits differ by ${d}`);
    } finally {
      await s.release();
      model.dispose();
    }
  });
}

test('an embedding-only export has no logits output; a model without a head refuses one', async () => {
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 32));
  const ex = exportMatMamba(model, { widths: '1/2' });
  assert.equal(ex.nClasses, 0);
  const s = await createSession(ex.bytes, 'cpu');
  assert.ok(!s.outputNames.includes(ONNX_LOGITS));
  assert.equal((await runImages(s, randomImages(cfg, 1, 1), 1, ex, 1)).logits, undefined);
  await s.release();
  model.dispose();
  const headless = smallConfig({ nClasses: 0 });
  const bare = MatMambaVision.fromArrays(headless, randomWeights(headless, 33));
  assert.throws(() => exportMatMamba(bare, { logits: true }), /no classification head/);
  bare.dispose();
});

test('the export cache key tells an export with logits from one without', () => {
  const parts = {
    weightsSha256: 'ab'.repeat(32),
    widthLabel: '1',
    chunkSize: 'auto' as const,
    imageSize: 12,
    precision: 'fp32',
  };
  assert.notEqual(exportKey({ ...parts, logits: true }), exportKey({ ...parts, logits: false }));
});

test('Encoder.classify returns logits; encode keeps its embedding-only graph', async () => {
  const root = mkdtempSync(join(tmpdir(), 'export-logits-'));
  const weights = randomWeights(cfg, 34);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const dir = join(root, 'model');
  saveModel(model, dir, { name: 'logits-test' });
  model.dispose();
  const enc = await Encoder.load(dir, { exportCache: join(root, 'cache'), log: () => {} });
  try {
    const images = randomImages(cfg, 5, 4);
    const r = await enc.classify(images, '1/4');
    assert.equal(r.nClasses, 7);
    assert.equal(r.logits.length, 5 * 7);
    const d = maxAbsDiff(r.logits, refLogits(weights, images, '1/4'));
    assert.ok(d <= 1e-4, `logits differ by ${d}`);
    const e = await enc.encode(images, '1/4');
    assert.equal((await enc.onnx('1/4')).nClasses, 0, 'the embedding graph carries no head');
    assert.equal(e.embeddings.length, 5 * cfg.dModel);
  } finally {
    await enc.close();
    rmSync(root, { recursive: true, force: true });
  }
});
