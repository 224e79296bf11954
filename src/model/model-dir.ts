/**
 * What a model directory says about itself without building the model: its config, name and
 * weights hash. Imports no tfjs, so a process whose ONNX export is cached never loads it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, ValidationError, WeightsFormatError } from '../errors.js';
import { parseConfig, type MatMambaVisionConfig } from './config.js';
import { parsePreprocess, type PreprocessSpec } from './preprocess-spec.js';
import { readSafetensorsMetadata } from './safetensors.js';
import { defaultCacheDir } from '../util/cache-dir.js';
import { fileSha256, weightsSha256Cached } from './weights-hash.js';
import { viewsTag } from './views.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

export interface ModelDirInfo {
  readonly config: MatMambaVisionConfig;
  readonly name: string;
  /** sha256 (hex) of the weights file. */
  readonly weightsSha256: string;
  /** `${name}@${first 12 hex of weightsSha256}`: changes whenever the weights do. */
  readonly modelId: string;
  readonly configPath: string;
  readonly weightsPath: string;
  /** Its preprocessing (config.json `preprocess`; absent: DEFAULT_PREPROCESS). */
  readonly preprocess: PreprocessSpec;
}

/** sha256 (hex) of a weights file, read now: what a model id and the export cache key are made from. */
export const weightsSha256 = fileSha256;

/** A model's id: its name and the first 12 hex digits of its weights' sha256. */
export const modelIdOf = (name: string, sha256: string): string => `${name}@${sha256.slice(0, 12)}`;

/**
 * Reads and checks config.json and the weights' hash (recorded in `hashCache`, default the user's
 * cache folder, while the file is unchanged: weights-hash.ts); no tensor is parsed.
 */
export function readModelDir(dir: string, o: { hashCache?: string | false } = {}): ModelDirInfo {
  const configPath = join(dir, CONFIG_FILE);
  const weightsPath = join(dir, WEIGHTS_FILE);
  for (const p of [configPath, weightsPath]) {
    if (!existsSync(p)) throw new NotFoundError(`model file not found: ${p}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new WeightsFormatError(`${configPath}: not valid JSON`, { cause: err });
  }
  let config: MatMambaVisionConfig;
  try {
    config = parseConfig(json);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`${configPath}: ${err.message}`);
    throw err;
  }
  let preprocess: PreprocessSpec;
  try {
    preprocess = parsePreprocess((json as Record<string, unknown>)['preprocess']);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`${configPath}: ${err.message}`);
    throw err;
  }
  const sha = weightsSha256Cached(weightsPath, o.hashCache ?? defaultCacheDir());
  const obj = json as Record<string, unknown>;
  const meta = readSafetensorsMetadata(weightsPath);
  // The model id hashes the weights file only: a config whose view pooling (views.ts) the file
  // does not record would give other vectors under the same id.
  const views = config.views ? viewsTag(config.views) : undefined;
  if (meta['views'] !== views)
    throw new ValidationError(
      `${configPath}: views ${views ?? 'none'} but ${weightsPath} was saved with ` +
        `${meta['views'] ?? 'none'}; save the model again (matsearch model whiten or train) ` +
        'rather than editing config.json',
    );
  // A converted checkpoint may name itself only in the weights' metadata.
  const name = typeof obj['name'] === 'string' ? obj['name'] : (meta['name'] ?? 'unnamed');
  return {
    config,
    name,
    weightsSha256: sha,
    modelId: modelIdOf(name, sha),
    configPath,
    weightsPath,
    preprocess,
  };
}

/** What config.json records beside the model config. */
export interface ModelConfigFields {
  readonly name: string;
  readonly modelId: string;
  readonly trainedWidths?: readonly string[];
  /** Any further top-level fields (an import's source, its preprocessing). */
  readonly [key: string]: unknown;
}

/** Writes `dir/config.json` atomically (a temp file renamed into place). */
export function writeModelConfig(
  dir: string,
  config: MatMambaVisionConfig,
  fields: ModelConfigFields,
): void {
  const json = { format: 'matsearch/matmamba-vision', version: 1, ...fields, model: config };
  const tmp = join(dir, `${CONFIG_FILE}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(json, null, 2) + '\n');
  renameSync(tmp, join(dir, CONFIG_FILE));
}
