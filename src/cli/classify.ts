/**
 * `matsearch classify`: the model's own classes for image files, from its head (the official
 * ImageNet checkpoints name the 1000 ImageNet-1k classes). No library is opened or needed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { classifyInputs, checkCanClassify, type Classification } from '../classify/classify.js';
import type { Embedder } from '../embed/embedder.js';
import { queryDecodeOptions } from '../embed/input-options.js';
import { openEmbedder, resolveModelDir } from '../embed/open.js';
import { MatsearchError, ValidationError } from '../errors.js';
import type { Precision } from '../runtime/quantize.js';
import type { Command } from './main.js';
import { checkTrainedWidth, num, strictFlag } from './library-cli.js';

/** Images decoded and classified together: enough to fill the encoder's workers. */
const BATCH = 16;

type Outcome = { image: string } & (
  { result: Classification } | { error: { code: string; message: string } }
);

export const classifyCommand: Command = {
  summary: "the model's classes for image files, with probabilities (needs a classifier head)",
  usage:
    '<image...> [--model DIR] [--width 1|1/2|1/4|1/8|SPEC] [--top N] [--precision fp32|int8] ' +
    '[--json] [--strict]\n\n' +
    'Prints the --top (default 5) classes of each image, most probable first (softmax of the\n' +
    "head's logits). A 1000-class model is labelled with the ImageNet-1k names unless its\n" +
    "config.json carries its own 'labels'; other models without labels print class indices.\n" +
    'With --json each image writes one line: {"image": PATH, "width", "model_id", "classes"}\n' +
    'or {"image": PATH, "error": {...}}. A width the model was not trained at warns; --strict\n' +
    'refuses it.',
  options: {
    model: { type: 'string', short: 'm' },
    width: { type: 'string', short: 'w' },
    top: { type: 'string', short: 'k' },
    precision: { type: 'string' },
    json: { type: 'boolean', default: false },
    ...strictFlag,
  },
  async run(v, files) {
    if (files.length === 0) throw new ValidationError('give the image file(s) to classify');
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) throw new ValidationError(`no such file: ${missing.join(', ')}`);
    const top = num(v['top'], 'top') ?? 5;
    if (!Number.isInteger(top) || top < 1)
      throw new ValidationError(`--top must be a whole number >= 1, got ${top}`);
    const width = (v['width'] as string | undefined) ?? 1;
    checkTrainedWidth(v, width);
    const dir = resolveModelDir(v['model'] as string | undefined);
    const precision = v['precision'] as Precision | undefined;
    const embedder = await openEmbedder(dir, undefined, precision ? { precision } : {});
    let failed = 0;
    try {
      checkCanClassify(embedder);
      embedder.widthLabel(width); // a bad width fails before any decode
      for (let s = 0; s < files.length; s += BATCH) {
        for (const out of await classifyBatch(embedder, files.slice(s, s + BATCH), width, top)) {
          if ('error' in out) failed++;
          print(out, Boolean(v['json']));
        }
      }
    } finally {
      await embedder.close();
    }
    if (failed > 0) throw new ValidationError(`${failed} of ${files.length} images failed`);
  },
};

/** Decodes a batch (a file that cannot be decoded becomes its outcome) and classifies the rest. */
async function classifyBatch(
  embedder: Embedder,
  files: string[],
  width: string | number,
  top: number,
): Promise<Outcome[]> {
  const opts = queryDecodeOptions(embedder);
  const { decodeInput } = await import('../../ingest/decode.js');
  const decoded = await Promise.all(
    files.map(async (image): Promise<{ image: string; input: Float32Array } | Outcome> => {
      try {
        return { image, input: await decodeInput(await readFile(image), opts) };
      } catch (err) {
        if (!(err instanceof MatsearchError) || files.length === 1) throw err;
        return { image, error: { code: err.code, message: err.message } };
      }
    }),
  );
  const inputs = decoded.flatMap((d) => ('input' in d ? [d.input] : []));
  const results = await classifyInputs(embedder, inputs, { width, top });
  let i = 0;
  return decoded.map((d) => ('input' in d ? { image: d.image, result: results[i++]! } : d));
}

function print(o: Outcome, json: boolean): void {
  if (json) {
    const body =
      'result' in o
        ? { width: o.result.width, model_id: o.result.modelId, classes: o.result.classes }
        : { error: o.error };
    console.log(JSON.stringify({ image: o.image, ...body }));
    return;
  }
  if ('error' in o) {
    console.error(`${o.image}: ${o.error.message}`);
    return;
  }
  console.log(`${o.image}: width ${o.result.width}, ${o.result.modelId}`);
  for (const c of o.result.classes)
    console.log(
      `${(100 * c.probability).toFixed(2).padStart(7)}%  ${c.label ?? `class ${c.index}`}` +
        (c.label ? `  [${c.index}]` : ''),
    );
}
