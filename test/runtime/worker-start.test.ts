/**
 * An encoder starts another worker thread only when a batch's measured time on the running one
 * exceeds what a start costs: a tiny model's batches of 32 stay on one worker, and its numbers
 * are the same as a fresh single-session oracle's.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/model/config.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { Encoder } from '../../src/runtime/encoder.js';
import { exportMatMamba } from '../../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { maxAbsDiff, randomImages, randomWeights, setup } from '../helpers.js';

process.env['MATSEARCH_WORKERS'] = '2'; // before the pool is made: room for a second worker

before(setup);

const cfg = presetConfig('tiny');

test('batches of a tiny model never start a second worker', async () => {
  const m = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 21));
  const enc = await Encoder.open(m);
  try {
    assert.equal(enc.workers, 2);
    const images = randomImages(cfg, 32, 4);
    let last: Float32Array | undefined;
    for (let i = 0; i < 4; i++) last = (await enc.encode(images, 1)).embeddings;
    assert.deepEqual((await enc.cacheStats()).workerSessions, [1, 0]);

    const ex = exportMatMamba(m, { widths: '1' });
    const s = await createSession(ex.bytes, 'cpu');
    try {
      const want = (await runImages(s, images, 32, ex, 4)).embeddings;
      assert.ok(maxAbsDiff(last!, want) < 1e-5);
    } finally {
      await s.release();
    }
  } finally {
    await enc.close();
    m.dispose();
  }
});
