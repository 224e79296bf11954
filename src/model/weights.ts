/**
 * Saving and loading a model: a directory holding `config.json` and `model.safetensors`, the
 * tensors under the official MatMamba2Vision state_dict names, so a converted official checkpoint
 * (with its snake_case config) loads without renaming.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ShapeError } from '../errors.js';
import type { MatMambaVisionConfig } from './config.js';
import {
  modelIdOf,
  readModelDir,
  weightsSha256,
  writeModelConfig,
  WEIGHTS_FILE,
} from './model-dir.js';
import { paramShapes } from './params.js';
import type { PreprocessSpec } from './preprocess-spec.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { viewsTag } from './views.js';
import { MatMambaVision } from './vision.js';

export { CONFIG_FILE, WEIGHTS_FILE } from './model-dir.js';

export interface ModelMeta {
  /** Human name, e.g. "emoji-tiny". */
  readonly name: string;
  /** Free-form facts to keep with the weights (data set, steps, ...). */
  readonly extra?: Record<string, string>;
  /** The widths it was trained at ('1', '1/4', ...): config.json's `trainedWidths`. */
  readonly trainedWidths?: readonly string[];
}

export interface LoadedModel {
  readonly model: MatMambaVision;
  /** `${name}@${first 12 hex of the weights' sha256}`: changes whenever the weights do. */
  readonly modelId: string;
  readonly name: string;
  readonly metadata: Record<string, string>;
  /** How the model wants images prepared (config.json `preprocess`). */
  readonly preprocess: PreprocessSpec;
}

/** Writes config.json and model.safetensors into `dir` (created if needed). Returns the model id. */
export function saveModel(model: MatMambaVision, dir: string, meta: ModelMeta): string {
  return saveWeights(dir, model.config, model.toArrays(), meta);
}

/** The same from plain named arrays (the trainer keeps its weights outside tfjs). */
export function saveWeights(
  dir: string,
  config: MatMambaVisionConfig,
  arrays: ReadonlyMap<string, Float32Array>,
  meta: ModelMeta,
): string {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of paramShapes(config)) {
    const data = arrays.get(name);
    if (!data) throw new ShapeError(`cannot save: missing tensor '${name}'`);
    tensors.set(name, { shape, data });
  }
  const weightsPath = join(dir, WEIGHTS_FILE);
  writeSafetensors(weightsPath, tensors, {
    format: 'pt',
    name: meta.name,
    ...meta.extra,
    // Recorded in the hashed file, so that the model id tells pooled and unpooled models apart.
    ...(config.views ? { views: viewsTag(config.views) } : {}),
  });
  const modelId = modelIdOf(meta.name, weightsSha256(weightsPath));
  writeModelConfig(dir, config, {
    name: meta.name,
    modelId,
    ...(meta.trainedWidths ? { trainedWidths: [...meta.trainedWidths] } : {}),
  });
  return modelId;
}

/** Loads a model directory; refuses missing, extra or misshapen tensors by name. */
export function loadModel(dir: string): LoadedModel {
  const info = readModelDir(dir);
  const { config, weightsPath } = info;
  const file = readSafetensors(weightsPath);
  const expected = paramShapes(config);
  const arrays = new Map<string, Float32Array>();
  for (const [name, shape] of expected) {
    const t = file.tensors.get(name);
    if (!t)
      throw new ShapeError(`${weightsPath}: missing tensor '${name}' (expected shape [${shape}])`);
    if (t.info.shape.length !== shape.length || t.info.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(
        `${weightsPath}: tensor '${name}' has shape [${t.info.shape}] but the config expects [${shape}]`,
      );
    }
    arrays.set(name, t.data);
  }
  const extra = [...file.tensors.keys()].filter((k) => !expected.has(k));
  if (extra.length > 0) {
    throw new ShapeError(
      `${weightsPath}: unexpected tensor(s) ${extra
        .slice(0, 5)
        .map((k) => `'${k}'`)
        .join(', ')}` +
        `${extra.length > 5 ? ` and ${extra.length - 5} more` : ''} not in this config`,
    );
  }
  return {
    model: MatMambaVision.fromArrays(config, arrays),
    modelId: info.modelId,
    name: info.name,
    metadata: file.metadata,
    preprocess: info.preprocess,
  };
}
