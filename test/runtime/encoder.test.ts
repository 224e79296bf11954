/**
 * The worker-thread Encoder: same numbers as running the exported session directly and as the
 * tfjs forward, an event loop that keeps turning while it encodes, and a strict lifecycle.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { presetConfig } from '../../src/model/config.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { Encoder } from '../../src/runtime/encoder.js';
import { measureLatencyTable } from '../../src/runtime/latency.js';
import { OrtEmbedder } from '../../src/runtime/ort-embedder.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { imagesTensor, maxAbsDiff, randomImages, randomWeights, setup } from '../helpers.js';

before(setup);

const cfg = presetConfig('tiny');

function model() {
  return MatMambaVision.fromArrays(cfg, randomWeights(cfg, 31));
}

test('Encoder results equal the direct session results and the tfjs features', async (t) => {
  const m = model();
  const enc = await Encoder.open(m, { provider: 'auto' });
  assert.equal(enc.provider, 'cpu'); // no CUDA provider library in this install
  t.diagnostic(`provider ${enc.provider}: ${enc.providerNote}`);
  const images = randomImages(cfg, 10, 3);
  const copy = images.slice();
  for (const w of ['1', '1/4', '1/8x3,1/4x3']) {
    const r = await enc.encode(images, w);
    assert.equal(r.batch, 10);
    assert.equal(r.dim, 128);
    assert.equal(r.provider, 'cpu');
    assert.equal(r.width, w);
    // direct: the same bytes on a session in this thread, in one run of 10
    const ex = await enc.onnx(w);
    const session = await createSession(ex.bytes, 'cpu');
    const direct = await runImages(session, images, 10, ex, 10);
    await session.release();
    const d = maxAbsDiff(r.embeddings, direct.embeddings);
    assert.ok(d <= 1e-6, `width ${w}: encoder vs direct ${d}`);
    // tfjs features, normalised
    const ref = tf.tidy(() => {
      const f = m.encode(imagesTensor(cfg, images), w);
      return tf
        .div(f, tf.norm(f, 2, 1, true))
        .dataSync()
        .slice();
    });
    const dt = maxAbsDiff(r.embeddings, ref);
    assert.ok(dt <= 1e-4, `width ${w}: encoder vs tfjs ${dt}`);
    t.diagnostic(`width ${w}: vs direct ${d.toExponential(2)}, vs tfjs ${dt.toExponential(2)}`);
    for (let b = 0; b < 10; b++) {
      const row = r.embeddings.subarray(b * 128, (b + 1) * 128);
      assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5, 'unit length');
    }
  }
  assert.deepEqual(images, copy, 'the caller’s images are untouched');
  assert.equal(await enc.onnx('1/4'), await enc.onnx(['1/4']), 'one export per width, cached');
  await enc.close();
  m.dispose();
});

test('the event loop keeps turning while the encoder works', async (t) => {
  const m = model();
  const enc = await Encoder.open(m);
  const images = randomImages(cfg, 96, 4);
  await enc.encode(images.subarray(0, 4 * 32 * 32 * 3), '1'); // export + session load
  let ticks = 0;
  let maxGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 2);
  const t0 = performance.now();
  const runs = await Promise.all([enc.encode(images, '1'), enc.encode(images, '1')]);
  const took = performance.now() - t0;
  clearInterval(timer);
  t.diagnostic(`encode ${took.toFixed(0)} ms, ${ticks} ticks, longest gap ${maxGap.toFixed(1)} ms`);
  assert.deepEqual(runs[0].embeddings, runs[1].embeddings);
  // A blocked loop would show one gap as long as the whole encode.
  assert.ok(took > 50, `encode took only ${took} ms; the check needs a longer run`);
  assert.ok(maxGap < Math.max(40, took / 3), `timer gap ${maxGap} ms during a ${took} ms encode`);
  assert.ok(ticks >= took / 20, `${ticks} ticks in ${took} ms`);
  await enc.close();
  m.dispose();
});

test('one-image encodes reuse the buffers workers hand back, and stay exact', async () => {
  const m = model();
  const enc = await Encoder.open(m, { provider: 'cpu' });
  try {
    const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
    const images = randomImages(cfg, 3, 8);
    const one = (i: number) => images.slice(i * per, (i + 1) * per);
    // The reference: all three in one batch (a buffer of another size, never recycled here).
    const batch = (await enc.encode(images, '1/2')).embeddings;
    // Each image alone, twice over, in two at a time: later runs fill buffers handed back.
    for (let round = 0; round < 2; round++)
      for (const pair of [
        [0, 1],
        [2, 0],
        [1, 2],
      ]) {
        const inputs = pair.map(one);
        const got = await Promise.all(inputs.map((x) => enc.encode(x, '1/2')));
        pair.forEach((i, k) => {
          const want = batch.subarray(i * cfg.dModel, (i + 1) * cfg.dModel);
          assert.ok(maxAbsDiff(got[k]!.embeddings, want) < 1e-5, `image ${i}, round ${round}`);
          assert.deepEqual(inputs[k], one(i), "the caller's input is left as it was");
        });
      }
  } finally {
    await enc.close();
  }
});

test('close is idempotent, and use after close throws NotOpenError', async () => {
  const m = model();
  const enc = await Encoder.open(m, { provider: 'cpu' });
  assert.equal(enc.providerNote, 'CPU requested');
  const pending = enc.encode(randomImages(cfg, 2, 5), '1/2');
  await enc.close(); // waits for the batch already running
  assert.equal((await pending).batch, 2);
  await enc.close();
  await assert.rejects(enc.encode(randomImages(cfg, 1, 5)), { code: 'E_NOT_OPEN' });
  await assert.rejects(enc.onnx('1'), { code: 'E_NOT_OPEN' });
  m.dispose();
});

test('bad inputs are refused with typed errors', async () => {
  const m = model();
  const enc = await Encoder.open(m);
  await assert.rejects(enc.encode(new Float32Array(7)), { code: 'E_SHAPE' });
  await assert.rejects(enc.encode(new Float32Array(0)), { code: 'E_SHAPE' });
  await assert.rejects(enc.encode(randomImages(cfg, 1, 6), '1/3'), { code: 'E_VALIDATION' });
  await assert.rejects(Encoder.open(m, { microBatch: 0 }), { code: 'E_VALIDATION' });
  await assert.rejects(Encoder.open(m, { provider: 'cuda' }), { code: 'E_BACKEND' });
  await enc.close();
  m.dispose();
});

test('OrtEmbedder serves the Embedder interface from the encoder', async () => {
  const m = model();
  const emb = await OrtEmbedder.open(m, 'test@0');
  const images = randomImages(cfg, 3, 8);
  const per = 32 * 32 * 3;
  const rows = await emb.embed(
    [0, 1, 2].map((i) => images.slice(i * per, (i + 1) * per)),
    '1/2',
  );
  const enc = await Encoder.open(m);
  const whole = await enc.encode(images, '1/2');
  rows.forEach((r, i) => assert.deepEqual(r, whole.embeddings.slice(i * 128, (i + 1) * 128)));
  assert.equal(emb.widthLabel('1/8x6'), '1/8');
  assert.equal(emb.widthRank('1/2'), 0.5);
  assert.deepEqual(await emb.embed([], '1'), []);
  await assert.rejects(emb.embed([new Float32Array(3)], '1'), { code: 'E_SHAPE' });
  await enc.close();
  await emb.close();
  m.dispose();
});

test('measureLatencyTable times every standard width through the encoder', async () => {
  const m = model();
  const enc = await Encoder.open(m);
  const table = await measureLatencyTable(enc, { imageSize: 32, inChans: 3, batch: 2, reps: 1 });
  assert.deepEqual(Object.keys(table).sort(), ['1', '1/2', '1/4', '1/8']);
  for (const v of Object.values(table)) assert.ok(v > 0 && Number.isFinite(v));
  await assert.rejects(measureLatencyTable(enc, { imageSize: 32, inChans: 3, reps: 0 }), {
    code: 'E_VALIDATION',
  });
  await enc.close();
  m.dispose();
});
