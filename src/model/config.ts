/**
 * MatMamba-Vision configuration: the interface, its defaults and the named presets.
 *
 * Field names follow the Mamba2 / MatMamba references (d_model -> dModel, d_state -> dState ...).
 * A config read from JSON passes `parseConfig`, which accepts both our camelCase file and the
 * official snake_case MatMamba2VisionConfig (official-config.ts maps or refuses each field).
 */
import { ValidationError } from '../errors.js';
import { mapOfficialConfig } from './official-config.js';
import type { ViewSpec } from './views.js';

export interface MatMambaVisionConfig {
  /** Residual-stream width D. Never nested: every submodel emits D-wide features. */
  readonly dModel: number;
  /** Number of Mamba2 blocks. */
  readonly nLayer: number;
  /** SSM state size N (B and C width). Never nested. Official: 128. */
  readonly dState: number;
  /** Causal depthwise conv kernel size. Official: 4. */
  readonly dConv: number;
  /** Inner width E = expand * dModel at full width. Official: 2. */
  readonly expand: number;
  /** Channels per head P. The official code forces dModel / 32, i.e. 64 heads at full width. */
  readonly headDim: number;
  /** SSD chunk length. Official: 256, longer than the 197 tokens of a 224 px image. */
  readonly chunkSize: number;
  /** Square patch side in pixels. */
  readonly patchSize: number;
  /** Square input side in pixels; must be a multiple of patchSize. */
  readonly imageSize: number;
  /** Input channels (3 for RGB). */
  readonly inChans: number;
  /** Classifier outputs; 0 builds no head (features only). */
  readonly nClasses: number;
  /** Epsilon of every LayerNorm and of the gated RMSNorm. */
  readonly normEps: number;
  /**
   * Features after the final LayerNorm: 'cls' takes the CLS suffix token (the official default
   * and all our models); 'avg' the mean of the patch tokens, CLS left out (the official 'avg').
   */
  readonly pool: 'cls' | 'avg';
  /**
   * A learned whitening after the features (model/whitening.ts): the embedding is
   * unit(whiten.weight · unit(features) + whiten.bias). Absent or false: unit(features). It is
   * learnt after training (`matsearch model whiten`), never trained by gradient.
   */
  readonly whiten?: boolean;
  /**
   * Query widths (uniform labels such as '1/4') with a width adapter: a [D, D] map, fitted in
   * closed form after training (whitening.ts fitAdapter), that takes a unit feature of that width
   * towards the full width's, before the whitening. Other widths (Mix'n'Match) use none.
   */
  readonly adapters?: readonly string[];
  /**
   * View pooling (views.ts): the embedding is the mean of the unit features of the image's
   * quarter turns (`turns` 2 or 4), mirror images (`mirror`) and greyscale copies of those
   * (`grey`), so turned and mirrored copies embed exactly alike; it costs one encoder pass per
   * view. Absent: one view. Embedding models only (no head); the weights record it (model-dir.ts).
   */
  readonly views?: ViewSpec;
}

/** The fields a caller may leave out; `headDim` defaults to dModel / 32 as in the official code. */
export type ConfigInput = Partial<MatMambaVisionConfig> &
  Pick<MatMambaVisionConfig, 'dModel' | 'nLayer'>;

const DEFAULTS = {
  dState: 128,
  dConv: 4,
  expand: 2,
  chunkSize: 256,
  patchSize: 16,
  imageSize: 224,
  inChans: 3,
  nClasses: 1000,
  normEps: 1e-5,
  pool: 'cls',
} as const;

/** Named presets. `35M` and `135M` are the official ImageNet models; `tiny` trains on 2 CPU cores. */
export const PRESETS: Readonly<Record<string, ConfigInput>> = {
  // 32 px input, 4 px patches -> 64 tokens + CLS; small enough for CPU training on tfjs-wasm.
  // headDim 16 (16 heads, not the official 64): on wasm the per-head decay mask costs
  // O(heads · L²) elementwise work, and 64 heads of 4 channels made a training step 1.6x slower
  // (measured 3.8 s vs 2.3 s per 32-image full-width step). Widths step in 1/16 of d_model.
  tiny: {
    dModel: 128,
    nLayer: 6,
    dState: 32,
    headDim: 16,
    patchSize: 4,
    imageSize: 32,
    nClasses: 10,
    chunkSize: 256,
  },
  '35M': { dModel: 512, nLayer: 20 },
  '135M': { dModel: 1024, nLayer: 20 },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** Fills defaults and checks every structural constraint. Throws ValidationError with the field. */
export function makeConfig(input: ConfigInput): MatMambaVisionConfig {
  const cfg: MatMambaVisionConfig = {
    ...DEFAULTS,
    headDim: input.headDim ?? input.dModel / 32,
    ...input,
  };
  validateConfig(cfg);
  return Object.freeze(cfg);
}

/** A preset by name, with optional overrides (e.g. a different imageSize or nClasses). */
export function presetConfig(name: string, overrides: Partial<MatMambaVisionConfig> = {}) {
  const base = PRESETS[name];
  if (!base) {
    throw new ValidationError(
      `unknown model config '${name}'; choose one of: ${presetNames().join(', ')}`,
    );
  }
  return makeConfig({ ...base, ...overrides });
}

function validateConfig(c: MatMambaVisionConfig): void {
  const positiveInt: Exclude<
    keyof MatMambaVisionConfig,
    'pool' | 'whiten' | 'adapters' | 'views'
  >[] = [
    'dModel',
    'nLayer',
    'dState',
    'dConv',
    'headDim',
    'chunkSize',
    'patchSize',
    'imageSize',
    'inChans',
  ];
  for (const k of positiveInt) {
    const v = c[k];
    if (!Number.isInteger(v) || v <= 0) {
      throw new ValidationError(`config.${k} must be a positive integer, got ${v}`);
    }
  }
  if (!Number.isInteger(c.nClasses) || c.nClasses < 0) {
    throw new ValidationError(`config.nClasses must be an integer >= 0, got ${c.nClasses}`);
  }
  if (!(c.expand > 0)) throw new ValidationError(`config.expand must be > 0, got ${c.expand}`);
  if (!(c.normEps > 0)) throw new ValidationError(`config.normEps must be > 0, got ${c.normEps}`);
  if (c.pool !== 'cls' && c.pool !== 'avg')
    throw new ValidationError(`config.pool must be 'cls' or 'avg', got ${String(c.pool)}`);
  if (c.whiten !== undefined && typeof c.whiten !== 'boolean')
    throw new ValidationError(`config.whiten must be true or false, got ${String(c.whiten)}`);
  if (
    c.adapters !== undefined &&
    (!Array.isArray(c.adapters) ||
      c.adapters.some((a) => typeof a !== 'string' || !/^1\/\d+$/.test(a)))
  )
    throw new ValidationError(
      `config.adapters must list narrow widths such as "1/4", got ${JSON.stringify(c.adapters)}`,
    );
  if (c.views !== undefined) {
    if (!fits('views', c.views))
      throw new ValidationError(
        `config.views must be ${KIND_TEXT.views}, got ${JSON.stringify(c.views)}`,
      );
    if (c.views.grey && c.inChans !== 3)
      throw new ValidationError('config.views.grey needs RGB input (inChans 3)');
    const share = c.views.greyShare;
    if (share !== undefined && !(c.views.grey && share > 0 && share < 1))
      throw new ValidationError(
        `config.views.greyShare must be between 0 and 1 (exclusive) with grey: true, got ${share}`,
      );
    if (c.nClasses > 0)
      throw new ValidationError(
        'config.views pools embeddings; a model with a classifier head (nClasses > 0) takes one view',
      );
  }
  const dInner = c.expand * c.dModel;
  if (!Number.isInteger(dInner)) {
    throw new ValidationError(`expand * dModel must be an integer, got ${dInner}`);
  }
  if (dInner % c.headDim !== 0) {
    throw new ValidationError(
      `inner width ${dInner} (expand * dModel) is not a multiple of headDim ${c.headDim}`,
    );
  }
  if (c.imageSize % c.patchSize !== 0) {
    throw new ValidationError(
      `imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`,
    );
  }
}

/** Derived sizes used across the model. */
export function dims(c: MatMambaVisionConfig) {
  const dInner = c.expand * c.dModel; // E
  const nHeads = dInner / c.headDim; // H
  const gridSize = c.imageSize / c.patchSize;
  const nPatches = gridSize * gridSize;
  return {
    dInner,
    nHeads,
    gridSize,
    nPatches,
    /** Tokens per image: patches plus the CLS suffix. */
    seqLen: nPatches + 1,
    /** Channels the depthwise conv sees: x, B and C. */
    convDim: dInner + 2 * c.dState,
    /** Rows of in_proj: [z, x, B, C, dt]. */
    inProjDim: 2 * dInner + 2 * c.dState + nHeads,
  };
}

// ---- JSON (de)serialisation ----------------------------------------------------------------

/**
 * The JSON form's field checks. Hand-written rather than zod: config.json is read on every
 * process start, and loading zod alone cost a one-query `matsearch search` ~0.15 s of CPU.
 */
type FieldKind = 'posInt' | 'positive' | 'nonNegInt' | 'pool' | 'bool' | 'widths' | 'views';
type Fields = Readonly<Record<string, readonly [FieldKind, 'required' | 'optional']>>;

const KIND_TEXT: Record<FieldKind, string> = {
  posInt: 'a positive integer',
  positive: 'a number > 0',
  nonNegInt: 'an integer >= 0',
  pool: "'cls' or 'avg'",
  bool: 'true or false',
  widths: 'a list of narrow widths such as ["1/4"]',
  views:
    '{ "turns": 1, 2 or 4, "mirror": true or false, "grey": true or false (optional), "greyShare": a number (optional) }',
};

function fits(kind: FieldKind, v: unknown): boolean {
  if (kind === 'pool') return v === 'cls' || v === 'avg';
  if (kind === 'bool') return typeof v === 'boolean';
  if (kind === 'views') {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    return (
      [1, 2, 4].includes(o['turns'] as number) &&
      typeof o['mirror'] === 'boolean' &&
      (o['grey'] === undefined || typeof o['grey'] === 'boolean') &&
      (o['greyShare'] === undefined || typeof o['greyShare'] === 'number') &&
      Object.keys(o).every((k) => ['turns', 'mirror', 'grey', 'greyShare'].includes(k))
    );
  }
  if (kind === 'widths')
    return Array.isArray(v) && v.every((a) => typeof a === 'string' && /^1\/\d+$/.test(a));
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  switch (kind) {
    case 'posInt':
      return Number.isInteger(v) && v > 0;
    case 'positive':
      return v > 0;
    case 'nonNegInt':
      return Number.isInteger(v) && v >= 0;
  }
}

/** Problems of `obj` against `fields` ('path: what is wrong'); unknown keys are ignored. */
function check(obj: unknown, fields: Fields, prefix = ''): string[] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    return [`${prefix || '(root)'}: expected an object`];
  const o = obj as Record<string, unknown>;
  const issues: string[] = [];
  for (const [key, [kind, need]] of Object.entries(fields)) {
    const v = o[key];
    if (v === undefined && need === 'optional') continue;
    if (!fits(kind, v))
      issues.push(`${prefix}${key}: expected ${KIND_TEXT[kind]}, got ${JSON.stringify(v)}`);
  }
  return issues;
}

const CAMEL: Fields = {
  dModel: ['posInt', 'required'],
  nLayer: ['posInt', 'required'],
  dState: ['posInt', 'optional'],
  dConv: ['posInt', 'optional'],
  expand: ['positive', 'optional'],
  headDim: ['posInt', 'optional'],
  chunkSize: ['posInt', 'optional'],
  patchSize: ['posInt', 'optional'],
  imageSize: ['posInt', 'optional'],
  inChans: ['posInt', 'optional'],
  nClasses: ['nonNegInt', 'optional'],
  normEps: ['positive', 'optional'],
  pool: ['pool', 'optional'],
  whiten: ['bool', 'optional'],
  adapters: ['widths', 'optional'],
  views: ['views', 'optional'],
};

/** Parses a config object read from JSON (ours or the official snake_case form). */
export function parseConfig(json: unknown): MatMambaVisionConfig {
  const inner =
    json && typeof json === 'object' && 'model' in json ? (json as { model: unknown }).model : json;
  // The official snake_case config (MatMamba2VisionConfig): mapped or refused field by field.
  if (inner && typeof inner === 'object' && 'd_model' in inner)
    return makeConfig(mapOfficialConfig(inner as Record<string, unknown>));
  const camel = check(inner, CAMEL);
  if (camel.length === 0) {
    const o = inner as Record<string, unknown>;
    const picked = Object.fromEntries(Object.keys(CAMEL).map((k) => [k, o[k]]));
    return makeConfig(stripUndefined(picked) as ConfigInput);
  }
  throw new ValidationError(`invalid model config: ${camel.join('; ')}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
