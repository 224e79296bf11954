/** `matsearch model whiten`: a trained model plus a learned whitening, as a new model folder. */
import type { Command } from './main.js';
import { ValidationError } from '../errors.js';
import { whitenModel } from '../model/whiten-model.js';
import { Progress } from '../util/progress.js';
import { modelOutDir } from './model-import.js';
import { intOption, numberOption } from './options.js';
import { parseViewsName, VIEW_NAMES } from '../model/views.js';

export const modelWhitenCommand: Command = {
  summary: 'fit width adapters and a learned whitening to a trained model, as a new model',
  usage:
    '--model DIR (--out DIR | --name N) [--images 10000] [--seed 1] [--grey 0.5] [--epsilon 0.01]\n' +
    '    [--views d4|c4|c2|d2|mirror|none[+grey[:S]]]\n\n' +
    "  Fits two linear maps after the encoder, in closed form, on the general corpus's training\n" +
    '  images (never the held-out ones): per narrower trained width an adapter towards the full\n' +
    "  width's vectors, and a whitening from pairs of each image whole at full width against its\n" +
    '  training views, its flips and quarter turns, its colour and distortion changes, and\n' +
    '  itself at each narrower width. The new folder has the same weights plus the maps, so a\n' +
    '  new model id: libraries embedded with the old one re-embed.\n' +
    '  --images N    training images sampled (default 10000)\n' +
    "  --grey R      greyscale rate of the views (the trainer's --grey; default 0.5)\n" +
    "  --epsilon E   ridge on the pairs' covariance, a fraction of its mean eigenvalue\n" +
    '  --views G     pool the embedding over a group of views, so that turned or mirrored copies\n' +
    '                embed alike, at one encoder pass per view: d4 = 4 quarter turns, each\n' +
    '                also mirrored (8 passes); c4 = 4 turns (4); d2 = half turn x mirror (4);\n' +
    '                c2 = half turn (2); mirror (2); none (1). G+grey (e.g. c4+grey) also\n' +
    '                takes each view in greyscale (twice the passes); +grey:S gives the grey\n' +
    '                views the share S of the mean (0 < S < 1; default 0.5). Default: the\n' +
    "                source model's views.",
  options: {
    model: { type: 'string', short: 'm' },
    out: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
    images: { type: 'string' },
    seed: { type: 'string' },
    grey: { type: 'string' },
    epsilon: { type: 'string' },
    views: { type: 'string' },
  },
  async run(values) {
    const model = values['model'] as string | undefined;
    if (!model) throw new ValidationError('give the trained model: --model DIR');
    const out = values['out'] as string | undefined;
    const name = values['name'] as string | undefined;
    if (out === undefined && name === undefined)
      throw new ValidationError('say where the model goes: --out DIR or --name N (models/N)');
    // At least 100 images, to estimate a covariance.
    const images = intOption(values['images'], 'images', 100, 10_000_000);
    const seed = intOption(values['seed'], 'seed', 0, 2 ** 32 - 1);
    const grey = numberOption(values['grey'], 'grey', 0, 1);
    const epsilon = numberOption(values['epsilon'], 'epsilon', 0, 1e6);
    const viewsArg = values['views'] as string | undefined;
    const views = viewsArg === undefined ? undefined : parseViewsName(viewsArg);
    if (views === null)
      throw new ValidationError(
        `--views must be one of ${VIEW_NAMES.join(', ')}, each optionally followed by +grey or +grey:S (0 < S < 1), got '${viewsArg}'`,
      );
    const started = Date.now();
    let bar = undefined as Progress | undefined; // set in the callback: no narrowing to undefined
    const r = await whitenModel({
      modelDir: model,
      out: modelOutDir(out, name),
      ...(name !== undefined ? { name } : {}),
      ...(images !== undefined ? { images } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(grey !== undefined ? { grey } : {}),
      ...(epsilon !== undefined ? { epsilon } : {}),
      ...(views !== undefined ? { views } : {}),
      log(done, total) {
        bar ??= new Progress(total, 'images');
        bar.update(done, done, 'images');
      },
    });
    bar?.done();
    const pairs = Object.entries(r.counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    console.log(
      `whitened ${model} as ${r.modelId} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(pairs: ${pairs}; widths ${r.widths.join(' ')}); use it with --model ${modelOutDir(out, name)}`,
    );
  },
};
