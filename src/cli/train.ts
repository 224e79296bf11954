/** `matsearch train`: joint nested training (or a single-width baseline) on tfjs, resumable. */
import type { Command } from './main.js';
import { presetConfig } from '../model/config.js';
import { ValidationError } from '../errors.js';
import { basename } from 'node:path';
import {
  checkCategoryPairs,
  checkStylePairs,
  configFor,
  DEFAULT_STYLE_PAIRS,
  loadSplit,
  parseDataSpec,
  prepareData,
  type CategoryPairs,
  type StylePairs,
} from '../train/data.js';
import { JOINT_LEVELS } from '../train/nested.js';
import { train } from '../train/trainer.js';
import { widthToDim } from '../model/nesting.js';

const num = (v: unknown, name: string, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new ValidationError(`--${name} must be a number, got '${String(v)}'`);
  return n;
};

/**
 * --style-pairs / --style-repeats / --style-augment, each defaulting to DEFAULT_STYLE_PAIRS;
 * nothing when none is given, so runs that never used them keep their recorded options.
 */
function stylePairsOption(
  v: Record<string, unknown>,
  general: boolean,
): { stylePairs?: StylePairs } {
  const given = ['style-pairs', 'style-repeats', 'style-augment'].filter((k) => v[k] !== undefined);
  if (given.length === 0) return {};
  if (!general)
    throw new ValidationError(
      `--${given[0]} weighs the general model's cross-style pairs: use it with --data general`,
    );
  const d = DEFAULT_STYLE_PAIRS;
  return {
    stylePairs: checkStylePairs({
      crossStyle: num(v['style-pairs'], 'style-pairs', d.crossStyle),
      repeats: num(v['style-repeats'], 'style-repeats', d.repeats),
      augment: (v['style-augment'] as StylePairs['augment'] | undefined) ?? d.augment,
    }),
  };
}

/** --category-pairs RATE [--category-repeats N] (repeats default 1); nothing when neither is given. */
function categoryPairsOption(
  v: Record<string, unknown>,
  general: boolean,
): { categoryPairs?: CategoryPairs } {
  const given = ['category-pairs', 'category-repeats'].filter((k) => v[k] !== undefined);
  if (given.length === 0) return {};
  if (!general)
    throw new ValidationError(
      `--${given[0]} pairs the general corpus's clip art by category: use it with --data general`,
    );
  if (v['category-pairs'] === undefined)
    throw new ValidationError('--category-repeats needs --category-pairs RATE');
  return {
    categoryPairs: checkCategoryPairs({
      rate: num(v['category-pairs'], 'category-pairs', 0),
      repeats: num(v['category-repeats'], 'category-repeats', 1),
    }),
  };
}

export const trainCommand: Command = {
  summary: 'train a MatMamba-Vision model (joint nested widths, or one width as a baseline)',
  usage:
    '--data fmnist|emoji|general|FOLDER [--config tiny] [--image-size PX] [--patch PX] [--d-model N] [--layers N] [--name N] [--steps N] [--batch N] [--lr X] [--width W ...] ' +
    '[--warmup N] [--weight-decay X] [--clip X] [--smoothing X] [--supcon X] [--temperature X] [--seed N] ' +
    '[--distill X] [--cross X] [--grey RATE] [--style-pairs RATE] [--style-repeats N] [--style-augment copy|mild] [--category-pairs RATE] [--category-repeats N] [--workers N] [--shards N] [--resume] [--max-minutes M] [--stop-after-steps N] ' +
    '[--checkpoint-minutes M] [--eval-every N] [--eval-images N] [--allow-slow-cpu] [--run DIR] [--out DIR]',
  options: {
    config: { type: 'string', default: 'tiny' },
    data: { type: 'string' },
    name: { type: 'string' },
    out: { type: 'string' },
    run: { type: 'string' },
    steps: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    'weight-decay': { type: 'string' },
    clip: { type: 'string' },
    'style-pairs': { type: 'string' },
    'style-repeats': { type: 'string' },
    'style-augment': { type: 'string' },
    'category-pairs': { type: 'string' },
    'category-repeats': { type: 'string' },
    smoothing: { type: 'string' },
    supcon: { type: 'string' },
    temperature: { type: 'string' },
    distill: { type: 'string' },
    cross: { type: 'string' },
    grey: { type: 'string' },
    patch: { type: 'string' },
    'd-model': { type: 'string' },
    layers: { type: 'string' },
    'image-size': { type: 'string' },
    width: { type: 'string', multiple: true },
    workers: { type: 'string' },
    shards: { type: 'string' },
    seed: { type: 'string' },
    'checkpoint-minutes': { type: 'string' },
    'eval-every': { type: 'string' },
    'eval-images': { type: 'string' },
    'max-minutes': { type: 'string' },
    'stop-after-steps': { type: 'string' },
    resume: { type: 'boolean', default: false },
    'allow-slow-cpu': { type: 'boolean', default: false },
  },
  async run(v) {
    if (typeof v['data'] !== 'string')
      throw new ValidationError('give --data fmnist, emoji, general or a folder');
    const data = parseDataSpec(v['data']);
    const emoji = data.kind === 'emoji';
    const general = data.kind === 'general';
    const stylePairs = stylePairsOption(v, general);
    const categoryPairs = categoryPairsOption(v, general);
    await prepareData(data, (s) => console.log(s));
    const dataName = data.kind === 'folder' ? basename(data.root) : data.kind;
    // The general model has no head, so its gigabytes of pixels need not be read here.
    const trainSet = data.kind === 'general' ? null : loadSplit(data, 'train');
    const config = presetConfig(String(v['config']), {
      ...configFor(data, trainSet),
      ...(v['patch'] !== undefined ? { patchSize: num(v['patch'], 'patch', 0) } : {}),
      ...(v['d-model'] !== undefined ? { dModel: num(v['d-model'], 'd-model', 0) } : {}),
      ...(v['layers'] !== undefined ? { nLayer: num(v['layers'], 'layers', 0) } : {}),
      ...(v['image-size'] !== undefined
        ? { imageSize: num(v['image-size'], 'image-size', 0) }
        : {}),
    });
    const levels = (v['width'] as string[] | undefined) ?? [...JOINT_LEVELS];
    for (const w of levels) widthToDim(config, w); // fail early on a bad width
    const baseline = levels.length === 1 ? `-w${levels[0]!.replace('/', 'of')}` : '';
    const name =
      (v['name'] as string | undefined) ?? `${dataName}-${String(v['config'])}${baseline}`;
    const batch = num(v['batch'], 'batch', emoji ? 96 : general ? 256 : 64);
    const history = await train({
      name,
      config,
      data,
      runDir: (v['run'] as string | undefined) ?? `checkpoints/${name}`,
      outDir: (v['out'] as string | undefined) ?? `models/${name}`,
      levels,
      steps: num(v['steps'], 'steps', emoji ? 3000 : 4000),
      // Emoji units are identities of 3 drawings, general units pairs of views.
      units: emoji
        ? Math.max(2, Math.round(batch / 3))
        : general
          ? Math.max(2, Math.round(batch / 2))
          : batch,
      lr: num(v['lr'], 'lr', 2e-3),
      warmup: num(v['warmup'], 'warmup', 200),
      minLrRatio: 0.01,
      weightDecay: num(v['weight-decay'], 'weight-decay', 0.05),
      clip: num(v['clip'], 'clip', 1),
      loss: {
        labelSmoothing: num(v['smoothing'], 'smoothing', 0.1),
        supcon: num(v['supcon'], 'supcon', emoji || general ? 1 : 0),
        temperature: num(v['temperature'], 'temperature', 0.1),
        distill: num(v['distill'], 'distill', 0),
        cross: num(v['cross'], 'cross', 0),
      },
      ...(v['grey'] !== undefined ? { greyRate: num(v['grey'], 'grey', 0) } : {}),
      ...stylePairs,
      ...categoryPairs,
      workers: num(v['workers'], 'workers', 2),
      ...(v['shards'] !== undefined ? { shards: num(v['shards'], 'shards', 0) } : {}),
      seed: num(v['seed'], 'seed', 0),
      checkpointMinutes: num(v['checkpoint-minutes'], 'checkpoint-minutes', 5),
      evalEvery: num(v['eval-every'], 'eval-every', 250),
      evalImages: num(v['eval-images'], 'eval-images', emoji ? 1020 : 2000),
      resume: Boolean(v['resume']),
      ...(v['max-minutes'] !== undefined
        ? { maxMinutes: num(v['max-minutes'], 'max-minutes', 0) }
        : {}),
      ...(v['stop-after-steps'] !== undefined
        ? { stopAfterSteps: num(v['stop-after-steps'], 'stop-after-steps', 0) }
        : {}),
      allowSlowCpu: Boolean(v['allow-slow-cpu']),
    });
    const last = history[history.length - 1];
    if (last?.eval) console.log(JSON.stringify(last.eval));
  },
};
