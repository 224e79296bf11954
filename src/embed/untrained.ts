/**
 * A stand-in for the default model while it is not shipped yet: the `tiny` encoder shaped for the
 * emoji input (64 px RGB, 16 px patches, as `configFor` trains it), with seeded random weights.
 * It runs every code path (nested widths, search, the UI), but its rankings mean nothing.
 * Its name says so: clients can tell from the model id (`emoji-tiny-untrained@...`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../model/backend.js';
import { presetConfig } from '../model/config.js';
import { MatMambaVision } from '../model/vision.js';
import { CONFIG_FILE, WEIGHTS_FILE, saveModel } from '../model/weights.js';

export const UNTRAINED_MODEL_NAME = 'emoji-tiny-untrained';

/** True for the id of a model made by `writeUntrainedModel`. */
export const isUntrainedModelId = (modelId: string) =>
  modelId.startsWith(`${UNTRAINED_MODEL_NAME}@`);

/**
 * Writes the untrained emoji-shaped `tiny` model into `dir` unless it is already there, and
 * returns `dir`. The weights are seeded, so every machine makes the same model (and model id).
 */
export async function writeUntrainedModel(dir: string, seed = 0): Promise<string> {
  if (existsSync(join(dir, CONFIG_FILE)) && existsSync(join(dir, WEIGHTS_FILE))) return dir;
  await initBackend({ purpose: 'inference' }); // before the first tensor
  const config = presetConfig('tiny', { imageSize: 64, patchSize: 16, inChans: 3, nClasses: 0 });
  const model = MatMambaVision.create(config, seed);
  try {
    saveModel(model, dir, {
      name: UNTRAINED_MODEL_NAME,
      extra: { note: 'random initialisation: a placeholder until models/emoji-tiny ships' },
    });
  } finally {
    model.dispose();
  }
  return dir;
}
