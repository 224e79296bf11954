/** The nested recipe, the accumulation, the optimizer and the losses against hand computations. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { planStep, JOINT_LEVELS } from '../../src/train/nested.js';
import { Sampler } from '../../src/train/data.js';
import {
  accumulateGradients,
  batchPixels,
  microLoss,
  type LossOptions,
} from '../../src/train/step.js';
import { AdamW, clipGlobalNorm, learningRate } from '../../src/train/optimizer.js';
import { crossEntropy, supConLoss, cosineDistill, crossWidthLoss } from '../../src/train/losses.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { makeConfig } from '../../src/model/config.js';
import { fakeEmoji } from './fixtures.js';
import { setup, maxAbsDiff } from '../helpers.js';

before(setup);

test('one optimizer step = g micro-steps, round-robin widths, fresh data, losses scaled to 1/g', () => {
  const set = fakeEmoji(40);
  const sampler = new Sampler(set, true, 1);
  const plan = planStep(JOINT_LEVELS, sampler, 5, 2, 0, 0); // 5 identities per micro-batch, 2 workers
  assert.equal(plan.length, 2);
  const widthsPerWorker = plan.map((w) => w.map((m) => m.width));
  assert.deepEqual(widthsPerWorker[0], ['1', '1/2', '1/4', '1/8']);
  const seen = new Set<number>();
  for (let micro = 0; micro < 4; micro++) {
    const shards = plan.map((w) => w[micro]!);
    const total = shards.reduce((s, m) => s + m.scale, 0);
    assert.ok(Math.abs(total - 1 / 4) < 1e-12, `micro ${micro}: scales sum to ${total}`);
    const images = shards.flatMap((m) => m.indices);
    assert.equal(images.length, 15);
    for (const i of images) {
      assert.ok(!seen.has(i), 'an image reused within one optimizer step');
      seen.add(i);
    }
    // shards split at identity boundaries: every identity's 3 images are in one shard
    for (const m of shards)
      for (const i of m.indices)
        assert.equal(m.indices.filter((j) => set.labels[j] === set.labels[i]).length, 3);
  }
  // a baseline trains one width: one micro-step per optimizer step, scale 1
  const base = planStep(['1/4'], sampler, 4, 1, 0, 1);
  assert.deepEqual(
    base[0]!.map((m) => [m.width, m.scale]),
    [['1/4', 1]],
  );
});

test('a step planned in 2 shards holds the same micro-batches on 1 worker as on 2', () => {
  const set = fakeEmoji(40);
  const flat = (workers: number) => {
    const plan = planStep(JOINT_LEVELS, new Sampler(set, true, 1), 6, workers, 3, 5, 2);
    assert.equal(plan.length, workers);
    return plan
      .flat()
      .map((m) => JSON.stringify(m))
      .sort();
  };
  const one = flat(1);
  assert.equal(one.length, 8, '4 widths x 2 shards');
  assert.deepEqual(one, flat(2));
  // Without shards, one worker takes each micro-batch whole.
  const whole = planStep(JOINT_LEVELS, new Sampler(set, true, 1), 6, 1, 3, 5);
  assert.deepEqual(
    whole[0]!.map((m) => m.indices.length),
    [18, 18, 18, 18],
  );
});

test('accumulated gradients equal the 1/g-weighted sum of separate micro-batch gradients', () => {
  const cfg = makeConfig({
    dModel: 16,
    nLayer: 2,
    dState: 4,
    headDim: 2,
    patchSize: 4,
    imageSize: 8,
    nClasses: 20,
  });
  const model = MatMambaVision.create(cfg, 4);
  const set = fakeEmoji(20);
  const o: LossOptions = {
    labelSmoothing: 0.1,
    supcon: 0.5,
    temperature: 0.2,
    distill: 0.3,
    cross: 0.4,
  };
  const aug = {
    size: 8,
    channels: 3,
    scale: [0.5, 1],
    ratio: [0.8, 1.25],
    flip: false,
    jitter: 0.3,
  } as const;
  const micro = [
    { width: '1', indices: [0, 1, 2, 3, 4, 5], seed: 11, scale: 0.5 },
    { width: '1/2', indices: [6, 7, 8, 9, 10, 11], seed: 12, scale: 0.5 },
  ];
  const { grads, losses } = accumulateGradients(model, set, micro, aug, o);
  const vars = [...model.params.values()];
  const separate = micro.map((mb) => {
    const x = batchPixels(model, set, mb.indices, mb.seed, aug);
    const labels = Int32Array.from(mb.indices, (i) => set.labels[i]!);
    const teacher = mb.width !== '1' ? model.encode(x, 1) : null;
    const r = tf.variableGrads(() => microLoss(model, x, labels, mb.width, o, teacher), vars);
    const loss = r.value.dataSync()[0]!;
    const g = new Map([...model.params].map(([k, v]) => [k, r.grads[v.name]!.dataSync().slice()]));
    tf.dispose([x, r.value, ...Object.values(r.grads), ...(teacher ? [teacher] : [])]);
    return { loss, g };
  });
  losses.forEach((l, i) => assert.ok(Math.abs(l.loss - separate[i]!.loss) < 1e-5));
  for (const [k, g] of grads) {
    const expected = g.map(
      (_, i) => 0.5 * separate[0]!.g.get(k)![i]! + 0.5 * separate[1]!.g.get(k)![i]!,
    );
    assert.ok(maxAbsDiff(g, expected) < 1e-5, `${k}: ${maxAbsDiff(g, expected)}`);
  }
  model.dispose();
});

test('a pair of two different drawings gets the pair augmentation, a pair of one image the ordinary one', () => {
  const cfg = makeConfig({
    dModel: 16,
    nLayer: 1,
    headDim: 4,
    dState: 4,
    patchSize: 4,
    imageSize: 8,
  });
  const model = MatMambaVision.create(cfg, 4);
  const set = fakeEmoji(6);
  const copy = {
    size: 8,
    channels: 3,
    scale: [0.3, 1],
    ratio: [0.8, 1.25],
    flip: true,
    rot90: true,
    jitter: 0.4,
  } as const;
  const mild = { ...copy, scale: [0.9, 1], rot90: false, flip: false, jitter: 0 } as const;
  // Pairs: (0,0) one image, (1,2) two drawings, (3,3), (4,5).
  const indices = [0, 0, 1, 2, 3, 3, 4, 5];
  const rows = (t: tf.Tensor4D) => {
    const d = t.dataSync();
    t.dispose();
    const per = d.length / indices.length;
    return indices.map((_, k) => d.slice(k * per, (k + 1) * per));
  };
  const mixed = rows(batchPixels(model, set, indices, 17, copy, mild));
  const allCopy = rows(batchPixels(model, set, indices, 17, copy));
  const allMild = rows(batchPixels(model, set, indices, 17, mild));
  indices.forEach((_, k) => {
    const crossed = indices[k ^ 1] !== indices[k];
    assert.deepEqual(mixed[k], crossed ? allMild[k] : allCopy[k], `row ${k}`);
    assert.notDeepEqual(allMild[k], allCopy[k], `row ${k}: the two augmentations differ`);
  });
  model.dispose();
});

test('AdamW matches a hand-computed update and decays matrices only', () => {
  const params = new Map([
    ['w', Float32Array.from([1, -2])],
    ['b', Float32Array.from([0.5])],
  ]);
  const opt = new AdamW(params, new Set(['w']), {
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.1,
  });
  const g = new Map([
    ['w', Float32Array.from([0.2, -0.4])],
    ['b', Float32Array.from([1])],
  ]);
  opt.update(g, 0.01);
  opt.update(g, 0.01);
  // Same gradient twice: m̂ = g and v̂ = g², so each step moves lr·(sign(g) + wd·θ).
  let w0 = 1;
  let b0 = 0.5;
  for (let s = 0; s < 2; s++) {
    w0 = w0 - 0.01 * (0.2 / (0.2 + 1e-8) + 0.1 * w0);
    b0 = b0 - 0.01 * (1 / (1 + 1e-8));
  }
  assert.ok(Math.abs(params.get('w')![0]! - w0) < 1e-6);
  assert.ok(Math.abs(params.get('b')![0]! - b0) < 1e-6);
  const big = new Map([['a', Float32Array.from([3, 4])]]);
  assert.equal(clipGlobalNorm(big, 1), 5);
  assert.deepEqual(
    [...big.get('a')!].map((v) => +v.toFixed(6)),
    [0.6, 0.8],
  );
  const sched = { peak: 1, warmup: 10, total: 110, minRatio: 0.01 };
  assert.equal(learningRate(4, sched), 0.5);
  assert.equal(learningRate(10, sched), 1);
  assert.ok(Math.abs(learningRate(110, sched) - 0.01) < 1e-12);
});

test('losses equal their formulas', () => {
  const logits = tf.tensor2d([
    [2, 0, -1],
    [0.5, 0.5, 3],
  ]);
  const ce = crossEntropy(logits, Int32Array.from([0, 2]), 0.1).dataSync()[0]!;
  const rows = [
    [2, 0, -1],
    [0.5, 0.5, 3],
  ];
  let expected = 0;
  rows.forEach((r, i) => {
    const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const y = [0, 2][i]!;
    r.forEach((v, k) => (expected -= ((k === y ? 0.9 : 0) + 0.1 / 3) * (v - lse)));
  });
  assert.ok(Math.abs(ce - expected / 2) < 1e-5);

  const f = [
    [1, 0],
    [0.8, 0.6],
    [0, 1],
    [-1, 0],
  ];
  const labels = Int32Array.from([0, 0, 1, 2]);
  const sc = supConLoss(tf.tensor2d(f), labels, 0.5).dataSync()[0]!;
  // Only anchors 0 and 1 have a positive (each other).
  const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]!;
  const term = (i: number, p: number) => {
    const denom = f.reduce((s, fa, a) => (a === i ? s : s + Math.exp(dot(f[i]!, fa) / 0.5)), 0);
    return -Math.log(Math.exp(dot(f[i]!, f[p]!) / 0.5) / denom);
  };
  assert.ok(Math.abs(sc - (term(0, 1) + term(1, 0)) / 2) < 1e-5);
  assert.equal(supConLoss(tf.tensor2d(f), Int32Array.from([0, 1, 2, 3]), 0.5).dataSync()[0], 0);
  const a = tf.tensor2d([
    [1, 2],
    [3, -1],
  ]);
  assert.ok(Math.abs(cosineDistill(a, tf.mul(a, 3) as tf.Tensor2D).dataSync()[0]!) < 1e-6);

  // Cross-width loss: narrow anchors s_i against full-width candidates t_a, every candidate in
  // the denominator, positives = same label including the anchor's own image.
  const s = [
    [1, 1],
    [0.2, 1],
    [1, -0.5],
  ];
  const t = [
    [1, 0],
    [0, 2],
    [3, -3],
  ];
  const lab = Int32Array.from([4, 4, 7]);
  const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
  const cos = (p: number[], q: number[]) => dot(unit(p), unit(q));
  let oracle = 0;
  s.forEach((si, i) => {
    const logits = t.map((ta) => cos(si, ta) / 0.5);
    const lse = Math.log(logits.reduce((acc, l) => acc + Math.exp(l), 0));
    const positives = t.map((_, a) => a).filter((a) => lab[a] === lab[i]);
    oracle += -positives.reduce((acc, p) => acc + logits[p]! - lse, 0) / positives.length;
  });
  const cw = crossWidthLoss(tf.tensor2d(s), tf.tensor2d(t), lab, 0.5).dataSync()[0]!;
  assert.ok(Math.abs(cw - oracle / 3) < 1e-5, `${cw} vs ${oracle / 3}`);
});
