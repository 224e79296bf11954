/**
 * What a model directory says about itself without building the model: its config, name and
 * weights hash. Imports no tfjs, so a process whose ONNX export is cached never loads it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, ValidationError, WeightsFormatError } from '../errors.js';
import { parseConfig, type MatMambaVisionConfig } from './config.js';
import { readSafetensorsMetadata } from './safetensors.js';
import { defaultCacheDir } from '../util/cache-dir.js';
import { fileSha256, weightsSha256Cached } from './weights-hash.js';

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
  const sha = weightsSha256Cached(weightsPath, o.hashCache ?? defaultCacheDir());
  const obj = json as Record<string, unknown>;
  // A converted checkpoint may name itself only in the weights' metadata (parsed only then).
  const name =
    typeof obj['name'] === 'string'
      ? obj['name']
      : (readSafetensorsMetadata(weightsPath)['name'] ?? 'unnamed');
  return {
    config,
    name,
    weightsSha256: sha,
    modelId: modelIdOf(name, sha),
    configPath,
    weightsPath,
  };
}
