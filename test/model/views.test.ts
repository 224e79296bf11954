/**
 * View pooling (model/views.ts, config `views`): the views are the turns and mirror images
 * written out by hand; the ONNX and tfjs embeddings equal the mean of the unpooled model's unit
 * features over views cut pixel by pixel, computed here in float64; a turned or mirrored image
 * embeds like the original; the model id and the export tell pooled and unpooled models apart.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { makeConfig, parseConfig } from '../../src/model/config.js';
import { modelCost } from '../../src/model/cost.js';
import { readModelDir } from '../../src/model/model-dir.js';
import {
  GREY_BIAS,
  GREY_WEIGHT,
  greyMap,
  viewCount,
  viewList,
  parseViewsName,
  viewPixels,
  viewsName,
  viewsTag,
  viewWeights,
  withViews,
} from '../../src/model/views.js';
import type { MatMambaVisionConfig } from '../../src/model/config.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { saveModel } from '../../src/model/weights.js';
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

test('views: a 2x2 two-channel image turned and mirrored by hand', () => {
  // Rows top to bottom, pixels [c0, c1]: a b / c d.
  const img = Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40]);
  const px = (v: Parameters<typeof viewPixels>[3]) => [...viewPixels(img, 2, 2, v)];
  assert.deepEqual(px({ mirror: false, turns: 0, grey: false }), [1, 10, 2, 20, 3, 30, 4, 40]);
  // Anticlockwise: the right column becomes the top row (b d / a c).
  assert.deepEqual(px({ mirror: false, turns: 1, grey: false }), [2, 20, 4, 40, 1, 10, 3, 30]);
  assert.deepEqual(px({ mirror: false, turns: 2, grey: false }), [4, 40, 3, 30, 2, 20, 1, 10]);
  assert.deepEqual(px({ mirror: false, turns: 3, grey: false }), [3, 30, 1, 10, 4, 40, 2, 20]);
  assert.deepEqual(px({ mirror: true, turns: 0, grey: false }), [2, 20, 1, 10, 4, 40, 3, 30]);
  // Mirror first (b a / d c), then a quarter turn: a c / b d.
  assert.deepEqual(px({ mirror: true, turns: 1, grey: false }), [1, 10, 3, 30, 2, 20, 4, 40]);
  // The identity view is a copy, never the caller's array.
  assert.notEqual(viewPixels(img, 2, 2, { mirror: false, turns: 0, grey: false }), img);
});

test('views: each spec lists its group, identity first', () => {
  const list = (turns: 1 | 2 | 4, mirror: boolean) =>
    viewList({ views: { turns, mirror } }).map((v) => `${v.mirror ? 'm' : ''}${v.turns}`);
  assert.deepEqual(list(1, false), ['0']);
  assert.deepEqual(list(2, false), ['0', '2']);
  assert.deepEqual(list(4, false), ['0', '1', '2', '3']);
  assert.deepEqual(list(1, true), ['0', 'm0']);
  assert.deepEqual(list(4, true), ['0', '1', '2', '3', 'm0', 'm1', 'm2', 'm3']);
  assert.equal(viewCount({}), 1);
});

test('config: views are checked, kept by JSON and refused beside a classifier head', () => {
  const cfg = smallConfig({ nClasses: 0, views: { turns: 4, mirror: true } });
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(cfg))).views, cfg.views);
  for (const bad of [{ turns: 3, mirror: false }, { turns: 4 }, [4], { turns: 4, mirror: 1 }])
    assert.throws(
      () => parseConfig({ ...cfg, views: bad }),
      /views: expected \{ "turns": 1, 2 or 4/,
    );
  assert.throws(
    () => makeConfig({ ...smallConfig(), views: { turns: 2, mirror: false } }),
    /classifier head/,
  );
});

test('views: +grey:S gives the grey views that share of the mean, and is checked', () => {
  const spec = parseViewsName('c4+grey:0.3')!;
  assert.deepEqual(spec, { turns: 4, mirror: false, grey: true, greyShare: 0.3 });
  assert.equal(viewsName(spec), 'c4+grey:0.3');
  assert.equal(viewsTag(spec), 'turns 4, grey 0.3');
  // An even share is the plain '+grey' (the same model id as before shares existed).
  assert.deepEqual(parseViewsName('c4+grey:0.5'), parseViewsName('c4+grey'));
  assert.equal(viewsTag(parseViewsName('c4+grey')!), 'turns 4, grey');
  for (const bad of ['c4+grey:0', 'c4+grey:1', 'c4+grey:1.5', 'c4+grey:', 'c4:0.3', 'x+grey'])
    assert.equal(parseViewsName(bad), null, bad);
  assert.deepEqual(
    viewWeights({ views: spec }).map((w) => +w.toFixed(6)),
    [0.175, 0.175, 0.175, 0.175, 0.075, 0.075, 0.075, 0.075],
  );
  assert.deepEqual(viewWeights({ views: { turns: 2, mirror: false } }), [0.5, 0.5]);
  const base = smallConfig({ nClasses: 0 });
  assert.throws(
    () => makeConfig({ ...base, views: { turns: 4, mirror: false, greyShare: 0.3 } }),
    /greyShare must be between 0 and 1 \(exclusive\) with grey: true/,
  );
  assert.throws(
    () => makeConfig({ ...base, views: { turns: 4, mirror: false, grey: true, greyShare: 1 } }),
    /greyShare/,
  );
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify({ ...base, views: spec }))).views, spec);
});

const cfg = smallConfig({
  nClasses: 0,
  whiten: true,
  adapters: ['1/4'],
  views: { turns: 4, mirror: true },
});
const D = cfg.dModel;
const S = cfg.imageSize;
const C = cfg.inChans;

/**
 * unit(W unit(A unit(Σ_v a_v unit(f_v))) + b) per image, in float64, from per-view features;
 * a_v = 1/V unless `share` gives the grey half (the last V/2 views) that share of the sum.
 */
function pooledRef(
  perView: Float32Array[], // each [B, D], view v's features of every image
  w: Float32Array,
  b: Float32Array,
  adapter: Float32Array | null,
  share = 0.5,
): Float32Array {
  const B = perView[0]!.length / D;
  const V = perView.length;
  const a = perView.map((_, v) => (V === 1 ? 1 : (v < V / 2 ? 1 - share : share) / (V / 2)));
  const out = new Float32Array(B * D);
  for (let r = 0; r < B; r++) {
    const mean = new Float64Array(D);
    perView.forEach((f, v) => {
      const u = unit64(Float64Array.from(f.subarray(r * D, (r + 1) * D)));
      for (let d = 0; d < D; d++) mean[d]! += u[d]! * a[v]!;
    });
    let u = unit64(mean);
    if (adapter) u = unit64(matvec64(adapter, u));
    out.set(unit64(matvec64(w, u, b)), r * D);
  }
  return out;
}

for (const c of [
  cfg,
  makeConfig({ ...cfg, views: { turns: 4, mirror: false, grey: true } }),
  makeConfig({ ...cfg, views: { turns: 4, mirror: false, grey: true, greyShare: 0.3 } }),
])
  test(`ONNX and tfjs embeddings pool the unit features of hand-cut views (${viewsTag(c.views!)})`, async () => {
    await pooledMatchesReference(c);
  });

async function pooledMatchesReference(cfg: MatMambaVisionConfig): Promise<void> {
  const weights = randomWeights(cfg, 51);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const plain = MatMambaVision.fromArrays(withViews(cfg, undefined), weights); // one view, same weights
  const B = 3;
  const images = randomImages(cfg, B, 9);
  const per = S * S * C;
  const greyMapOf = { weight: weights.get(GREY_WEIGHT)!, bias: weights.get(GREY_BIAS)! };
  const cut = (v: (typeof views)[number]) => {
    const out = new Float32Array(B * per);
    for (let i = 0; i < B; i++)
      out.set(viewPixels(images.subarray(i * per, (i + 1) * per), S, C, v, greyMapOf), i * per);
    return out;
  };
  const views = viewList(cfg);
  assert.equal(views.length, 8);
  for (const widths of ['1', '1/4', '1/8x2,1']) {
    const perView = views.map(
      (v) =>
        tf.tidy(() =>
          plain
            .encode(imagesTensor(cfg, cut(v)), widths)
            .dataSync()
            .slice(),
        ) as Float32Array,
    );
    const ref = pooledRef(
      perView,
      weights.get('whiten.weight')!,
      weights.get('whiten.bias')!,
      widths === '1/4' ? weights.get('adapters.1_4.weight')! : null,
      cfg.views?.greyShare,
    );
    const ex = exportMatMamba(model, { widths });
    const session = await createSession(ex.bytes, 'cpu');
    const out = await runImages(session, images, B, ex, 2);
    await session.release();
    assert.ok(maxAbsDiff(out.embeddings, ref) < 1e-4, `ONNX embedding at ${widths}`);
    const tfjs = tf.tidy(() => {
      const e = model.embed(imagesTensor(cfg, images), widths);
      return tf
        .div(e, tf.norm(e, 2, 1, true))
        .dataSync()
        .slice();
    }) as Float32Array;
    assert.ok(maxAbsDiff(tfjs, ref) < 1e-4, `tfjs embedding at ${widths}`);
    // Pooling is not a no-op: the identity view alone gives another vector.
    const single = pooledRef(
      [perView[0]!],
      weights.get('whiten.weight')!,
      weights.get('whiten.bias')!,
      widths === '1/4' ? weights.get('adapters.1_4.weight')! : null,
    );
    assert.ok(maxAbsDiff(single, ref) > 0.05, `pooling changes the vector at ${widths}`);
  }
  model.dispose();
  plain.dispose();
}

test('the grey map turns a normalised colour pixel into its normalised luma', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const { weight, bias } = greyMap(mean, std);
  for (const rgb of [
    [0, 0, 0],
    [1, 1, 1],
    [0.9, 0.2, 0.4],
    [0.1, 0.7, 0.3],
  ]) {
    const x = rgb.map((p, c) => (p - mean[c]!) / std[c]!);
    const luma = 0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!;
    for (let c = 0; c < 3; c++) {
      const got = bias[c]! + x.reduce((a, xk, k) => a + weight[c * 3 + k]! * xk, 0);
      assert.ok(Math.abs(got - (luma - mean[c]!) / std[c]!) < 1e-5, `${rgb} channel ${c}`);
    }
  }
});

test('a turned or mirrored image embeds like the original; a C4 model is not mirror-blind', async () => {
  const weights = randomWeights(cfg, 52);
  const images = randomImages(cfg, 1, 10);
  const transformed = [
    { mirror: false, turns: 1, grey: false },
    { mirror: false, turns: 2, grey: false },
    { mirror: true, turns: 0, grey: false },
    { mirror: true, turns: 3, grey: false },
  ] as const;
  const batch = new Float32Array((1 + transformed.length) * S * S * C);
  batch.set(images);
  transformed.forEach((v, i) => batch.set(viewPixels(images, S, C, v), (i + 1) * S * S * C));
  const embed = async (c: typeof cfg) => {
    const model = MatMambaVision.fromArrays(c, weights);
    const ex = exportMatMamba(model, { widths: '1/8' });
    model.dispose();
    const session = await createSession(ex.bytes, 'cpu');
    const out = await runImages(session, batch, 1 + transformed.length, ex, 5);
    await session.release();
    return transformed.map((_, i) =>
      maxAbsDiff(out.embeddings.subarray(0, D), out.embeddings.subarray((i + 1) * D, (i + 2) * D)),
    );
  };
  for (const d of await embed(cfg)) assert.ok(d < 1e-5, `D4 pooling: ${d}`);
  const c4 = await embed(makeConfig({ ...cfg, views: { turns: 4, mirror: false } }));
  assert.ok(c4[0]! < 1e-5 && c4[1]! < 1e-5, 'C4 pooling: turns');
  assert.ok(c4[2]! > 1e-3 && c4[3]! > 1e-3, 'C4 pooling: a mirror image is another vector');
});

test('views cost one encoder pass each; the weights record them, so the model id differs', () => {
  const plain = makeConfig({ ...withViews(cfg, undefined), adapters: [] });
  const encoderOnly = makeConfig({ ...plain, whiten: false });
  // 8 encoder passes, then the whitening once (and the 1/4 adapter once).
  for (const w of ['1', '1/4', '1/8'])
    assert.equal(
      modelCost(cfg, w).macs,
      8 * modelCost(encoderOnly, w).macs + D * D * (w === '1/4' ? 2 : 1),
    );
  assert.equal(modelCost(cfg).params, modelCost(plain).params); // turns add no weights
  // Grey views: twice the passes, plus the [C, C] channel map on every pixel once.
  const greyCfg = makeConfig({ ...cfg, views: { turns: 4, mirror: false, grey: true } });
  assert.equal(modelCost(greyCfg).macs, 8 * modelCost(encoderOnly).macs + D * D + S * S * C * C);
  assert.equal(modelCost(greyCfg).params, modelCost(plain).params + C * C + C);

  const root = mkdtempSync(join(tmpdir(), 'views-'));
  try {
    const weights = randomWeights(cfg, 53);
    const ids: string[] = [];
    for (const c of [cfg, plain]) {
      const m = MatMambaVision.fromArrays(c, weights);
      const dir = join(root, String(ids.length));
      saveModel(m, dir, { name: 'v' });
      m.dispose();
      ids.push(readModelDir(dir, { hashCache: false }).modelId);
    }
    assert.notEqual(ids[0], ids[1]);
    // Views added to (or removed from) config.json by hand are refused, not given the old id.
    for (const [dir, views] of [
      [join(root, '1'), { turns: 4, mirror: true }],
      [join(root, '0'), undefined],
      [join(root, '0'), { turns: 2, mirror: false }],
    ] as const) {
      const path = join(dir, 'config.json');
      const json = JSON.parse(readFileSync(path, 'utf8')) as { model: Record<string, unknown> };
      json.model['views'] = views;
      writeFileSync(path, JSON.stringify(json));
      assert.throws(() => readModelDir(dir, { hashCache: false }), /save the model again/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
