/**
 * `model whiten` end to end on a small model and synthetic training images: the new model's
 * embeddings equal unit(W · unit(A_w · e) + b) of the source model's embeddings e (A_w the
 * width's adapter; none at width 1), with W, b and A_w read back
 * from the new weights (applied here by whitening.ts's reference, in float64).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSet } from '../../src/data/image-set.js';
import { openEmbedder } from '../../src/embed/open.js';
import { writeUntrainedModel } from '../../src/embed/untrained.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { readSafetensors, readSafetensorsMetadata } from '../../src/model/safetensors.js';
import { whitenModel } from '../../src/model/whiten-model.js';
import { applyWhitening } from '../../src/model/whitening.js';
import { viewList, viewPixels } from '../../src/model/views.js';
import { Rng } from '../../src/util/rng.js';
import { setup } from '../helpers.js';

before(setup);

/** Blocky random colour images (smooth enough that views of one image stay alike). */
function images(n: number, S: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(n * S * S * 3);
  for (let i = 0; i < n; i++) {
    const cells = Array.from({ length: 16 * 3 }, () => Math.floor(rng.uniform() * 256));
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          const cell = Math.floor((y * 4) / S) * 4 + Math.floor((x * 4) / S);
          pixels[((i * S + y) * S + x) * 3 + c] = cells[cell * 3 + c]!;
        }
  }
  return {
    name: 'synthetic',
    size: S,
    channels: 3,
    pixels,
    labels: Int32Array.from({ length: n }, (_, i) => i),
    classes: Array.from({ length: n }, (_, i) => `#${i}`),
  };
}

test('model whiten: the new embeddings are the learnt map of the old, under a new model id', async () => {
  const root = mkdtempSync(join(tmpdir(), 'whiten-model-'));
  try {
    const src = await writeUntrainedModel(join(root, 'src'));
    const out = join(root, 'white');
    const r = await whitenModel({
      modelDir: src,
      out,
      images: 128,
      seed: 3,
      trainImages: images(64, 48, 1),
    });
    assert.deepEqual(r.counts, { augment: 512, geometry: 512, photo: 512, width: 384 });
    const before = readModelDir(src);
    const after = readModelDir(out);
    assert.equal(after.config.whiten, true);
    assert.notEqual(after.modelId, before.modelId);
    assert.equal(r.modelId, after.modelId);
    const meta = readSafetensorsMetadata(after.weightsPath);
    assert.equal(meta['whitened_from'], before.modelId);
    assert.equal(meta['whiten_args'], '--images 128 --seed 3 --grey 0.5');
    assert.deepEqual(after.config.adapters, ['1/2', '1/4', '1/8']);
    const t = readSafetensors(after.weightsPath).tensors;
    const w = { weight: t.get('whiten.weight')!.data, bias: t.get('whiten.bias')!.data };
    const unit = (v: Float32Array) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const D = after.config.dModel;
    const rng = new Rng(9);
    const inputs = Array.from({ length: 3 }, () =>
      Float32Array.from({ length: 64 * 64 * 3 }, () => rng.normal()),
    );
    const a = await openEmbedder(src);
    const b = await openEmbedder(out);
    try {
      for (const width of ['1', '1/4']) {
        const plain = await a.embed(inputs, width);
        const white = await b.embed(inputs, width);
        plain.forEach((e, k) => {
          // A narrow width goes through its adapter (a map without bias) first.
          const A =
            width === '1' ? null : t.get(`adapters.${width.replace('/', '_')}.weight`)!.data;
          const x = A ? unit(applyWhitening({ weight: A, bias: new Float32Array(D) }, e, D)) : e;
          const y = applyWhitening(w, x, D);
          const n = Math.hypot(...y);
          const diff = Math.max(...y.map((v, i) => Math.abs(v / n - white[k]![i]!)));
          assert.ok(diff < 1e-4, `width ${width}, image ${k}: ${diff}`);
        });
      }
    } finally {
      await a.close();
      await b.close();
    }
    // A whitened model is not whitened twice.
    await assert.rejects(
      whitenModel({ modelDir: out, out: join(root, 'again'), trainImages: images(8, 48, 2) }),
      /already has a learned whitening/,
    );
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
      trainedWidths?: string[];
    };
    assert.deepEqual(cfg.trainedWidths, ['1', '1/2', '1/4', '1/8']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('model whiten --views d4: the maps are fitted on, and applied to, the pooled vectors', async () => {
  const root = mkdtempSync(join(tmpdir(), 'whiten-views-'));
  try {
    const src = await writeUntrainedModel(join(root, 'src'));
    const out = join(root, 'pooled');
    await whitenModel({
      modelDir: src,
      out,
      images: 128,
      seed: 3,
      views: { turns: 4, mirror: true },
      trainImages: images(64, 48, 1),
    });
    const after = readModelDir(out);
    assert.deepEqual(after.config.views, { turns: 4, mirror: true });
    const meta = readSafetensorsMetadata(after.weightsPath);
    assert.equal(meta['whiten_args'], '--images 128 --seed 3 --grey 0.5 --views d4');
    assert.equal(meta['views'], 'turns 4, mirror');
    const t = readSafetensors(after.weightsPath).tensors;
    const w = { weight: t.get('whiten.weight')!.data, bias: t.get('whiten.bias')!.data };
    const D = after.config.dModel;
    const S = after.config.imageSize;
    const rng = new Rng(10);
    const input = Float32Array.from({ length: S * S * 3 }, () => rng.normal());
    const views = viewList(after.config).map((v) => viewPixels(input, S, 3, v));
    const a = await openEmbedder(src);
    const b = await openEmbedder(out);
    try {
      // Oracle: the unpooled source embeds each hand-cut view; mean, unit, then the map.
      const perView = await a.embed(views, '1');
      const mean = new Float32Array(D);
      for (const e of perView) e.forEach((x, i) => (mean[i]! += x / perView.length));
      const y = applyWhitening(
        w,
        mean.map((x) => x / Math.hypot(...mean)),
        D,
      );
      const n = Math.hypot(...y);
      // Any view of the image gives the same vector.
      for (const [k, got] of (await b.embed([input, views[3]!, views[6]!], '1')).entries()) {
        const diff = Math.max(...y.map((v, i) => Math.abs(v / n - got[i]!)));
        assert.ok(diff < 1e-4, `view ${k}: ${diff}`);
      }
    } finally {
      await a.close();
      await b.close();
    }
    // A pooled, whitened model is not whitened again, with or without its views.
    await assert.rejects(
      whitenModel({
        modelDir: out,
        out: join(root, 'x'),
        views: null,
        trainImages: images(8, 48, 2),
      }),
      /already has a learned whitening/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
