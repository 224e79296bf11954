/**
 * The official MatMamba2VisionConfig (ScaledFoundations/MatMamba, matmamba/matmamba2_vision.py)
 * and the MatMamba2 keyword arguments its `ssm_cfg` passes on (matmamba/mamba2.py), mapped
 * field by field. Each field is one of:
 * - mapped: it becomes part of our config;
 * - no effect at inference: training or initialisation settings (drop rates, init ranges), or
 *   kernel choices that compute the same function (fused_add_norm, use_mem_eff_path), or
 *   residual_in_fp32 (our forward is float32 throughout);
 * - supported only at its default: it changes the function in a way our model does not
 *   implement, so any other value is refused with a message naming it.
 * An unknown field is refused too: silently dropping it could change what the model computes.
 */
import { ValidationError } from '../errors.js';
import type { ConfigInput } from './config.js';

type Check = (v: unknown) => boolean;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const emptyOrNull = (v: unknown) =>
  v === null ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && Object.keys(v as object).length === 0);
const any: Check = () => true;

/** Top-level fields whose values do not change the forward pass. */
const NO_EFFECT: Record<string, Check> = {
  drop_rate: any,
  drop_path_rate: any,
  proj_drop_rate: any,
  initializer_cfg: any,
  fused_add_norm: any, // the same Add -> LN computed by a fused Triton kernel
  residual_in_fp32: any, // we keep the residual in float32 anyway
  attn_cfg: any, // used only by attention layers (attn_layer_idx), which must be empty
  device: any,
  dtype: any, // the weights are converted to float32 on import
};

/** Top-level fields that must keep their default, and why. */
const DEFAULT_ONLY: Record<string, { ok: Check; why: string }> = {
  d_intermediate: {
    ok: (v) => v === 0 || v === null,
    why: 'adds a GatedMLP after every mixer (d_intermediate > 0), which matsearch has not implemented; only 0 is supported',
  },
  rms_norm: {
    ok: (v) => v === false || v === null,
    why: 'uses RMSNorm instead of LayerNorm for the block and final norms, which matsearch has not implemented; only false is supported',
  },
  attn_layer_idx: {
    ok: emptyOrNull,
    why: 'puts multi-head attention layers in the stack, which matsearch has not implemented; only [] is supported',
  },
};

const SSM_NO_EFFECT: Record<string, Check> = {
  headdim: any, // MatMamba2 ignores it: its headdim is always d_model // 32
  A_init_range: any,
  dt_min: any,
  dt_max: any,
  dt_init_floor: any,
  conv_init: any,
  use_mem_eff_path: any, // fused kernel or PyTorch path: the same function
  proj_drop_rate: any,
  layer_idx: any,
  process_group: (v) => v === null,
  sequence_parallel: any,
  device: any,
  dtype: any,
};

const SSM_DEFAULT_ONLY: Record<string, { ok: Check; why: string }> = {
  layer: {
    ok: (v) => v === 'MatMamba2',
    why: "selects another mixer than the nested MatMamba2; only 'MatMamba2' is supported",
  },
  ngroups: { ok: (v) => v === 1, why: 'more than one B/C group is not implemented; only 1' },
  rmsnorm: {
    ok: (v) => v === true,
    why: 'turns off the gated RMSNorm before out_proj, which matsearch always applies; only true',
  },
  norm_before_gate: {
    ok: (v) => v === false,
    why: 'normalises before the z gate, not after; only false is supported',
  },
  D_has_hdim: { ok: (v) => v === false, why: 'a D per channel is not implemented; only false' },
  bias: {
    ok: (v) => v === false,
    why: 'in_proj and out_proj biases are not implemented; only false',
  },
  conv_bias: { ok: (v) => v === true, why: 'a conv without bias is not implemented; only true' },
  dt_limit: { ok: () => false, why: 'clamping dt is not implemented; leave it out (no limit)' },
};

/** Maps an official snake_case config; every problem is collected and named in one error. */
export function mapOfficialConfig(json: Record<string, unknown>): ConfigInput {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const int = (key: string, to: string, v: unknown, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min)
      problems.push(`${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    else out[to] = v;
  };
  for (const [key, v] of Object.entries(json)) {
    if (key === 'd_model' || key === 'n_layer')
      int(key, key === 'd_model' ? 'dModel' : 'nLayer', v);
    else if (key === 'n_classes') int(key, 'nClasses', v, 0);
    else if (key === 'patch_size') int(key, 'patchSize', v);
    else if (key === 'image_size') int(key, 'imageSize', v);
    else if (key === 'norm_epsilon') {
      if (!isNum(v) || v <= 0) problems.push(`norm_epsilon must be > 0, got ${JSON.stringify(v)}`);
      else out['normEps'] = v;
    } else if (key === 'pool') {
      if (v !== 'cls' && v !== 'avg')
        problems.push(
          `pool must be 'cls' or 'avg' (the official choices), got ${JSON.stringify(v)}`,
        );
      else out['pool'] = v;
    } else if (key === 'ssm_cfg') {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) problems.push('ssm_cfg must be an object');
      else mapSsm(v as Record<string, unknown>, out, problems);
    } else if (key in NO_EFFECT) continue;
    else if (key in DEFAULT_ONLY) {
      const d = DEFAULT_ONLY[key]!;
      if (!d.ok(v)) problems.push(`${key}=${JSON.stringify(v)} ${d.why}`);
    } else problems.push(`${key} is not a MatMamba2VisionConfig field matsearch knows`);
  }
  for (const k of ['d_model', 'n_layer']) if (!(k in json)) problems.push(`${k} is required`);
  // MatMamba2 sets headdim = d_model // 32 (integer division), whatever ssm_cfg says.
  if (isPosInt(out['dModel'])) {
    const headDim = Math.floor((out['dModel'] as number) / 32);
    if (headDim === 0)
      problems.push(
        `d_model ${out['dModel']} is under 32: the official headdim d_model // 32 is 0`,
      );
    else out['headDim'] = headDim;
  }
  if (problems.length > 0)
    throw new ValidationError(`unsupported official config: ${problems.join('; ')}`);
  return out as unknown as ConfigInput;
}

function mapSsm(ssm: Record<string, unknown>, out: Record<string, unknown>, problems: string[]) {
  const mapped: Record<string, string> = {
    d_state: 'dState',
    d_conv: 'dConv',
    chunk_size: 'chunkSize',
  };
  for (const [key, v] of Object.entries(ssm)) {
    const name = `ssm_cfg.${key}`;
    if (key in mapped) {
      if (!isPosInt(v))
        problems.push(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
      else out[mapped[key]!] = v;
    } else if (key === 'expand') {
      if (!isNum(v) || v <= 0) problems.push(`${name} must be > 0, got ${JSON.stringify(v)}`);
      else out['expand'] = v;
    } else if (key === 'd_ssm') {
      // None means d_ssm = d_inner; a smaller one splits off a gated MLP we do not implement.
      if (v !== null)
        problems.push(
          `${name}=${JSON.stringify(v)} (an SSM on part of the inner width) is not implemented; leave it null`,
        );
    } else if (key in SSM_NO_EFFECT) continue;
    else if (key in SSM_DEFAULT_ONLY) {
      const d = SSM_DEFAULT_ONLY[key]!;
      if (!d.ok(v)) problems.push(`${name}=${JSON.stringify(v)} ${d.why}`);
    } else problems.push(`${name} is not a MatMamba2 argument matsearch knows`);
  }
}
