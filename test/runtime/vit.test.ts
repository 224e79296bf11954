/** The ViT baseline graph against a plain float64 forward written from the ViT paper. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportVit } from '../../src/runtime/export-vit.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { interpolatePosEmbed } from '../../src/runtime/pos-embed.js';
import {
  randomVitWeights,
  vitCost,
  vitParamShapes,
  VIT_S16,
  type VitConfig,
} from '../../src/runtime/vit.js';
import { Rng } from '../../src/util/rng.js';
import { maxAbsDiff } from '../helpers.js';

const TINY: VitConfig = {
  dModel: 16,
  nLayer: 2,
  nHeads: 2,
  mlpRatio: 2,
  patchSize: 4,
  imageSize: 8,
  inChans: 3,
  normEps: 1e-6,
};

/** erf to ~1e-12 (series / continued fraction would do; this is the Taylor series, |x| < 6). */
function erf(x: number): number {
  if (Math.abs(x) > 5.5) return Math.sign(x);
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function layerNorm(x: number[], w: Float32Array, b: Float32Array, eps: number): number[] {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const v = x.reduce((a, u) => a + (u - mean) ** 2, 0) / x.length;
  return x.map((u, i) => ((u - mean) / Math.sqrt(v + eps)) * w[i]! + b[i]!);
}

/** y = W x + b, W row-major [out, in] (rows [start, start + out)). */
function affine(W: Float32Array, b: Float32Array, x: number[], out: number, start = 0): number[] {
  return Array.from({ length: out }, (_, r) => {
    let s = b[start + r]!;
    for (let c = 0; c < x.length; c++) s += W[(start + r) * x.length + c]! * x[c]!;
    return s;
  });
}

function reference(cfg: VitConfig, w: Map<string, Float32Array>, img: Float32Array, S: number) {
  const { dModel: D, patchSize: p, inChans: C, nHeads: H } = cfg;
  const dh = D / H;
  const grid = S / p;
  const get = (k: string) => w.get(k)!;
  const pos = interpolatePosEmbed(get('pos_embed'), D, cfg.imageSize / p, grid, 'prefix');
  const x: number[][] = [[...get('cls_token')].map((v, d) => v + pos[d]!)];
  for (let gy = 0; gy < grid; gy++)
    for (let gx = 0; gx < grid; gx++) {
      const t = x.length;
      x.push(
        Array.from({ length: D }, (_, d) => {
          let s = get('patch_embed.proj.bias')[d]! + pos[t * D + d]!;
          for (let c = 0; c < C; c++)
            for (let py = 0; py < p; py++)
              for (let px = 0; px < p; px++)
                s +=
                  get('patch_embed.proj.weight')[((d * C + c) * p + py) * p + px]! *
                  img[((gy * p + py) * S + gx * p + px) * C + c]!;
          return s;
        }),
      );
    }
  for (let i = 0; i < cfg.nLayer; i++) {
    const k = (s: string) => get(`blocks.${i}.${s}`);
    const h = x.map((r) => layerNorm(r, k('norm1.weight'), k('norm1.bias'), cfg.normEps));
    const qkv = h.map((r) => affine(k('attn.qkv.weight'), k('attn.qkv.bias'), r, 3 * D));
    const ctx = x.map(() => new Array<number>(D).fill(0));
    for (let hd = 0; hd < H; hd++) {
      for (let a = 0; a < x.length; a++) {
        const scores = qkv.map((kv) => {
          let s = 0;
          for (let j = 0; j < dh; j++) s += qkv[a]![hd * dh + j]! * kv[D + hd * dh + j]!;
          return s / Math.sqrt(dh);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((u, v) => u + v, 0);
        for (let bb = 0; bb < x.length; bb++)
          for (let j = 0; j < dh; j++)
            ctx[a]![hd * dh + j]! += (e[bb]! / z) * qkv[bb]![2 * D + hd * dh + j]!;
      }
    }
    ctx.forEach((c, a) => {
      const o = affine(k('attn.proj.weight'), k('attn.proj.bias'), c, D);
      x[a] = x[a]!.map((v, d) => v + o[d]!);
    });
    x.forEach((r, a) => {
      const n = layerNorm(r, k('norm2.weight'), k('norm2.bias'), cfg.normEps);
      const f1 = affine(k('mlp.fc1.weight'), k('mlp.fc1.bias'), n, cfg.mlpRatio * D);
      const g = f1.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const f2 = affine(k('mlp.fc2.weight'), k('mlp.fc2.bias'), g, D);
      x[a] = r.map((v, d) => v + f2[d]!);
    });
  }
  return layerNorm(x[0]!, get('norm.weight'), get('norm.bias'), cfg.normEps);
}

for (const S of [8, 12]) {
  test(`ViT graph equals the float64 reference at ${S} px`, async (t) => {
    const weights = randomVitWeights(TINY, 3);
    const rng = new Rng(4);
    const batch = 3;
    const per = S * S * 3;
    const images = Float32Array.from({ length: batch * per }, () => rng.normal());
    const ex = exportVit(TINY, weights, S);
    const s = await createSession(ex.bytes, 'cpu');
    const { features } = await runImages(s, images, batch, ex, 2);
    await s.release();
    const ref = Array.from({ length: batch }, (_, b) =>
      reference(TINY, weights, images.subarray(b * per, (b + 1) * per), S),
    ).flat();
    const d = maxAbsDiff(features, ref);
    t.diagnostic(`max abs diff ${d.toExponential(2)}`);
    assert.ok(d < 1e-4, `max abs diff ${d}`);
  });
}

test('ViT-S/16 has the expected size and cost', () => {
  const { params, macs } = vitCost(VIT_S16);
  // timm's vit_small_patch16_224 without its head: 21.67 M parameters, ~4.6 GMACs at 224 px
  assert.equal((params / 1e6).toFixed(2), '21.67');
  assert.ok(Math.abs(macs / 1e9 - 4.6) < 0.1, `${macs}`);
  assert.ok(vitCost(VIT_S16, 1024).macs > 40 * macs);
  assert.equal(vitParamShapes(VIT_S16).get('pos_embed')!.join(), '1,197,384');
  assert.throws(() => exportVit(TINY, new Map(), 8), { code: 'E_VALIDATION' });
});
