/**
 * The names of a model's classes: the `labels` list (or a Hugging Face style `id2label` map) of
 * its config.json when it has one, else the ImageNet-1k names for a 1000-class head (the official
 * checkpoints), else none (classes are shown by index). Imports no tfjs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import IMAGENET from './imagenet-labels.json' with { type: 'json' };
import { CONFIG_FILE } from './model-dir.js';

/** The 1000 ImageNet-1k class names in class-index order (scripts/imagenet-labels.py). */
export const IMAGENET_LABELS: readonly string[] = Object.freeze(IMAGENET);

/** Class names from a parsed config.json; `where` names it in errors. */
export function classLabels(
  json: unknown,
  nClasses: number,
  where = CONFIG_FILE,
): readonly string[] | null {
  if (nClasses === 0) return null;
  const obj = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const own = obj['labels'] ?? id2label(obj['id2label'], nClasses, where);
  if (own !== undefined) {
    if (!Array.isArray(own) || own.length !== nClasses || !own.every((l) => typeof l === 'string'))
      throw new ValidationError(
        `${where}: labels must be a list of ${nClasses} names (one per class), ` +
          `got ${Array.isArray(own) ? `${own.length} entries` : typeof own}`,
      );
    return own as string[];
  }
  return nClasses === IMAGENET_LABELS.length ? IMAGENET_LABELS : null;
}

/** `{"0": "tench", ...}` as a list, or undefined when absent. */
function id2label(map: unknown, n: number, where: string): string[] | undefined {
  if (map === undefined) return undefined;
  const m = (map && typeof map === 'object' ? map : {}) as Record<string, unknown>;
  const out = Array.from({ length: n }, (_, i) => m[String(i)]);
  if (Object.keys(m).length !== n || !out.every((l) => typeof l === 'string'))
    throw new ValidationError(
      `${where}: id2label must name each of the ${n} classes "0".."${n - 1}"`,
    );
  return out as string[];
}

/** The class names of a saved model folder. */
export function readClassLabels(dir: string, nClasses: number): readonly string[] | null {
  const path = join(dir, CONFIG_FILE);
  return classLabels(JSON.parse(readFileSync(path, 'utf8')), nClasses, path);
}
