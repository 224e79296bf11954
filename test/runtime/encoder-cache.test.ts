/**
 * The Encoder's cache of exported widths (and the workers' sessions for them) is bounded by a
 * byte budget: distinct Mix'n'Match specs, each a model of its own, must not pile up for ever.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/model/config.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { Encoder } from '../../src/runtime/encoder.js';
import { maxAbsDiff, randomImages, randomWeights, setup } from '../helpers.js';

before(setup);

const cfg = presetConfig('tiny');
const FRACTIONS = ['1/8', '1/4', '3/8', '1/2', '5/8', '3/4', '7/8', '1'];

/** The i-th distinct 6-layer spec (digits of i in base 8, one fraction a layer). */
function spec(i: number): string {
  const layers: string[] = [];
  for (let l = 0; l < cfg.nLayer; l++, i = Math.floor(i / 8)) layers.push(FRACTIONS[i % 8]!);
  return layers.join(',');
}

test('distinct per-layer widths are evicted least recently used, within the byte budget', async () => {
  const m = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 5));
  const probe = await Encoder.open(m);
  const one = (await probe.onnx(spec(9))).bytes.length;
  await probe.close();
  const budget = 3 * one; // about three exported models
  const enc = await Encoder.open(m, { cacheBytes: budget });
  try {
    const images = randomImages(cfg, 2, 1);
    const first = await enc.onnx(spec(9));
    const firstRun = await enc.encode(images, spec(9));
    let maxBytes = 0;
    let maxSessions = 0;
    for (let i = 10; i < 30; i++) {
      await enc.encode(images, spec(i));
      const s = await enc.cacheStats();
      maxBytes = Math.max(maxBytes, s.bytes);
      maxSessions = Math.max(maxSessions, ...s.workerSessions);
    }
    // Oracle: the export object of the first spec is a fresh one once it was evicted.
    assert.notEqual(await enc.onnx(spec(9)), first, 'the first spec was never evicted');
    const s = await enc.cacheStats();
    assert.ok(maxBytes <= budget * 1.5, `cache held ${maxBytes} bytes, budget ${budget}`);
    assert.ok(s.evicted >= 15, `only ${s.evicted} evictions`);
    assert.ok(maxSessions <= 5, `a worker held ${maxSessions} sessions`);
    // An evicted width runs again (re-exported, the session reloaded) with the same numbers.
    const again = await enc.encode(images, spec(9));
    assert.ok(maxAbsDiff(again.embeddings, firstRun.embeddings) <= 1e-6);
  } finally {
    await enc.close();
    m.dispose();
  }
});
