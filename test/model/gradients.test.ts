/** Gradients of the whole model against central finite differences, and nesting's zero gradients. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { MatMambaVision } from '../../src/model/vision.js';
import type { WidthSpec } from '../../src/model/nesting.js';
import { Rng } from '../../src/util/rng.js';
import { imagesTensor, randomImages, randomWeights, setup, smallConfig } from '../helpers.js';

before(setup);

const cfg = smallConfig({ nLayer: 2, imageSize: 8, chunkSize: 3 }); // 5 tokens, 2 chunks

/** A scalar loss touching logits and features, so every parameter matters. */
function lossFn(
  model: MatMambaVision,
  x: tf.Tensor4D,
  widths: WidthSpec,
  rl: tf.Tensor,
  rf: tf.Tensor,
) {
  return () => {
    const { features, logits } = model.forward(x, widths);
    return tf.add(tf.sum(tf.mul(logits!, rl)), tf.sum(tf.mul(features, rf))) as tf.Scalar;
  };
}

for (const widths of ['1', ['1/2', '1/8']] as const) {
  test(`gradients match central finite differences (widths ${String(widths)})`, () => {
    const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 21));
    const x = imagesTensor(cfg, randomImages(cfg, 2, 3));
    const rng = new Rng(5);
    const rl = tf.tensor(
      Float32Array.from({ length: 2 * cfg.nClasses }, () => rng.normal()),
      [2, cfg.nClasses],
    );
    const rf = tf.tensor(
      Float32Array.from({ length: 2 * cfg.dModel }, () => rng.normal() * 0.3),
      [2, cfg.dModel],
    );
    const f = lossFn(model, x, widths, rl, rf);
    const { value, grads } = tf.variableGrads(f, [...model.params.values()]);
    value.dispose();
    const eps = 4e-3;
    let checked = 0;
    for (const [name, v] of model.params) {
      // Direction u = (ĝ + r̂)/‖·‖: half along the analytic gradient (so a scale or sign error
      // shows at full size) and half random (so an error in any other direction shows too).
      // Compare g·u with (L(θ+εu) - L(θ-εu)) / 2ε.
      const g = grads[v.name]!.dataSync();
      const r = Float32Array.from({ length: v.size }, () => rng.normal());
      const gn = Math.hypot(...g) || 1;
      const rn = Math.hypot(...r);
      const u = r.map((ri, i) => g[i]! / gn + ri / rn);
      const un = Math.hypot(...u);
      u.forEach((e, i) => (u[i] = e / un));
      let analytic = 0;
      for (let i = 0; i < u.length; i++) analytic += g[i]! * u[i]!;
      const theta = v.dataSync().slice();
      const at = (s: number) => {
        v.assign(
          tf.tensor(
            theta.map((t, i) => t + s * eps * u[i]!),
            v.shape,
          ),
        );
        return tf.tidy(() => f().dataSync()[0]!);
      };
      const numeric = (at(1) - at(-1)) / (2 * eps);
      v.assign(tf.tensor(theta, v.shape));
      const tol = 5e-4 + 1e-2 * Math.abs(numeric);
      if (process.env.GRAD_DEBUG)
        console.log(name, analytic, numeric, Math.abs(analytic - numeric) / Math.abs(numeric));
      assert.ok(
        Math.abs(analytic - numeric) <= tol,
        `${name}: analytic ${analytic.toExponential(4)} vs numeric ${numeric.toExponential(4)}`,
      );
      checked++;
    }
    assert.equal(checked, model.params.size);
    tf.dispose([rl, rf, x, ...Object.values(grads)]);
    model.dispose();
  });
}

test('a nested width gives exactly zero gradient to the weights it does not use', () => {
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 22));
  const x = imagesTensor(cfg, randomImages(cfg, 2, 4));
  const { value, grads } = tf.variableGrads(
    () => tf.sum(model.forward(x, '1/4').logits!) as tf.Scalar,
    [...model.params.values()],
  );
  value.dispose();
  const E = cfg.expand * cfg.dModel; // 64
  const e = E / 4; // 16
  const H = E / cfg.headDim;
  const h = e / cfg.headDim;
  const N = cfg.dState;
  const D = cfg.dModel;
  const g = (n: string) =>
    grads[model.params.get(n)!.name]!.arraySync() as number[] & number[][] & number[][][];
  const m = 'layers.1.mixer.';
  const inProj = g(`${m}in_proj.weight`) as unknown as number[][];
  const rowUsed = (r: number) =>
    r < e ||
    (r >= E && r < E + e) ||
    (r >= 2 * E && r < 2 * E + 2 * N) ||
    (r >= 2 * E + 2 * N && r < 2 * E + 2 * N + h);
  inProj.forEach((row, r) => {
    const nz = row.some((v) => v !== 0);
    assert.equal(nz, rowUsed(r), `in_proj row ${r}: used=${rowUsed(r)} but gradient nonzero=${nz}`);
  });
  const outProj = g(`${m}out_proj.weight`) as unknown as number[][];
  for (let r = 0; r < D; r++) for (let c = e; c < E; c++) assert.equal(outProj[r]![c], 0);
  for (const k of ['dt_bias', 'A_log', 'D']) {
    const t = g(m + k) as unknown as number[];
    assert.equal(t.length, H);
    assert.ok(
      t.slice(h).every((v) => v === 0),
      `${k} beyond ${h} heads`,
    );
    assert.ok(
      t.slice(0, h).some((v) => v !== 0),
      `${k} inside ${h} heads`,
    );
  }
  const normW = g(`${m}norm.weight`) as unknown as number[];
  assert.ok(normW.slice(e).every((v) => v === 0));
  tf.dispose([x, ...Object.values(grads)]);
  model.dispose();
});
