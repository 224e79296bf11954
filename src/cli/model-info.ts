/** `matsearch model info`: sizes and compute of every nested submodel of a config or saved model. */
import type { Command } from './main.js';
import { presetConfig, presetNames, dims, type MatMambaVisionConfig } from '../model/config.js';
import { modelCost } from '../model/cost.js';
import { STANDARD_WIDTHS, resolveWidths, widthLabel } from '../model/nesting.js';
import { parseConfig } from '../model/config.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE } from '../model/weights.js';
import { ValidationError } from '../errors.js';
import { isTrained, readTrainedWidths } from '../model/trained-widths.js';
import { parsePreprocess, type PreprocessSpec } from '../model/preprocess-spec.js';

/** Two Mix'n'Match points between the standard widths: last half of the layers one step wider. */
export function defaultMixPoints(cfg: MatMambaVisionConfig): string[] {
  const half = Math.floor(cfg.nLayer / 2);
  const rest = cfg.nLayer - half;
  return [`1/8x${half},1/4x${rest}`, `1/2x${half},1x${rest}`];
}

/** `trainedWidths`: a saved model's (null: unknown, or a config that was never trained). */
export function modelInfo(
  cfg: MatMambaVisionConfig,
  specs: string[],
  trainedWidths: string[] | null = null,
) {
  const d = dims(cfg);
  return {
    config: cfg,
    derived: { dInner: d.dInner, nHeads: d.nHeads, tokens: d.seqLen },
    trainedWidths,
    widths: specs.map((spec) => {
      const layerDims = resolveWidths(cfg, spec);
      const { params, macs } = modelCost(cfg, spec);
      return {
        width: widthLabel(cfg, layerDims),
        innerWidths: layerDims.map((x) => x * cfg.expand),
        params,
        macs,
        gflops: (2 * macs) / 1e9,
        trained: isTrained(cfg, trainedWidths, spec),
      };
    }),
  };
}

export const modelInfoCommand: Command = {
  summary: 'parameters and MACs per image of each nested width',
  usage: '[--config tiny|35M|135M | --model DIR] [--width SPEC ...] [--json]',
  options: {
    config: { type: 'string', short: 'c' },
    model: { type: 'string', short: 'm' },
    width: { type: 'string', short: 'w', multiple: true },
    json: { type: 'boolean' },
  },
  async run(values) {
    let cfg: MatMambaVisionConfig;
    let trained: string[] | null = null;
    let preprocess: PreprocessSpec | null = null;
    const model = values['model'];
    if (typeof model === 'string') {
      const json = JSON.parse(readFileSync(join(model, CONFIG_FILE), 'utf8')) as Record<
        string,
        unknown
      >;
      cfg = parseConfig(json);
      trained = readTrainedWidths(model);
      preprocess = parsePreprocess(json['preprocess']);
    } else if (typeof values['config'] === 'string') {
      cfg = presetConfig(values['config']);
    } else {
      throw new ValidationError(`give --config (${presetNames().join(', ')}) or --model DIR`);
    }
    const specs = (values['width'] as string[] | undefined) ?? [
      ...STANDARD_WIDTHS,
      ...defaultMixPoints(cfg),
    ];
    const info = modelInfo(cfg, specs, trained);
    if (values['json']) {
      console.log(JSON.stringify(snakeKeys(info), null, 2));
      return;
    }
    const c = info.config;
    console.log(
      `MatMamba-Vision d_model ${c.dModel}, ${c.nLayer} layers, d_state ${c.dState}, ` +
        `${info.derived.nHeads} heads of ${c.headDim}, ${c.imageSize} px / patch ${c.patchSize} ` +
        `(${info.derived.tokens} tokens), ${c.nClasses} classes`,
    );
    if (typeof model === 'string')
      console.log(`trained widths: ${trained ? trained.join(', ') : 'unknown'}`);
    if (preprocess) console.log(`preprocess: ${describePreprocess(preprocess, c.imageSize)}`);
    if (c.whiten || c.adapters?.length)
      console.log(
        'embedding: features' +
          (c.adapters?.length ? `, width adapters at ${c.adapters.join(', ')}` : '') +
          (c.whiten ? ', a learned whitening' : '') +
          ' (matsearch model whiten), unit length',
      );
    const rows = info.widths.map((w) => [
      w.width,
      `${(w.params / 1e6).toFixed(2)} M`,
      `${(w.macs / 1e9).toFixed(3)} G`,
    ]);
    const head = ['width', 'params', 'MACs/image'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  },
};

/** One line on how images are prepared for the model (its config.json `preprocess`). */
function describePreprocess(p: PreprocessSpec, size: number): string {
  return p.mode === 'crop-resize'
    ? `centre crop ${p.cropRatio} of the short side, area resize to ${size} px`
    : `short side resized to ${size} px${p.cropRatio < 1 ? ` / ${p.cropRatio}` : ''}, centre ${size} px kept`;
}

/**
 * The JSON output in the wire formats' spelling (snake_case, like the API's and every other
 * command's --json): dModel -> d_model, trainedWidths -> trained_widths, at every depth.
 */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      snakeKeys(x),
    ]),
  );
}
