/**
 * The official MatMamba2VisionConfig (matmamba/matmamba2_vision.py, with MatMamba2's ssm_cfg
 * keyword arguments from matmamba/mamba2.py): every field is either mapped or refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/model/config.js';

/** The 35M model's config as save_pretrained writes it (config.__dict__). */
const OFFICIAL_35M = {
  d_model: 512,
  n_layer: 20,
  d_intermediate: 0,
  n_classes: 1000,
  patch_size: 16,
  image_size: 224,
  ssm_cfg: {},
  attn_layer_idx: [],
  attn_cfg: {},
  norm_epsilon: 1e-5,
  rms_norm: false,
  initializer_cfg: {},
  fused_add_norm: false,
  residual_in_fp32: false,
  drop_rate: 0.0,
  drop_path_rate: 0.1,
  proj_drop_rate: 0.0,
  pool: 'cls',
  device: null,
  dtype: null,
};

test('the official 35M config maps to d_model 512, 20 layers, headdim 16, CLS pooling', () => {
  const c = parseConfig(OFFICIAL_35M);
  assert.equal(c.dModel, 512);
  assert.equal(c.nLayer, 20);
  assert.equal(c.headDim, 16);
  assert.equal(c.dState, 128);
  assert.equal(c.chunkSize, 256);
  assert.equal(c.pool, 'cls');
  assert.equal(c.nClasses, 1000);
});

test('pool avg is mapped', () => {
  assert.equal(parseConfig({ ...OFFICIAL_35M, pool: 'avg' }).pool, 'avg');
  assert.throws(() => parseConfig({ ...OFFICIAL_35M, pool: 'max' }), /pool/);
});

test('ssm_cfg: mapped fields, no-effect fields, and headdim (ignored by the official code)', () => {
  const c = parseConfig({
    ...OFFICIAL_35M,
    ssm_cfg: {
      layer: 'MatMamba2',
      d_state: 64,
      d_conv: 3,
      expand: 2,
      chunk_size: 128,
      headdim: 64, // MatMamba2 overrides it with d_model // 32
      A_init_range: [1, 16],
      dt_min: 0.001,
      dt_max: 0.1,
      dt_init_floor: 1e-4,
      conv_init: null,
      use_mem_eff_path: true,
      rmsnorm: true,
      norm_before_gate: false,
      ngroups: 1,
      D_has_hdim: false,
      bias: false,
      conv_bias: true,
      d_ssm: null,
    },
  });
  assert.deepEqual([c.dState, c.dConv, c.expand, c.chunkSize, c.headDim], [64, 3, 2, 128, 16]);
});

test('training-only fields are accepted whatever their value', () => {
  const c = parseConfig({
    ...OFFICIAL_35M,
    drop_rate: 0.3,
    drop_path_rate: 0.2,
    proj_drop_rate: 0.1,
    initializer_cfg: { initializer_range: 0.02 },
    fused_add_norm: true,
    residual_in_fp32: true,
    attn_cfg: { num_heads: 8 }, // used only by attention layers, and there are none
  });
  assert.equal(c.dModel, 512);
});

for (const [field, value, why] of [
  ['d_intermediate', 2048, /d_intermediate.*GatedMLP.*not implemented/],
  ['rms_norm', true, /rms_norm.*RMSNorm.*not implemented/],
  ['attn_layer_idx', [3, 7], /attn_layer_idx.*attention.*not implemented/],
  ['unknown_field', 1, /unknown_field.*not a MatMamba2VisionConfig field/],
] as const) {
  test(`${field}=${JSON.stringify(value)} is refused by name`, () => {
    assert.throws(() => parseConfig({ ...OFFICIAL_35M, [field]: value }), {
      code: 'E_VALIDATION',
      message: why,
    });
  });
}

for (const [field, value] of [
  ['layer', 'Mamba1'],
  ['ngroups', 2],
  ['rmsnorm', false],
  ['norm_before_gate', true],
  ['D_has_hdim', true],
  ['bias', true],
  ['conv_bias', false],
  ['d_ssm', 512],
  ['dt_limit', [0.01, 1]],
  ['mystery', 3],
] as const) {
  test(`ssm_cfg.${field}=${JSON.stringify(value)} is refused by name`, () => {
    assert.throws(() => parseConfig({ ...OFFICIAL_35M, ssm_cfg: { [field]: value } }), {
      code: 'E_VALIDATION',
      message: new RegExp(`ssm_cfg\\.${field}`),
    });
  });
}

test('every refused field is named in one error', () => {
  assert.throws(
    () =>
      parseConfig({ ...OFFICIAL_35M, rms_norm: true, d_intermediate: 4, ssm_cfg: { ngroups: 2 } }),
    (err: Error) => {
      assert.match(err.message, /rms_norm/);
      assert.match(err.message, /d_intermediate/);
      assert.match(err.message, /ssm_cfg\.ngroups/);
      return true;
    },
  );
});

test('d_model under 32 is refused: the official headdim d_model // 32 would be 0', () => {
  assert.throws(() => parseConfig({ ...OFFICIAL_35M, d_model: 16 }), /d_model.*32/);
});

test('our own camelCase configs keep CLS pooling by default', () => {
  assert.equal(parseConfig({ dModel: 64, nLayer: 2 }).pool, 'cls');
  assert.equal(parseConfig({ dModel: 64, nLayer: 2, pool: 'avg' }).pool, 'avg');
});
