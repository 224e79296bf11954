/**
 * The int8 encoder against fp32: per-column weight scales (a column 10^4 times smaller than
 * another keeps its values), and the embeddings of a fixed set of images at several widths stay
 * within a cosine of the fp32 graph's (the oracle), per image and whatever the batch.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { MatMambaVision } from '../../src/model/vision.js';
import { exportMatMamba } from '../../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { quantizePerColumn } from '../../src/runtime/quantize.js';
import { Rng } from '../../src/util/rng.js';
import { maxAbsDiff, randomImages, randomWeights, setup, smallConfig } from '../helpers.js';

before(setup);

test('per-column scales: every column, large or tiny, is kept to half a step', () => {
  const K = 32;
  const N = 6;
  const rng = new Rng(3);
  const W = new Float32Array(K * N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) W[k * N + n] = (rng.uniform() * 2 - 1) * 10 ** (n - 3); // 1e-3 .. 1e2
  const { q, scale } = quantizePerColumn(W, K, N);
  for (let n = 0; n < N; n++) {
    let max = 0;
    let err = 0;
    for (let k = 0; k < K; k++) {
      max = Math.max(max, Math.abs(W[k * N + n]!));
      err = Math.max(err, Math.abs(q[k * N + n]! * scale[n]! - W[k * N + n]!));
    }
    assert.ok(Math.abs(scale[n]! - max / 127) <= 1e-6 * max, `column ${n} scale`);
    // Half a step of its own scale: one scale for the whole matrix would round this column to 0.
    assert.ok(err <= (0.5 + 1e-3) * scale[n]!, `column ${n}: error ${err}, step ${scale[n]}`);
  }
});

/** Embeddings [B, D] of images through a fresh export at a precision. */
async function embed(
  m: MatMambaVision,
  images: Float32Array,
  batch: number,
  widths: string,
  int8: boolean,
) {
  const ex = exportMatMamba(m, { widths, precision: int8 ? 'int8' : 'fp32' });
  const s = await createSession(ex.bytes, 'cpu');
  try {
    return (await runImages(s, images, batch, ex, 4)).embeddings;
  } finally {
    await s.release();
  }
}

test('int8 embeddings stay close to fp32 on a fixed set, independent of the batch', async () => {
  const cfg = smallConfig({ nClasses: 0 });
  const m = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 21));
  const B = 12;
  const images = randomImages(cfg, B, 5);
  const D = cfg.dModel;
  try {
    for (const widths of ['1', '1/2', '1/4']) {
      const fp = await embed(m, images, B, widths, false);
      const q8 = await embed(m, images, B, widths, true);
      const cos: number[] = [];
      for (let b = 0; b < B; b++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += fp[b * D + d]! * q8[b * D + d]!; // both unit vectors
        cos.push(dot);
      }
      const mean = cos.reduce((a, c) => a + c, 0) / B;
      const min = Math.min(...cos);
      console.log(
        `int8 vs fp32 at width ${widths}: mean cosine ${mean.toFixed(5)}, min ${min.toFixed(5)}`,
      );
      assert.ok(mean > 0.999, `width ${widths}: mean cosine ${mean}`);
      assert.ok(min > 0.998, `width ${widths}: min cosine ${min}`);
      assert.ok(
        maxAbsDiff(fp, q8) > 0,
        'the int8 graph computed exactly fp32: nothing was quantized',
      );
      // Per-row activation scales: an image alone gives what it gave inside the batch.
      const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
      const alone = await embed(m, images.slice(3 * per, 4 * per), 1, widths, true);
      assert.ok(maxAbsDiff(alone, q8.subarray(3 * D, 4 * D)) < 1e-6, 'batch-dependent int8');
    }
  } finally {
    m.dispose();
  }
});
