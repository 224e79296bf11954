/**
 * Model cards (docs/models/<name>.md), written from what was measured, never typed in by hand:
 * the weights' config and metadata, the training run's state (recipe, history, CPU time) and the
 * evaluation report. Targets are stated next to the numbers and marked met or missed.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { modelCost } from '../model/cost.js';
import { STANDARD_WIDTHS } from '../model/nesting.js';
import { CONFIG_FILE, WEIGHTS_FILE } from '../model/weights.js';
import { readSafetensorsMetadata } from '../model/safetensors.js';
import { PRESETS, type MatMambaVisionConfig } from '../model/config.js';
import { geometryFor } from '../train/data.js';
import type { ScheduleSegment as Segment } from '../train/trainer.js';
import { NotFoundError } from '../errors.js';
import { lineChart, type Series } from '../util/svg-plot.js';
import { existingSection, withSection } from './general-card.js';
import { formatChange, type QueryWidthLoss, type RetrievalMetrics } from './retrieval.js';
import { viewCount, viewsTag, type ViewSpec } from '../model/views.js';

interface RunState {
  step: number;
  cpuSeconds: number;
  options: {
    name: string;
    data: { kind: string; root?: string };
    levels: string[];
    steps: number;
    units: number;
    lr: number;
    warmup: number;
    minLrRatio: number;
    weightDecay: number;
    clip: number;
    loss: {
      labelSmoothing: number;
      supcon: number;
      temperature: number;
      distill: number;
      cross?: number;
    };
    workers: number;
    shards?: number;
    greyRate?: number;
    seed: number;
    config?: { patchSize: number; dModel: number };
  };
  history: { step: number; imagesPerS?: number; eval?: Record<string, number> }[];
  schedule?: Segment[];
}

/** The --style-* options of a segment that gave them. */
function styleFlags(p: Segment['stylePairs']): string[] {
  return p
    ? [
        `--style-pairs ${p.crossStyle}`,
        `--style-repeats ${p.repeats}`,
        `--style-augment ${p.augment}`,
      ]
    : [];
}

/** The --category-* options of a segment that gave them. */
function categoryFlags(p: Segment['categoryPairs']): string[] {
  return p ? [`--category-pairs ${p.rate}`, `--category-repeats ${p.repeats}`] : [];
}

export interface EvalReport {
  model: string;
  modelId: string;
  data: string;
  classification?: { width: string; top1: number; params: number; macs: number }[];
  cosineToFull: Record<string, number>;
  retrieval: {
    protocol: string;
    queryWidthLoss?: QueryWidthLoss[];
    pairs: { queryWidth: string; dbWidth: string; metrics: RetrievalMetrics }[];
  };
  vendors?: { query: string; database: string; metrics: RetrievalMetrics }[];
}

export interface CardInputs {
  readonly modelDir: string;
  /** The training run folder (holds ckpt/state.json). */
  readonly runDir: string;
  /** The retrieval evaluation (fmnist, emoji, folders); a general model's card has its own section. */
  readonly report: EvalReport | null;
  /**
   * Evaluation of an independently trained single-width baseline, when one exists, and its run
   * folder (default checkpoints/<its name>) for its recipe and cost.
   */
  readonly baseline?: {
    readonly width: string;
    readonly report: EvalReport;
    readonly runDir?: string;
  };
  /** The command line that reproduces the evaluation (the training one is rebuilt from the run). */
  readonly evalCommand: string;
  readonly outDir: string;
}

const pct = (v: number) => (100 * v).toFixed(2);
const check = (ok: boolean) => (ok ? 'met' : '**missed**');

function pair(r: EvalReport, q: string, d: string): RetrievalMetrics {
  const p = r.retrieval.pairs.find((x) => x.queryWidth === q && x.dbWidth === d);
  if (!p) throw new NotFoundError(`the evaluation has no query ${q} / database ${d} pair`);
  return p.metrics;
}

const top1 = (r: EvalReport, w: string) => r.classification?.find((c) => c.width === w)?.top1;

const DATA_TEXT: Record<string, string[]> = {
  fmnist: [
    'Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence), from the Debian package `dataset-fashion-mnist`:',
    '60,000 training and 10,000 test images, 28x28 grey, 10 clothing classes. Training uses all 60,000;',
    'every metric below is on the 10,000 test images, which training never sees.',
  ],
  emoji: [
    'The same emoji drawn by three vendors: Twemoji (CC-BY 4.0), Noto (Apache 2.0) and OpenMoji (CC BY-SA 4.0),',
    'from the npm packages `emoji-datasource-twitter`, `emoji-datasource-google` and `openmoji`, rasterised to 64 px on white.',
    'Split by emoji identity with a fixed seed: 80% of the emoji train, the other 20% are held out, so every',
    'retrieval number below is on emoji the model never saw. Attributions are in docs/DATA.md.',
  ],
};

DATA_TEXT['general'] = [
  'The general corpus (`matsearch data --corpus all`): real photos, photo textures from game and',
  'simulator packages, emoji in six Iconify styles, icon themes, Iconify icon and logo sets, flags,',
  'playing cards, chess pieces, glyphs across typefaces, clip art and procedural composites, all from',
  'Debian and npm packages listed with their licences in docs/DATA.md. Training pairs two augmented views',
  'of one image (crops down to a quarter of the area, flips, quarter turns, colour jitter, greyscale, blur,',
  'downscaling, JPEG, borders, text and image overlays) and, where a key has several styles, the same',
  'key in another style. Held out of training entirely: every GCompris photo, the emoji styles noto-v1',
  'and fxemoji, the oxygen icon theme, art4apps and a hashed fifth of openclipart (src/data/corpus/holdout.ts);',
  'every number in the general evaluation below is on those.',
];

const LIMITS: Record<string, string[]> = {
  fmnist: [
    '- Trained on 28x28 grey clothing photos on a black background: it is a benchmark model for the',
    '  nesting, not a general photo encoder. Colour images are converted to grey by the runtime.',
    '- `tiny` (128 wide, 6 layers, 17 tokens) is chosen to train in a few CPU-hours; it trails larger',
    '  published Fashion-MNIST models (~93-95% top-1). Widths 1, 1/2 and 1/4 score within half a point',
    '  of each other, so the nested width is not what holds full width below 91%; nor are the 7 px',
    '  patches: 4 px patches trained no better step for step at 3.2x the compute (docs/eval/patch.md).',
    '  A longer schedule is the untested lever.',
    "- Mix'n'Match points fall below the curve of the standard widths, most where narrow layers feed",
    '  wide ones (1/8x4,1x2); self-distillation does not close that gap (docs/eval/distill.md).',
  ],
  emoji: [
    '- Learnt from about 1,400 emoji in three flat, vector-drawn styles: it finds the same pictogram',
    '  across drawing styles and is a fair default for icons, logos and clip art, but it has never seen',
    '  photographs; for photo libraries train on your own folder (`matsearch train --data <folder>`).',
    '- 64 px input in 16 px patches: fine detail (text, small faces) is lost; near-identical emoji',
    '  that differ only in small marks (skin tones, gendered variants, flags of similar colours) are confused.',
    '- A 1/4-width query against full-width vectors loses more than a point of mAP@10 (Targets). It finds',
    "  the full-width vectors about as well as 1/4-width ones, so the cost is the 1/4 submodel's capacity,",
    '  not a mismatch of the spaces; distillation and a cross-width loss did not reduce it',
    '  (docs/eval/distill.md). Query at 1/2 width where a point matters.',
  ],
  general: [
    '- A copy and near-duplicate detector, not a semantic encoder: it finds the same photo after crops,',
    '  flips, quarter turns, resizing, JPEG, blur, overlays and colour changes, but "the same thing drawn',
    '  in another style" and category search are no better than 16x16 pixels (the targets below).',
    '  For photo semantics import the official ImageNet checkpoints.',
    '- 64 px input in 16 px patches (16 tokens): fine detail and small text are lost.',
    '- Where the model pools views (its config `views`), it is blind to what those views change:',
    '  an image and its quarter turns are one vector, so an arrow pointing left and one pointing',
    '  right (a half turn apart) look alike, and with grey views colour counts for less.',
    '- Its weakest copies are crops and crops with JPEG (the per-transform tables); the view pooling',
    '  and the learned whitening, and what each traded, are in docs/eval/general-pilots.md.',
  ],
};

/** Writes docs/models/<name>.md and its training-curve SVG; returns the Markdown path. */
export function writeModelCard(c: CardInputs): string {
  const statePath = join(c.runDir, 'ckpt', 'state.json');
  if (!existsSync(statePath))
    throw new NotFoundError(`no training state at ${statePath}: pass the run folder with --run`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as RunState;
  const cfgJson = JSON.parse(readFileSync(join(c.modelDir, CONFIG_FILE), 'utf8')) as {
    modelId: string;
    model: MatMambaVisionConfig;
  };
  const cfg = cfgJson.model;
  // What the weights file says of its learned whitening (model/whiten-model.ts writes it).
  const whitening = cfg.whiten ? readSafetensorsMetadata(join(c.modelDir, WEIGHTS_FILE)) : {};
  const o = state.options;
  const r = c.report;
  const name = r?.model ?? o.name;
  const kind = o.data.kind;
  const bytes = statSync(join(c.modelDir, WEIGHTS_FILE)).size;
  const speeds = state.history.map((h) => h.imagesPerS ?? 0).filter((s) => s > 0);
  speeds.sort((a, b) => a - b);
  const medianSpeed = speeds[Math.floor(speeds.length / 2)] ?? 0;
  const perMicro = o.units * (kind === 'emoji' ? 3 : kind === 'general' ? 2 : 1);
  const L: string[] = [
    `# Model card: ${name}`,
    '',
    `MatMamba-Vision (d_model ${cfg.dModel}, ${cfg.nLayer} layers), trained jointly at the nested widths ${o.levels.join(', ')} ` +
      `(model id \`${cfgJson.modelId}\`, ${(bytes / 1e6).toFixed(1)} MB of float32 safetensors in ` +
      `\`${relative(process.cwd(), c.modelDir)}\`).`,
    '',
    '## Data',
    '',
    ...(DATA_TEXT[kind] ?? [`Image folder \`${o.data.root ?? ''}\`, one class per sub-folder.`]),
    '',
    '## Architecture and cost per width',
    '',
    `${cfg.nLayer} Mamba2 layers, d_model ${cfg.dModel}, d_state ${cfg.dState}, head dim ${cfg.headDim}, ` +
      `${cfg.imageSize} px ${cfg.inChans === 1 ? 'grey' : 'RGB'} input in ${cfg.patchSize} px patches ` +
      `(${(cfg.imageSize / cfg.patchSize) ** 2} patches + CLS), embedding dim ${cfg.dModel}.`,
    '',
    '| width | params | MMACs / image |',
    '| --- | --- | --- |',
    ...STANDARD_WIDTHS.map((w) => {
      const m = modelCost(cfg, w);
      return `| ${w} | ${(m.params / 1e6).toFixed(3)} M | ${(m.macs / 1e6).toFixed(2)} |`;
    }),
    '',
    '## Training recipe',
    '',
    `- Granularities ${o.levels.join(', ')}, round-robin: each optimizer step takes ${o.levels.length} ` +
      `micro-batches of ${perMicro} images, one per width, each loss divided by ${o.levels.length}; ` +
      'gradients accumulate, one AdamW step follows.',
    `- ${state.step} optimizer steps; learning rate ${o.lr} after ${o.warmup} warm-up steps, cosine decay ` +
      `to ${o.lr * o.minLrRatio}; AdamW (0.9, 0.999), weight decay ${o.weightDecay} on matrices only; ` +
      `gradient clipping at ${o.clip}.`,
    (kind === 'general'
      ? `- Loss: supervised contrastive (InfoNCE) over each micro-batch's views, temperature ` +
        `${o.loss.temperature}: ${o.units} images, two augmented views each; positives are the ` +
        "image's other view and, in half the draws where its key exists in several styles, a view " +
        'of the same key in another style (emoji code point, icon name, card, flag, glyph, piece)' +
        pairSegmentsText(segments(state), state.step)
      : `- Losses: cross-entropy with label smoothing ${o.loss.labelSmoothing}`) +
      (kind !== 'general' && o.loss.supcon > 0
        ? ` plus supervised contrastive loss (weight ${o.loss.supcon}, temperature ${o.loss.temperature}; ` +
          'positives: the same emoji from the other vendors and augmented views)'
        : '') +
      (o.loss.distill > 0
        ? `, self-distillation from the full width (weight ${o.loss.distill})`
        : ', no distillation') +
      ((o.loss.cross ?? 0) > 0
        ? `; cross-width contrastive loss (weight ${o.loss.cross}): each narrower micro-batch's ` +
          "embeddings query the full width's embeddings of the same images, positives as above"
        : '') +
      '.',
    `- Data-parallel on ${o.workers} worker process${o.workers === 1 ? '' : 'es'} (tfjs, wasm backend)` +
      (o.shards !== undefined ? `, each micro-batch in ${o.shards} shards` : '') +
      `, seed ${o.seed}.`,
    `- Compute: **${(state.cpuSeconds / 3600).toFixed(2)} CPU-hours** (worker-process wall time ` +
      `summed over workers), median ${medianSpeed.toFixed(0)} training images/s over all widths.`,
    '',
    `![held-out accuracy during training](${name}-training.svg)`,
    '',
    ...scheduleLines(state),
    ...whiteningLines(cfg, whitening),
    '## Reproduce',
    '',
    '```sh',
    kind === 'general' ? 'npx matsearch data --corpus all' : 'npm run data',
    ...trainCommands(state),
    ...(cfg.whiten ? [whitenCommand(c.modelDir, whitening)] : []),
    c.evalCommand,
    '```',
    '',
    ...(r ? metricLines(r, c.baseline) : []),
    ...(r && c.baseline ? baselineLines(r, c.baseline) : []),
    '## Known limits',
    '',
    ...(LIMITS[kind] ?? ['- Trained on one user folder; its quality is that of the folder.']),
    '',
  ];
  mkdirSync(c.outDir, { recursive: true });
  writeFileSync(join(c.outDir, `${name}-training.svg`), trainingCurve(name, state));
  const out = join(c.outDir, `${name}.md`);
  // The general evaluation's section (general-card.ts) survives a rewrite of the rest.
  const general = existingSection(out);
  writeFileSync(out, general ? withSection(L.join('\n'), general) : L.join('\n'));
  return out;
}

/** The independent single-width model next to the nested one at that width. */
function baselineLines(r: EvalReport, b: NonNullable<CardInputs['baseline']>): string[] {
  const w = b.width;
  const statePath = join(b.runDir ?? join('checkpoints', b.report.model), 'ckpt', 'state.json');
  const state = existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, 'utf8')) as RunState)
    : null;
  const mapAt = (x: EvalReport) =>
    x.retrieval.pairs.find((p) => p.queryWidth === w && p.dbWidth === w);
  const row = (who: string, x: EvalReport) => {
    const m = mapAt(x);
    return `| ${who} | ${pct(top1(x, w) ?? NaN)} | ${m ? pct(m.metrics.mapAt10) : '-'} |`;
  };
  return [
    `## Independent baseline at width ${w}`,
    '',
    `\`${b.report.model}\` is the same architecture trained at width ${w} alone, one micro-batch per ` +
      `step, so it sees as many images at that width as the nested model does; the nested weights ` +
      `also learn from the other widths. Its full report: docs/eval/${b.report.model}.md.` +
      (state ? ` Compute: ${(state.cpuSeconds / 3600).toFixed(2)} CPU-hours.` : ''),
    '',
    ...(state ? ['```sh', ...trainCommands(state), '```', ''] : []),
    `| model | test top-1 % at ${w} | mAP@10 % (query ${w}, database ${w}) |`,
    '| --- | --- | --- |',
    row(`nested (${r.model})`, r),
    row(`independent (${b.report.model})`, b.report),
    '',
  ];
}

/** Each schedule segment the run went through (one, unless a resume changed --steps, --grey or the pair options). */
function segments(s: RunState): Segment[] {
  return s.schedule ?? [{ fromStep: 0, steps: s.options.steps }];
}

/** The last step segment i trained: where the next began or the run stopped, within its schedule. */
const segmentEnd = (segs: readonly Segment[], i: number, lastStep: number): number =>
  Math.min(segs[i + 1]?.fromStep ?? lastStep, segs[i]!.steps);

/**
 * Where segments weighed cross-style pairs otherwise than half the draws with copy views, and
 * where they added category pairs.
 */
function pairSegmentsText(segs: readonly Segment[], lastStep: number): string {
  const styles = segs.flatMap((seg, i) => {
    const p = seg.stylePairs;
    if (!p) return [];
    const end = segmentEnd(segs, i, lastStep);
    const views =
      p.augment === 'mild'
        ? 'mild views, crops to half the area, flips and light photometric changes'
        : 'the copy-detection views';
    return [
      `steps ${seg.fromStep + 1}-${end}: ` +
        `${p.crossStyle === 1 ? 'in every draw' : `in ${p.crossStyle * 100}% of the draws`}, ` +
        `such keys drawn ${p.repeats}x as often, with ${views}`,
    ];
  });
  const categories = segs.flatMap((seg, i) => {
    const p = seg.categoryPairs;
    if (!p) return [];
    return [
      `steps ${seg.fromStep + 1}-${segmentEnd(segs, i, lastStep)}: in ${p.rate * 100}% of the ` +
        `other draws of a training clip-art image, another image of its category (openclipart ` +
        `folder), such images drawn ${p.repeats}x as often`,
    ];
  });
  return [...styles, ...categories].map((c) => `; ${c}`).join('');
}

/** What a greyscale copy shares of the pooled mean: half, or the grey views' set share. */
const greyShareText = (v: ViewSpec): string =>
  (v.greyShare ?? 0.5) === 0.5 ? 'half the mean' : `the grey views' ${v.greyShare} of the mean`;

/** The card's section on the learned whitening and width adapters, where the model has them. */
function whiteningLines(cfg: MatMambaVisionConfig, m: Record<string, string>): string[] {
  if (!cfg.whiten) return [];
  return [
    cfg.views
      ? '## View pooling, learned whitening and width adapters'
      : '## Learned whitening and width adapters',
    '',
    `After training, two linear maps were fitted in closed form (\`matsearch model whiten\`, ` +
      `made from \`${m['whitened_from'] ?? '?'}\`): ${m['whitening'] ?? 'recipe not recorded'}.`,
    '',
    '- Width adapters' +
      (cfg.adapters?.length ? ` (${cfg.adapters.join(', ')})` : '') +
      ': for each narrower width, the least-squares map from its unit vectors to the full ' +
      "width's of the same images, so a narrow query lands nearer the full-width vectors it " +
      "searches. Mix'n'Match lists use none.",
    '- Learned whitening (Radenović et al., TPAMI 2018): matching pairs are each training image ' +
      'whole at full width against its training views, its flips and quarter turns alone, its ' +
      'colour and distortion changes alone, and itself at each narrower width, each kind an equal ' +
      'share; it flattens what those pairs change and keeps what tells images apart.',
    ...(cfg.views
      ? [
          `- View pooling (${m['pooling'] ?? viewsTag(cfg.views)}): the embedding is the mean of ` +
            `the unit features of the image's ${viewCount(cfg)} views (its quarter turns` +
            `${cfg.views.mirror ? ' and their mirror images' : ''}` +
            `${cfg.views.grey ? ', each also in greyscale' : ''}), so turned` +
            `${cfg.views.mirror ? ' and mirrored' : ''} copies embed exactly alike` +
            `${cfg.views.grey ? ` and a greyscale copy shares ${greyShareText(cfg.views)} with its original` : ''}; ` +
            'the maps are fitted on the pooled vectors. It runs the encoder once per view (in ' +
            'the table above).',
        ]
      : []),
    '',
    `Each map adds ${cfg.dModel}x${cfg.dModel} MACs per image (in the table above).`,
    '',
  ];
}

/** Whitens the trained model in place (the command refuses a model already whitened). */
function whitenCommand(modelDir: string, m: Record<string, string>): string {
  const dir = relative(process.cwd(), modelDir);
  const args = m['whiten_args'];
  return `npx matsearch model whiten --model ${dir} --out ${dir}${args ? ` ${args}` : ''}`;
}

/**
 * The `matsearch train` lines that reproduce a run, from its stored options: one per schedule
 * segment, each later one resuming, each but the last stopping where the next one began.
 */
function trainCommands(s: RunState): string[] {
  const o = s.options;
  const perUnit = o.data.kind === 'emoji' ? 3 : o.data.kind === 'general' ? 2 : 1;
  const batch = o.units * perUnit;
  const head = [
    `--data ${o.data.kind === 'folder' ? (o.data.root ?? '') : o.data.kind}`,
    `--name ${o.name}`,
  ];
  const rest = [
    `--batch ${batch}`,
    `--lr ${o.lr}`,
    `--warmup ${o.warmup}`,
    ...(o.levels.length === 1 ? [`--width ${o.levels[0]}`] : []),
    ...(o.config && o.config.patchSize !== geometryFor(o.data.kind).patchSize
      ? [`--patch ${o.config.patchSize}`]
      : []),
    ...(o.config && o.config.dModel !== PRESETS['tiny']!.dModel
      ? [`--d-model ${o.config.dModel}`]
      : []),
    ...(o.loss.distill > 0 ? [`--distill ${o.loss.distill}`] : []),
    ...((o.loss.cross ?? 0) > 0 ? [`--cross ${o.loss.cross}`] : []),
    ...(o.shards !== undefined ? [`--shards ${o.shards}`] : []),
    ...(o.seed !== 0 ? [`--seed ${o.seed}`] : []),
  ];
  const command = (seg: Omit<Segment, 'fromStep'>, tail: string[]) =>
    [
      'npx matsearch train',
      ...head,
      `--steps ${seg.steps}`,
      ...rest,
      ...(seg.greyRate !== undefined ? [`--grey ${seg.greyRate}`] : []),
      ...styleFlags(seg.stylePairs),
      ...categoryFlags(seg.categoryPairs),
      ...tail,
    ].join(' ');
  const segs = segments(s);
  const lines = segs.map((seg, i) => {
    // Where the segment ended: where the next began, or the run's last step (a run stopped
    // before its schedule's end, by --max-minutes say, ships what it had).
    const end = segs[i + 1]?.fromStep ?? s.step;
    return command(seg, [
      ...(i > 0 ? ['--resume'] : []),
      ...(end < seg.steps ? [`--stop-after-steps ${end - seg.fromStep}`] : []),
    ]);
  });
  // A run stopped before its schedule's end wrote no model; a resume whose --steps is the step
  // reached trains no further and writes it (a resume refuses another config, data or seed).
  const last = segs[segs.length - 1]!;
  if (s.step < last.steps)
    lines.push(
      command({ ...last, steps: s.step }, ['--resume   # no further step: writes the model']),
    );
  return lines;
}

/** The recipe's schedule, where a resume changed it. */
function scheduleLines(s: RunState): string[] {
  const segs = segments(s);
  if (segs.filter((g) => g.steps > g.fromStep).length < 2) return [];
  const withCategories = segs.some((g) => g.categoryPairs);
  return [
    'Schedule segments (a resume with another `--steps`, `--grey`, `--style-*` or `--category-*` starts a new cosine',
    'schedule from the step it resumes at, so the run takes one command per segment):',
    '',
    `| steps | cosine schedule over | greyscale rate per view | cross-style pairs |${withCategories ? ' category pairs |' : ''}`,
    `| --- | --- | --- | --- |${withCategories ? ' --- |' : ''}`,
    ...segs.flatMap((seg, i) => {
      const end = segmentEnd(segs, i, s.step);
      const style = seg.stylePairs
        ? `rate ${seg.stylePairs.crossStyle}, drawn ${seg.stylePairs.repeats}x, ${seg.stylePairs.augment} views`
        : 'default';
      const category = seg.categoryPairs
        ? ` rate ${seg.categoryPairs.rate}, drawn ${seg.categoryPairs.repeats}x |`
        : ' none |';
      return end > seg.fromStep
        ? [
            `| ${seg.fromStep + 1}-${end} | ${seg.steps} steps | ${seg.greyRate ?? 'default'} | ${style} |` +
              (withCategories ? category : ''),
          ]
        : [];
    }),
    '',
  ];
}

function metricLines(r: EvalReport, baseline?: CardInputs['baseline']): string[] {
  const L: string[] = ['## Metrics', '', `Full report: docs/eval/${r.model}.md.`, ''];
  const widths = [...STANDARD_WIDTHS];
  if (r.classification) {
    L.push('| width | test top-1 % | MMACs / image |', '| --- | --- | --- |');
    for (const k of r.classification)
      L.push(`| ${k.width} | ${pct(k.top1)} | ${(k.macs / 1e6).toFixed(2)} |`);
    L.push('', `![top-1 vs compute](../eval/${r.model}-accuracy.svg)`, '');
  }
  L.push(
    'Mean cosine between the full-width embedding and each width: ' +
      widths.map((w) => `${w}: ${r.cosineToFull[w]}`).join(', ') +
      '.',
    '',
    `Retrieval mAP@10 (%) for every query width (rows) against every database width (columns); ${r.retrieval.protocol}.`,
    '',
    `| query \\ database | ${widths.join(' | ')} |`,
    `| --- | ${widths.map(() => '---').join(' | ')} |`,
    ...widths.map((q) => `| ${q} | ${widths.map((d) => pct(pair(r, q, d).mapAt10)).join(' | ')} |`),
    '',
  );
  if (r.vendors) {
    L.push(
      'Cross-vendor retrieval on held-out emoji at full width:',
      '',
      '| query | database | recall@1 | recall@10 | mAP@10 |',
      '| --- | --- | --- | --- | --- |',
      ...r.vendors.map(
        (v) =>
          `| ${v.query} | ${v.database} | ${pct(v.metrics.recallAt1)} | ${pct(v.metrics.recallAt10)} | ${pct(v.metrics.mapAt10)} |`,
      ),
      '',
    );
  }
  // Targets, each with its measured value.
  const rows: string[] = [];
  const fullMap = pair(r, '1', '1').mapAt10;
  const quarterMap = pair(r, '1/4', '1').mapAt10;
  const quarterLoss = r.retrieval.queryWidthLoss?.find((l) => l.queryWidth === '1/4');
  const change = quarterLoss
    ? `${formatChange(quarterLoss)}, 95% interval`
    : (100 * (quarterMap - fullMap)).toFixed(2);
  rows.push(
    `| query at 1/4 against a full-width database loses <= 1 point of mAP@10 | ${pct(fullMap)} -> ${pct(quarterMap)} (${change}) | ${check(fullMap - quarterMap <= 0.01)} |`,
  );
  if (r.classification) {
    const f = top1(r, '1')!;
    const e = top1(r, '1/8')!;
    rows.push(`| full width top-1 >= 91% | ${pct(f)}% | ${check(f >= 0.91)} |`);
    rows.push(`| 1/8 width top-1 >= 88% | ${pct(e)}% | ${check(e >= 0.88)} |`);
  }
  if (baseline?.report.classification) {
    const nested = top1(r, baseline.width)!;
    const alone = top1(baseline.report, baseline.width)!; // the width it was trained at
    rows.push(
      `| nested ${baseline.width} within 1 point of an independently trained ${baseline.width} model (${baseline.report.model}) | ${pct(nested)}% vs ${pct(alone)}% | ${check(nested >= alone - 0.01)} |`,
    );
  }
  if (r.vendors) {
    const tw = r.vendors.find((v) => v.query === 'twitter' && v.database.includes('+'));
    if (tw)
      rows.push(
        `| held-out emoji found in another vendor's set, recall@10 >= 0.8 (Twemoji -> Noto + OpenMoji) | ${tw.metrics.recallAt10.toFixed(3)} | ${check(tw.metrics.recallAt10 >= 0.8)} |`,
      );
    const all = pair(r, '1', '1');
    rows.push(
      `| the same over all three vendors (each queries the other two), recall@10 >= 0.8 | ${all.recallAt10.toFixed(3)} | ${check(all.recallAt10 >= 0.8)} |`,
    );
  }
  L.push('### Targets', '', '| target | measured | |', '| --- | --- | --- |', ...rows, '');
  return L;
}

function trainingCurve(name: string, state: RunState): string {
  const rows = state.history.filter((h) => h.eval);
  const keys = rows.length ? Object.keys(rows[rows.length - 1]!.eval!) : [];
  const series: Series[] = keys.map((k) => ({
    name: k.replace(/^(top1|xvendor-recall@1|copy-recall@1)@/, 'width '),
    points: rows
      .filter((h) => h.eval![k] !== undefined)
      .map((h) => ({ x: h.step, y: 100 * h.eval![k]! })),
  }));
  const metric = keys[0]?.startsWith('top1')
    ? 'top-1 (%)'
    : keys[0]?.startsWith('copy')
      ? 'validation copy-recall@1 (%)'
      : 'cross-vendor recall@1 (%)';
  return lineChart(series, {
    title: `${name}: held-out check during training`,
    xLabel: 'optimizer step',
    yLabel: metric,
  });
}
