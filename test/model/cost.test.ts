import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/model/config.js';
import { modelCost } from '../../src/model/cost.js';
import { resolveWidths, sliceMixer } from '../../src/model/nesting.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { setup } from '../helpers.js';

before(setup);

const WIDTHS = ['1', '1/2', '1/4', '1/8'];

test('parameter counts per width equal the official MatMamba-Vision figures', () => {
  // Official: 35M -> 35.9M / 19.8M / 11.7M / 7.7M; 135M -> 134.7M / 71.0M / 39.2M / 23.3M.
  const expected: Record<string, string[]> = {
    '35M': ['35.9', '19.8', '11.7', '7.7'],
    '135M': ['134.7', '71.0', '39.2', '23.3'],
  };
  for (const [name, figures] of Object.entries(expected)) {
    const cfg = presetConfig(name);
    WIDTHS.forEach((w, i) => {
      assert.equal(
        (modelCost(cfg, w).params / 1e6).toFixed(1),
        figures[i],
        `${name} at width ${w}`,
      );
    });
  }
  // The exact full count, hand-derived: 20 layers x 1,745,344 + embeddings, norm_f and head.
  assert.equal(
    modelCost(presetConfig('35M')).params,
    20 * 1_745_344 + 393_728 + 100_864 + 512 + 1_024 + 513_000,
  );
});

test('counted parameters equal the sizes of the tensors a width actually uses', () => {
  const cfg = presetConfig('tiny');
  const model = MatMambaVision.create(cfg, 0);
  const shared = [...model.params]
    .filter(([k]) => !k.includes('.mixer.'))
    .reduce((s, [, v]) => s + v.size, 0);
  for (const w of [...WIDTHS, '3/8', '1/8x3,1x3']) {
    const dims = resolveWidths(cfg, w);
    let used = shared;
    dims.forEach((d, i) => {
      const sliced = sliceMixer(model.mixerWeights(i), cfg, d);
      for (const t of Object.values(sliced)) used += (t as { size: number }).size;
    });
    assert.equal(modelCost(cfg, w).params, used, `width ${w}`);
  }
  model.dispose();
});

test('MACs per image fall with width and match the hand count for 35M', () => {
  const cfg = presetConfig('35M');
  const macs = WIDTHS.map((w) => modelCost(cfg, w).macs);
  for (let i = 1; i < macs.length; i++) assert.ok(macs[i]! < macs[i - 1]!);
  // Full width, 197 tokens, one chunk: in_proj + conv + C·Bᵀ + (L∘CBᵀ)X + out_proj per layer.
  const L = 197;
  const layer = L * 512 * 2368 + L * 1280 * 4 + L * L * 128 + L * L * 1024 + L * 1024 * 512;
  assert.equal(macs[0], 20 * layer + 196 * 512 * 768 + 512 * 1000);
  assert.equal((macs[0]! / 1e9).toFixed(1), '7.8');
});
