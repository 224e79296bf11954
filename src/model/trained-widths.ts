/**
 * The widths a model was trained at. The trainer records them in config.json (`trainedWidths`);
 * an older model's are inferred from its training `levels` metadata; a model with neither (a
 * converted checkpoint) has unknown trained widths, and nothing is refused for it. A width the
 * model was never trained at runs, but badly (a 1/4-only model at 1/8: 5% recall@1), so the CLI
 * warns, or with --strict refuses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type MatMambaVisionConfig } from './config.js';
import { CONFIG_FILE, WEIGHTS_FILE } from './model-dir.js';
import { readSafetensorsMetadata } from './safetensors.js';
import { resolveWidths, widthLabel, type WidthSpec } from './widths.js';

/** The trained width labels of the model in `dir` ('1', '1/4', ...), or null when unknown. */
export function readTrainedWidths(dir: string): string[] | null {
  const json = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const recorded = json['trainedWidths'];
  if (Array.isArray(recorded) && recorded.every((w) => typeof w === 'string')) return recorded;
  // Older models: the trainer wrote only its levels, into the weights' metadata.
  const levels = readSafetensorsMetadata(join(dir, WEIGHTS_FILE))['levels'];
  return levels ? levels.split(',').map((w) => w.trim()) : null;
}

/**
 * Whether `spec` runs only trained widths: each layer's width is one the model was trained at
 * (so a Mix'n'Match of trained widths counts); null when the trained widths are unknown.
 */
export function isTrained(
  cfg: MatMambaVisionConfig,
  trained: readonly string[] | null,
  spec: WidthSpec,
): boolean | null {
  if (trained === null) return null;
  const dims = new Set(trained.flatMap((w) => resolveWidths(cfg, w)));
  return resolveWidths(cfg, spec).every((d) => dims.has(d));
}

/**
 * The message for running the model in `dir` at an untrained width (a warning, or with --strict
 * the error), or null when the width is trained or the trained widths are unknown.
 */
export function untrainedWidthMessage(dir: string, spec: WidthSpec): string | null {
  const json = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const cfg = parseConfig(json);
  const trained = readTrainedWidths(dir);
  if (isTrained(cfg, trained, spec) !== false) return null;
  const name = typeof json['name'] === 'string' ? json['name'] : dir;
  const label = widthLabel(cfg, resolveWidths(cfg, spec));
  return (
    `width ${label} was not trained for ${name} (trained widths: ${trained!.join(', ')}), ` +
    `so its results are poor; use --width ${trained![0]}`
  );
}
