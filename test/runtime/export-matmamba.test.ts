/**
 * The ONNX export run on onnxruntime against the tfjs forward (an independent implementation):
 * every standard width and Mix'n'Match lists, single- and multi-chunk scans, batch sizes the
 * graph never saw (it is exported without one), and interpolated position embeddings.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { makeConfig, presetConfig, type MatMambaVisionConfig } from '../../src/model/config.js';
import type { WidthSpec } from '../../src/model/nesting.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { exportMatMamba, exportMatMambaAsync } from '../../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { interpolatePosEmbed } from '../../src/runtime/pos-embed.js';
import {
  imagesTensor,
  maxAbsDiff,
  randomImages,
  randomWeights,
  setup,
  smallConfig,
} from '../helpers.js';

before(setup);

const TOL = 1e-4;
const STANDARD = ['1', '1/2', '1/4', '1/8'];

function tfjsFeatures(model: MatMambaVision, images: Float32Array, widths: WidthSpec) {
  return tf.tidy(() => model.encode(imagesTensor(model.config, images), widths).dataSync().slice());
}

async function ortOutputs(
  model: MatMambaVision,
  images: Float32Array,
  widths: WidthSpec,
  chunkSize: number | 'auto',
  imageSize = model.config.imageSize,
) {
  const ex = exportMatMamba(model, { widths, chunkSize, imageSize });
  const session = await createSession(ex.bytes, 'cpu');
  const per = imageSize * imageSize * model.config.inChans;
  const out = await runImages(session, images, images.length / per, ex, 64);
  await session.release();
  return { ...out, ex };
}

interface Case {
  readonly name: string;
  readonly cfg: MatMambaVisionConfig;
  readonly chunk: number | 'auto';
  readonly chunks: number; // expected chunk count of the graph's scan
  readonly widths: readonly WidthSpec[];
  readonly batches: readonly number[];
}

const CASES: Case[] = [
  {
    name: 'small, multi-chunk (10 tokens in chunks of 4)',
    cfg: smallConfig({ chunkSize: 4 }),
    chunk: 4,
    chunks: 3,
    widths: [...STANDARD, ['1/8', '1', '1/2'], '1/4x2,1'],
    batches: [1, 5],
  },
  {
    name: 'small, single chunk',
    cfg: smallConfig({ chunkSize: 256 }),
    chunk: 'auto',
    chunks: 1,
    widths: [...STANDARD, ['1/2', '1/8', '1']],
    batches: [1, 5],
  },
  {
    name: 'tiny preset, single chunk (65 tokens)',
    cfg: presetConfig('tiny'),
    chunk: 'auto',
    chunks: 1,
    widths: [...STANDARD, '1/8x3,1/4x3'],
    batches: [3],
  },
  {
    name: 'tiny preset, multi-chunk (chunks of 16)',
    cfg: presetConfig('tiny'),
    chunk: 16,
    chunks: 5,
    widths: [...STANDARD, '1/2x3,1x3'],
    batches: [2],
  },
];

for (const c of CASES) {
  test(`ORT features equal the tfjs forward: ${c.name}`, async (t) => {
    const model = MatMambaVision.fromArrays(c.cfg, randomWeights(c.cfg, 21));
    const diffs: string[] = [];
    for (const widths of c.widths) {
      for (const batch of c.batches) {
        const images = randomImages(c.cfg, batch, 100 + batch);
        const { features, embeddings, ex } = await ortOutputs(model, images, widths, c.chunk);
        assert.equal(
          Math.ceil(((c.cfg.imageSize / c.cfg.patchSize) ** 2 + 1) / ex.chunkSize),
          c.chunks,
        );
        const ref = tfjsFeatures(model, images, widths);
        const d = maxAbsDiff(features, ref);
        diffs.push(`${ex.widthLabel} b${batch}: ${d.toExponential(2)}`);
        assert.ok(d <= TOL, `width ${ex.widthLabel}, batch ${batch}: max abs diff ${d}`);
        // embeddings are the features scaled to unit length
        for (let b = 0; b < batch; b++) {
          const f = features.subarray(b * c.cfg.dModel, (b + 1) * c.cfg.dModel);
          const norm = Math.hypot(...f);
          const e = embeddings.subarray(b * c.cfg.dModel, (b + 1) * c.cfg.dModel);
          assert.ok(
            maxAbsDiff(
              e,
              f.map((v) => v / norm),
            ) < 1e-6,
          );
        }
      }
    }
    t.diagnostic(`max abs diff per width: ${diffs.join('; ')}`);
    model.dispose();
  });
}

test('an interpolated resolution equals tfjs with the same interpolated position table', async (t) => {
  const cfg = smallConfig({ chunkSize: 8 });
  const weights = randomWeights(cfg, 22);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const S = 20; // 5x5 patches instead of 3x3
  const big = makeConfig({ ...cfg, imageSize: S });
  const bigWeights = new Map(weights);
  bigWeights.set(
    'pos_embed',
    interpolatePosEmbed(weights.get('pos_embed')!, cfg.dModel, 3, 5, 'suffix'),
  );
  const bigModel = MatMambaVision.fromArrays(big, bigWeights);
  const images = randomImages(big, 2, 9);
  for (const w of ['1', '1/4']) {
    const { features } = await ortOutputs(model, images, w, 8, S);
    const d = maxAbsDiff(features, tfjsFeatures(bigModel, images, w));
    t.diagnostic(`${S} px width ${w}: max abs diff ${d.toExponential(2)}`);
    assert.ok(d <= TOL, `width ${w}: ${d}`);
  }
  model.dispose();
  bigModel.dispose();
});

test('export is deterministic, and the async export builds the same bytes', async () => {
  const cfg = smallConfig();
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 23));
  const a = exportMatMamba(model, { widths: '1/8,1/2,1' });
  const b = exportMatMamba(model, { widths: '1/8,1/2,1' });
  const c = await exportMatMambaAsync(model, { widths: '1/8,1/2,1' });
  assert.deepEqual(a.bytes, b.bytes);
  assert.deepEqual(a.bytes, c.bytes);
  assert.equal(a.widthLabel, '1/8,1/2,1');
  assert.deepEqual(a.layerDims, [4, 16, 32]);
  // a narrower export holds only its slice of the weights
  assert.ok(exportMatMamba(model, { widths: '1/8' }).bytes.length < a.bytes.length);
  model.dispose();
});

test('export rejects bad sizes and widths with ValidationError', () => {
  const cfg = smallConfig();
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 24));
  assert.throws(() => exportMatMamba(model, { imageSize: 13 }), { code: 'E_VALIDATION' });
  assert.throws(() => exportMatMamba(model, { chunkSize: 0 }), { code: 'E_VALIDATION' });
  assert.throws(() => exportMatMamba(model, { widths: '1/3' }), { code: 'E_VALIDATION' });
  assert.throws(() => exportMatMamba(model, { widths: ['1', '1/2'] }), { code: 'E_VALIDATION' });
  model.dispose();
});

test('runImages checks the image count against the shape', async () => {
  const cfg = smallConfig();
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 25));
  const ex = exportMatMamba(model);
  const session = await createSession(ex.bytes, 'cpu');
  await assert.rejects(runImages(session, new Float32Array(10), 1, ex, 4), { code: 'E_SHAPE' });
  await session.release();
  model.dispose();
});

test("pool 'avg' exports to the same features as the tfjs forward", async () => {
  const cfg = smallConfig({ pool: 'avg', chunkSize: 256 });
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 41));
  const images = randomImages(cfg, 3, 2);
  for (const widths of ['1', '1/2'] as const) {
    for (const chunk of [4, 'auto'] as const) {
      const { features } = await ortOutputs(model, images, widths, chunk);
      const want = tfjsFeatures(model, images, widths);
      assert.ok(maxAbsDiff(features, want) < TOL, `width ${widths} chunk ${chunk}`);
    }
  }
  model.dispose();
});
