/** `matsearch model whiten`: a trained model plus a learned whitening, as a new model folder. */
import type { Command } from './main.js';
import { ValidationError } from '../errors.js';
import { whitenModel } from '../model/whiten-model.js';
import { Progress } from '../util/progress.js';
import { modelOutDir } from './model-import.js';

function positive(v: unknown, what: string, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0)
    throw new ValidationError(
      `--${what} must be ${integer ? 'a whole number' : 'a number'} >= 0, got '${String(v)}'`,
    );
  return n;
}

export const modelWhitenCommand: Command = {
  summary: 'fit a learned whitening to a trained model (better copy detection), as a new model',
  usage:
    '--model DIR (--out DIR | --name N) [--images 10000] [--seed 1] [--grey 0.5] [--epsilon 0.01]\n\n' +
    '  Fits a linear map after the encoder, in closed form, on pairs made from the general\n' +
    "  corpus's training images (never the held-out ones): each image whole at full width\n" +
    '  against its training views, its flips and quarter turns, its colour and distortion\n' +
    '  changes, and itself at each narrower trained width. The new folder has the same weights\n' +
    '  plus the whitening, so a new model id: libraries embedded with the old one re-embed.\n' +
    '  --images N    training images sampled (default 10000)\n' +
    "  --grey R      greyscale rate of the views (the trainer's --grey; default 0.5)\n" +
    "  --epsilon E   ridge on the pairs' covariance, a fraction of its mean eigenvalue",
  options: {
    model: { type: 'string', short: 'm' },
    out: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
    images: { type: 'string' },
    seed: { type: 'string' },
    grey: { type: 'string' },
    epsilon: { type: 'string' },
  },
  async run(values) {
    const model = values['model'] as string | undefined;
    if (!model) throw new ValidationError('give the trained model: --model DIR');
    const out = values['out'] as string | undefined;
    const name = values['name'] as string | undefined;
    if (out === undefined && name === undefined)
      throw new ValidationError('say where the model goes: --out DIR or --name N (models/N)');
    const images = positive(values['images'], 'images', true);
    if (images !== undefined && images < 100)
      throw new ValidationError('--images: at least 100 images, to estimate a covariance');
    const grey = positive(values['grey'], 'grey', false);
    if (grey !== undefined && grey > 1) throw new ValidationError('--grey is a rate from 0 to 1');
    const seed = positive(values['seed'], 'seed', true);
    const epsilon = positive(values['epsilon'], 'epsilon', false);
    const started = Date.now();
    const bar: { p: Progress | null } = { p: null };
    const r = await whitenModel({
      modelDir: model,
      out: modelOutDir(out, name),
      ...(name !== undefined ? { name } : {}),
      ...(images !== undefined ? { images } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(grey !== undefined ? { grey } : {}),
      ...(epsilon !== undefined ? { epsilon } : {}),
      log(done, total) {
        bar.p ??= new Progress(total, 'images');
        bar.p.update(done, done, 'images');
      },
    });
    bar.p?.done();
    const pairs = Object.entries(r.counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    console.log(
      `whitened ${model} as ${r.modelId} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(pairs: ${pairs}; widths ${r.widths.join(' ')}); use it with --model ${modelOutDir(out, name)}`,
    );
  },
};
