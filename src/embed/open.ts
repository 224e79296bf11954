/** Picks the encoder for a model directory: the fast runtime when available, tfjs otherwise. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { NotFoundError } from '../errors.js';
import { loadModel, CONFIG_FILE } from '../model/weights.js';
import type { Embedder } from './embedder.js';
import { initBackend } from '../model/backend.js';
import { TfjsEmbedder } from './tfjs-embedder.js';
import { OrtEmbedder } from '../runtime/ort-embedder.js';

/**
 * The model shipped in the package, used when no --model is given: general-tiny, trained on the
 * general corpus for near-duplicate and copy detection on photos and drawings (its card:
 * docs/models/general-tiny.md). models/emoji-tiny stays for emoji-only libraries.
 */
export const DEFAULT_MODEL_DIR = fileURLToPath(
  new URL('../../../models/general-tiny', import.meta.url),
);

export function resolveModelDir(given?: string): string {
  const dir = given ?? process.env['MATSEARCH_MODEL'] ?? DEFAULT_MODEL_DIR;
  if (!existsSync(join(dir, CONFIG_FILE))) {
    throw new NotFoundError(
      given
        ? `no model in ${dir} (expected ${CONFIG_FILE} and model.safetensors)`
        : `the default model is missing from ${dir}; pass --model DIR (see 'matsearch train')`,
    );
  }
  return dir;
}

export type RuntimeName = 'onnx' | 'tfjs';

/**
 * The onnxruntime encoder (worker threads, ~8x faster than tfjs at batch 32) unless
 * MATSEARCH_RUNTIME=tfjs asks for the in-process tfjs reference, or onnxruntime cannot load.
 */
export async function openEmbedder(modelDir: string, runtime?: RuntimeName): Promise<Embedder> {
  await initBackend({ purpose: 'inference' }); // before the first tensor
  const want = runtime ?? ((process.env['MATSEARCH_RUNTIME'] as RuntimeName | undefined) || 'onnx');
  if (want === 'onnx') {
    try {
      return await OrtEmbedder.load(modelDir);
    } catch (err) {
      process.stderr.write(
        `onnxruntime unavailable (${(err as Error).message.split('\n')[0]}); using tfjs\n`,
      );
    }
  }
  const { model, modelId } = loadModel(modelDir);
  return TfjsEmbedder.create(model, modelId);
}
