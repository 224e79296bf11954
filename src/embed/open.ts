/** Picks the encoder for a model directory: the fast runtime when available, tfjs otherwise. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../errors.js';
import { CONFIG_FILE } from '../model/model-dir.js';
import type { Embedder } from './embedder.js';
import { OrtEmbedder } from '../runtime/ort-embedder.js';
import type { Precision } from '../runtime/quantize.js';

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
 * tfjs is imported only when needed (a cached ONNX export needs none of it).
 */
export async function openEmbedder(
  modelDir: string,
  runtime?: RuntimeName,
  opts: { precision?: Precision } = {},
): Promise<Embedder> {
  const want = runtime ?? ((process.env['MATSEARCH_RUNTIME'] as RuntimeName | undefined) || 'onnx');
  const int8 = (opts.precision ?? 'fp32') !== 'fp32';
  if (int8 && want !== 'onnx')
    throw new ValidationError(`precision ${opts.precision} needs the onnx runtime, not ${want}`);
  if (want === 'onnx') {
    try {
      return await OrtEmbedder.load(modelDir, opts);
    } catch (err) {
      if (int8 || err instanceof ValidationError) throw err; // tfjs has no int8 to fall back on
      process.stderr.write(
        `onnxruntime unavailable (${(err as Error).message.split('\n')[0]}); using tfjs\n`,
      );
    }
  }
  return openTfjsEmbedder(modelDir);
}

/** The in-process tfjs reference over a model directory (imports tfjs). */
export async function openTfjsEmbedder(modelDir: string): Promise<Embedder> {
  const { initBackend } = await import('../model/backend.js');
  await initBackend({ purpose: 'inference' }); // before the first tensor
  const { loadModel } = await import('../model/weights.js');
  const { TfjsEmbedder } = await import('./tfjs-embedder.js');
  const { readClassLabels } = await import('../model/class-labels.js');
  const { model, modelId, preprocess } = loadModel(modelDir);
  return TfjsEmbedder.create(
    model,
    modelId,
    preprocess,
    readClassLabels(modelDir, model.config.nClasses),
  );
}
