/**
 * `matsearch model whiten`: fits width adapters and a learned whitening (whitening.ts) to a
 * trained model on its training images (train/whiten-pairs.ts) and writes a new model folder: the
 * same weights plus `adapters.*.weight`, `whiten.weight` and `whiten.bias`, config `adapters` and
 * `whiten: true`, so a new model id.
 */
import { openEmbedder } from '../embed/open.js';
import { OrtEmbedder } from '../runtime/ort-embedder.js';
import { initBackend } from './backend.js';
import type { MatMambaVisionConfig } from './config.js';
import { MatMambaVision } from './vision.js';
import { loadCorpus, type CorpusSet } from '../data/corpus/load.js';
import type { ImageSet } from '../data/image-set.js';
import { ValidationError } from '../errors.js';
import { augmentFor } from '../train/data.js';
import { collectWhiteningPairs, type PairKind } from '../train/whiten-pairs.js';
import { readModelDir } from './model-dir.js';
import { DEFAULT_PREPROCESS } from './preprocess-spec.js';
import { readSafetensors, readSafetensorsMetadata } from './safetensors.js';
import { readTrainedWidths } from './trained-widths.js';
import { saveWeights } from './weights.js';
import { adapterKey } from './params.js';
import { fitAdapter, learnWhitening } from './whitening.js';
import {
  GREY_BIAS,
  GREY_WEIGHT,
  greyMap,
  NO_VIEWS,
  viewCount,
  viewsName,
  viewsTag,
  withViews,
  type ViewSpec,
} from './views.js';

export interface WhitenModelOptions {
  readonly modelDir: string;
  readonly out: string;
  /** The new model's name (default: the source's). */
  readonly name?: string;
  /** Training images sampled for pairs (default 10,000). */
  readonly images?: number;
  readonly seed?: number;
  /** The greyscale rate of the training views (the trainer's --grey; default 0.5). */
  readonly grey?: number;
  /** Ridge on C_S, a fraction of its mean eigenvalue (default 0.01). */
  readonly epsilon?: number;
  readonly log?: (done: number, total: number) => void;
  /**
   * View pooling for the new model (views.ts): set before the fit, since it changes the vectors
   * the maps are fitted on. null: none; absent: the source's.
   */
  readonly views?: ViewSpec | null;
  /** The training images (default: the general corpus's train split, loaded here). */
  readonly trainImages?: ImageSet;
}

export interface WhitenModelResult {
  readonly modelId: string;
  readonly counts: Record<PairKind, number>;
  readonly widths: readonly string[];
}

export async function whitenModel(o: WhitenModelOptions): Promise<WhitenModelResult> {
  const info = readModelDir(o.modelDir);
  if (info.config.whiten || info.config.adapters?.length) {
    const from = readSafetensorsMetadata(info.weightsPath)['whitened_from'];
    throw new ValidationError(
      `${o.modelDir} already has a learned whitening: whiten the unwhitened model it was made ` +
        `from${from ? ` (${from})` : ''}, as its training run writes it`,
    );
  }
  // The pairs are the general trainer's views of its training images, at our own resize.
  if (
    info.config.inChans !== 3 ||
    JSON.stringify(info.preprocess) !== JSON.stringify(DEFAULT_PREPROCESS)
  )
    throw new ValidationError(
      `${o.modelDir}: model whiten fits our own RGB models trained on the general corpus`,
    );
  const widths = readTrainedWidths(o.modelDir) ?? ['1', '1/2', '1/4', '1/8'];
  if (!widths.includes('1')) throw new ValidationError(`${o.modelDir} was not trained at width 1`);
  const queryWidths = ['1', ...widths.filter((w) => w !== '1')];
  const count = o.images ?? 10_000;
  const seed = o.seed ?? 1;
  const grey = o.grey ?? 0.5;
  const corpus: CorpusSet | null = o.trainImages ? null : loadCorpus('train');
  const images: ImageSet = o.trainImages ?? corpus!;
  const entries = corpus?.entries ?? null;
  const arrays = new Map(
    [...readSafetensors(info.weightsPath).tensors].map(([k, t]) => [k, t.data]),
  );
  const asked = o.views === undefined ? info.config.views : o.views;
  const views = asked && viewCount({ views: asked }) > 1 ? asked : undefined;
  const config = withViews(info.config, views);
  // The grey views' channel map follows the model's own preprocessing (views.ts).
  arrays.delete(GREY_WEIGHT);
  arrays.delete(GREY_BIAS);
  if (views?.grey) {
    const g = greyMap(info.preprocess.mean, info.preprocess.std);
    arrays.set(GREY_WEIGHT, g.weight);
    arrays.set(GREY_BIAS, g.bias);
  }
  // Other views than the source's: the pairs are embedded by the pooled model, in memory.
  const pooled =
    viewsTag(config.views ?? NO_VIEWS) === viewsTag(info.config.views ?? NO_VIEWS)
      ? null
      : await pooledModel(config, arrays);
  const embedder = pooled
    ? await OrtEmbedder.open(pooled, `${info.name}@pooled`).catch((err: unknown) => {
        pooled.dispose();
        throw err;
      })
    : await openEmbedder(o.modelDir);
  let pairs;
  try {
    pairs = await collectWhiteningPairs({
      embedder,
      images,
      augment: augmentFor({ kind: 'general' }, embedder.inputSize, 3, grey),
      widths: queryWidths,
      count,
      // Every corpus source equally often: the few real photos count as much as the many icons.
      ...(entries ? { groupOf: (i: number) => entries[i]!.source } : {}),
      seed,
      ...(o.log ? { log: o.log } : {}),
    });
  } finally {
    await embedder.close();
    pooled?.dispose();
  }
  const D = info.config.dModel;
  const w = learnWhitening(pairs.database, pairs.families, D, {
    ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
  });
  // Width adapters: each narrower width's unit vectors mapped towards the full width's.
  const adapters = [...pairs.narrow.keys()];
  const adapterArrays = adapters.map(
    (w) => [adapterKey(w), fitAdapter(pairs.narrow.get(w)!, pairs.database, D)] as const,
  );
  for (const [k, a] of adapterArrays) arrays.set(k, a);
  arrays.set('whiten.weight', w.weight);
  arrays.set('whiten.bias', w.bias);
  const modelId = saveWeights(o.out, { ...config, whiten: true, adapters }, arrays, {
    name: o.name ?? info.name,
    trainedWidths: widths,
    extra: {
      whitened_from: info.modelId,
      whiten_args: `--images ${count} --seed ${seed} --grey ${grey}${o.epsilon !== undefined ? ` --epsilon ${o.epsilon}` : ''}${config.views ? ` --views ${viewsName(config.views)}` : ''}`,
      adapters: `widths ${adapters.join(' ')}, ridge 1, fitted on the same images`,
      ...(config.views ? { pooling: `mean of unit features over ${viewsTag(config.views)}` } : {}),
      whitening: `learned from ${pairs.database.length / D} training images drawn equally from each corpus source (seed ${seed}, grey ${grey}), widths ${queryWidths.join(' ')}`,
    },
  });
  return { modelId, counts: pairs.counts, widths: queryWidths };
}

/** A model over the given weights in memory (tfjs is started for it). */
async function pooledModel(
  config: MatMambaVisionConfig,
  arrays: ReadonlyMap<string, Float32Array>,
): Promise<MatMambaVision> {
  await initBackend({ purpose: 'inference' });
  return MatMambaVision.fromArrays(config, arrays);
}
