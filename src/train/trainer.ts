/**
 * The training loop: data-parallel over worker threads (each a single-threaded tfjs-wasm copy
 * of the model; gradients summed every step), AdamW with warm-up + cosine decay on the main
 * thread, the joint nested recipe of nested.ts, periodic evaluation, checkpoints every few minutes
 * and exact resume (weights, optimizer moments, step and data order).
 */
import { Worker } from 'node:worker_threads';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { makeConfig, type MatMambaVisionConfig } from '../model/config.js';
import { initParams, paramShapes } from '../model/params.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../model/safetensors.js';
import { saveWeights, WEIGHTS_FILE } from '../model/weights.js';
import { ValidationError } from '../errors.js';
import { Progress } from '../util/progress.js';
import { AdamW, clipGlobalNorm, learningRate } from './optimizer.js';
import {
  augmentFor,
  checkCategoryPairs,
  checkStylePairs,
  DEFAULT_STYLE_PAIRS,
  subjectCategory,
  type CategoryPairs,
  KIND_REPEATS,
  styleAugmentFor,
  unitRepeats,
  type StylePairs,
  loadSplit,
  PairSampler,
  Sampler,
  type DataSpec,
  type SamplerState,
} from './data.js';
import { rasterisedSources, type CorpusSet } from '../data/corpus/load.js';
import { planStep } from './nested.js';
import type { LossOptions } from './step.js';
import type { WorkerReply, WorkerRequest } from './worker.js';
import type { ImageSet } from '../data/image-set.js';
import { crossGroupRecallAt1, normalizeRows } from '../eval/retrieval.js';

export interface TrainOptions {
  readonly name: string;
  readonly config: MatMambaVisionConfig;
  readonly data: DataSpec;
  readonly dataRoot?: string;
  /** Where checkpoints go (resumable run directory). */
  readonly runDir: string;
  /** Where the final model is written. */
  readonly outDir: string;
  /** Granularities trained jointly (['1','1/2','1/4','1/8']), or one for a baseline. */
  readonly levels: readonly string[];
  readonly steps: number;
  /** Sampler units per micro-batch (images, or identities for emoji). */
  readonly units: number;
  readonly lr: number;
  readonly warmup: number;
  readonly minLrRatio: number;
  readonly weightDecay: number;
  readonly clip: number;
  readonly loss: LossOptions;
  /**
   * The general model's greyscale rate per view (default GENERAL_AUGMENT's); a resume may change
   * it, which starts a new schedule segment.
   */
  readonly greyRate?: number;
  /**
   * The general model's mix of cross-style and copy pairs (DEFAULT_STYLE_PAIRS when absent); a
   * resume may change it, which starts a new schedule segment.
   */
  readonly stylePairs?: StylePairs;
  /**
   * The general model's category pairs (none when absent); a resume may change them, which starts
   * a new schedule segment.
   */
  readonly categoryPairs?: CategoryPairs;
  readonly workers: number;
  /**
   * Shards each micro-batch is split into (default: one per worker); each shard's loss sees only
   * its own images. Fixing it keeps a run's arithmetic the same on fewer workers, and bounds the
   * size of one worker's graph.
   */
  readonly shards?: number;
  readonly seed: number;
  readonly checkpointMinutes: number;
  readonly evalEvery: number;
  readonly evalImages: number;
  readonly resume: boolean;
  readonly allowSlowCpu?: boolean;
  /** Stop (with a checkpoint) after this many steps in this invocation; resume later. */
  readonly stopAfterSteps?: number;
  /** Stop (with a checkpoint) after this many minutes of wall time; resume later. */
  readonly maxMinutes?: number;
}

export interface HistoryRow {
  step: number;
  lr: number;
  loss: Record<string, number>;
  gradNorm: number;
  imagesPerS: number;
  eval?: Record<string, number>;
}

interface RunState {
  step: number;
  sampler: SamplerState;
  history: HistoryRow[];
  options: TrainOptions;
  cpuSeconds: number;
  /**
   * The learning-rate schedules the run went through: a resume with another --steps starts a new
   * cosine schedule from that step, so reproducing the run takes one command per segment.
   */
  schedule?: ScheduleSegment[];
}

export interface ScheduleSegment {
  /** The step the segment starts from (0, or where a resume changed --steps or --grey). */
  readonly fromStep: number;
  readonly steps: number;
  /** Set when the run gave --grey. */
  readonly greyRate?: number;
  /** Set when the run gave --style-pairs, --style-repeats or --style-augment. */
  readonly stylePairs?: StylePairs;
  /** Set when the run gave --category-pairs or --category-repeats. */
  readonly categoryPairs?: CategoryPairs;
}

function segmentOf(o: TrainOptions, fromStep: number): ScheduleSegment {
  return {
    fromStep,
    steps: o.steps,
    ...(o.greyRate !== undefined ? { greyRate: o.greyRate } : {}),
    ...(o.stylePairs !== undefined ? { stylePairs: o.stylePairs } : {}),
    ...(o.categoryPairs !== undefined ? { categoryPairs: o.categoryPairs } : {}),
  };
}

/**
 * The general corpus's pair sampler. `given` are the run's own --style-* and --category-*
 * options, already checked (absent: the rules of runs before them, so those resume exactly).
 */
function generalSampler(
  set: CorpusSet,
  seed: number,
  at: SamplerState,
  given: Pick<TrainOptions, 'stylePairs' | 'categoryPairs'>,
): PairSampler {
  const category = (i: number) => subjectCategory(set.entries[i]!);
  const cats = given.categoryPairs;
  return new PairSampler(
    set,
    seed,
    { ...at },
    (u) =>
      unitRepeats(given.stylePairs, KIND_REPEATS[set.entries[u[0]!]!.kind] ?? 1, u.length, {
        pairs: cats,
        category: category(u[0]!) !== null,
      }),
    (given.stylePairs ?? DEFAULT_STYLE_PAIRS).crossStyle,
    cats ? { of: category, rate: cats.rate } : null,
  );
}

class WorkerPool {
  private readonly workers: Worker[];
  constructor(n: number) {
    this.workers = Array.from(
      { length: n },
      () => new Worker(new URL('./worker.js', import.meta.url)),
    );
  }
  get size() {
    return this.workers.length;
  }
  request(i: number, msg: WorkerRequest): Promise<WorkerReply> {
    const w = this.workers[i]!;
    return new Promise((resolve, reject) => {
      const onMsg = (r: WorkerReply) => {
        w.off('error', onErr);
        if (r.type === 'error') reject(new Error(`training worker ${i}: ${r.message}`));
        else resolve(r);
      };
      const onErr = (e: Error) => {
        w.off('message', onMsg);
        reject(e);
      };
      w.once('message', onMsg);
      w.once('error', onErr);
      w.postMessage(msg);
    });
  }
  all(msg: (i: number) => WorkerRequest): Promise<WorkerReply[]> {
    return Promise.all(this.workers.map((_, i) => this.request(i, msg(i))));
  }
  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

const CKPT = 'ckpt';
/**
 * The Adam moments go in one file each, so no checkpoint file outgrows the weights file and a
 * run's checkpoint can be committed; older checkpoints hold both in OPT_FILE.
 */
const OPT_FILE = 'optimizer.safetensors';
const MOMENT_FILES = { m: 'optimizer-m.safetensors', v: 'optimizer-v.safetensors' } as const;
const STATE_FILE = 'state.json';

function decayedNames(config: MatMambaVisionConfig): Set<string> {
  return new Set([...paramShapes(config)].filter(([, s]) => s.length >= 2).map(([k]) => k));
}

/** Writes weights, optimizer moments and run state atomically (new dir, then swap). */
function saveCheckpoint(
  o: TrainOptions,
  params: Map<string, Float32Array>,
  opt: AdamW,
  state: RunState,
) {
  const dir = join(o.runDir, CKPT);
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  rmSync(tmp, { recursive: true, force: true });
  saveWeights(tmp, o.config, params, { name: o.name, extra: { step: String(state.step) } });
  for (const which of ['m', 'v'] as const) {
    const moments = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, shape] of paramShapes(o.config))
      moments.set(`${which}.${k}`, { shape, data: opt[which].get(k)! });
    writeSafetensors(join(tmp, MOMENT_FILES[which]), moments, { step: String(opt.step) });
  }
  writeFileSync(join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The checkpoint folder of a run (the previous one if a swap was interrupted), or null. */
function checkpointDir(o: TrainOptions): string | null {
  const dir = join(o.runDir, CKPT);
  if (existsSync(join(dir, STATE_FILE))) return dir;
  if (existsSync(join(`${dir}.old`, STATE_FILE))) return `${dir}.old`;
  return null;
}

function loadCheckpointState(o: TrainOptions): RunState | null {
  const dir = checkpointDir(o);
  return dir ? (JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as RunState) : null;
}

function loadCheckpoint(o: TrainOptions) {
  const dir = checkpointDir(o);
  if (!dir) return null;
  const state = loadCheckpointState(o)!;
  const w = readSafetensors(join(dir, WEIGHTS_FILE)).tensors;
  const params = new Map<string, Float32Array>();
  for (const [k] of paramShapes(o.config)) {
    const t = w.get(k);
    if (!t)
      throw new ValidationError(
        `checkpoint in ${dir} lacks '${k}': was it made with another config?`,
      );
    params.set(k, t.data);
  }
  return { state, params, moments: readMoments(dir), dir };
}

/** Both moment files merged (or the older single file): tensors 'm.<name>' and 'v.<name>'. */
function readMoments(dir: string): SafetensorsFile {
  if (existsSync(join(dir, OPT_FILE))) return readSafetensors(join(dir, OPT_FILE));
  const m = readSafetensors(join(dir, MOMENT_FILES.m));
  const v = readSafetensors(join(dir, MOMENT_FILES.v));
  return { ...m, tensors: new Map([...m.tensors, ...v.tensors]) };
}

/**
 * A general-corpus run trains on the sources it started with: a new run records the rasterised
 * sources there are now; a resumed one keeps its recorded list (and says so if more arrived).
 */
function withFrozenCorpus(o: TrainOptions, log: (s: string) => void): TrainOptions {
  if (o.data.kind !== 'general' || o.data.sources) return o;
  const now = rasterisedSources(undefined, o.dataRoot);
  const ck = o.resume ? loadCheckpointState(o) : null;
  const prev = ck?.options.data;
  if (prev?.kind === 'general' && prev.sources) {
    const added = now.filter((s) => !prev.sources!.includes(s));
    if (added.length > 0)
      log(`resuming on the run's ${prev.sources.length} sources; not in it: ${added.join(', ')}`);
    return { ...o, data: prev };
  }
  return { ...o, data: { kind: 'general', sources: now } };
}

/** Trains (or resumes) and writes the final model. Returns the run's history. */
export async function train(
  o: TrainOptions,
  log: (s: string) => void = (s) => console.log(s),
): Promise<HistoryRow[]> {
  mkdirSync(o.runDir, { recursive: true });
  o = withFrozenCorpus(o, log);
  // Pixels live once, in shared memory that every worker reads (a corpus is gigabytes).
  const trainSet = shared(loadSplit(o.data, 'train', o.dataRoot));
  const testSet = shared(loadSplit(o.data, 'test', o.dataRoot));
  const byIdentity = o.data.kind === 'emoji';
  let params = initParams(o.config, o.seed);
  const opt = () =>
    new AdamW(params, decayedNames(o.config), {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: o.weightDecay,
    });
  let optimizer = opt();
  let state: RunState = {
    step: 0,
    sampler: { epoch: 0, pos: 0 },
    history: [],
    options: { ...o },
    cpuSeconds: 0,
    schedule: [segmentOf(o, 0)],
  };
  const ck = o.resume ? loadCheckpoint(o) : null;
  if (ck) {
    params = ck.params;
    optimizer = opt();
    optimizer.step = Number(ck.moments.metadata['step'] ?? ck.state.step);
    for (const k of params.keys()) {
      optimizer.m.set(k, ck.moments.tensors.get(`m.${k}`)!.data);
      optimizer.v.set(k, ck.moments.tensors.get(`v.${k}`)!.data);
    }
    const prev = ck.state.options;
    for (const key of ['config', 'data', 'levels', 'seed', 'units'] as const) {
      // A config is compared with its defaults filled in: a checkpoint written before a field
      // existed (e.g. `pool`) holds the same model as one that spells out the field's default.
      const same =
        key === 'config'
          ? sortedJson(makeConfig(prev.config)) === sortedJson(o.config)
          : JSON.stringify(prev[key]) === JSON.stringify(o[key]);
      if (!same) {
        throw new ValidationError(
          `cannot resume ${o.runDir}: its ${key} was ${JSON.stringify(prev[key])}, now ${JSON.stringify(o[key])}; ` +
            'use the same options or another --run directory',
        );
      }
    }
    // Runs from before segments were recorded ran one schedule, the one their options name.
    const schedule = ck.state.schedule ?? [{ fromStep: 0, steps: ck.state.options.steps }];
    const last = schedule[schedule.length - 1]!;
    if (
      last.steps !== o.steps ||
      last.greyRate !== o.greyRate ||
      JSON.stringify(last.stylePairs) !== JSON.stringify(o.stylePairs) ||
      JSON.stringify(last.categoryPairs) !== JSON.stringify(o.categoryPairs)
    )
      schedule.push(segmentOf(o, ck.state.step));
    state = { ...ck.state, options: { ...o }, schedule };
    log(
      `resumed ${o.name} from ${ck.dir} at step ${state.step}/${o.steps} (epoch ${state.sampler.epoch})`,
    );
  } else if (o.resume) {
    log(`no checkpoint in ${o.runDir}: starting ${o.name} from scratch`);
  }
  const stylePairs = checkStylePairs(o.stylePairs ?? DEFAULT_STYLE_PAIRS);
  const categoryPairs = o.categoryPairs ? checkCategoryPairs(o.categoryPairs) : undefined;
  const sampler =
    o.data.kind === 'general'
      ? generalSampler(trainSet as CorpusSet, o.seed, state.sampler, o)
      : new Sampler(trainSet, byIdentity, o.seed, { ...state.sampler });
  const nWorkers = Math.max(1, Math.min(o.workers, cpus().length));
  const shards = o.shards ?? nWorkers;
  if (!Number.isInteger(shards) || shards < 1 || shards > o.units)
    throw new ValidationError(`shards must be a whole number from 1 to ${o.units}, got ${shards}`);
  const pool = new WorkerPool(nWorkers);
  const augment = augmentFor(o.data, o.config.imageSize, o.config.inChans, o.greyRate);
  const styleAugment = styleAugmentFor(stylePairs, o.config.imageSize, o.config.inChans);
  try {
    const ready = await pool.all(() => ({
      type: 'init',
      sets: { train: trainSet, test: testSet },
      config: o.config,
      data: o.data,
      ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}),
      augment,
      ...(o.data.kind === 'general' && styleAugment ? { pairAugment: styleAugment } : {}),
      checkAugment: augmentFor(o.data, o.config.imageSize, o.config.inChans),
      loss: o.loss,
      allowSlowCpu: o.allowSlowCpu ?? false,
    }));
    const backend = (ready[0] as { backend: string }).backend;
    log(
      `training ${o.name}: ${o.config.dModel}-wide x ${o.config.nLayer} layers, levels [${o.levels.join(', ')}], ` +
        `${o.units * sampler.unitSize} images per micro-batch in ${shards} shard(s), ${nWorkers} worker(s) on tfjs-${backend}`,
    );
    if (categoryPairs && sampler instanceof PairSampler) {
      const { images, categories } = sampler.categorised;
      log(
        `category pairs: ${images} training images in ${categories} subject categories, ` +
          `paired by category in ${categoryPairs.rate * 100}% of their draws, drawn ${categoryPairs.repeats}x an epoch`,
      );
    }
    const progress = new Progress(o.steps, 'steps', process.stderr, 10_000, state.step);
    let lastCkpt = performance.now();
    let images = 0;
    const t0 = performance.now();
    const sendWeights = () =>
      pool.all(() => ({ type: 'weights', arrays: Object.fromEntries(params) }));
    await sendWeights();
    const startStep = state.step;
    let stopRequested = false;
    const onSignal = () => {
      stopRequested = true;
      log(
        '\nstopping after this step (checkpoint, then exit); run again with --resume to continue',
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const shouldStop = () =>
      stopRequested ||
      (o.stopAfterSteps !== undefined && state.step - startStep >= o.stopAfterSteps) ||
      (o.maxMinutes !== undefined && (performance.now() - t0) / 60000 >= o.maxMinutes);
    while (state.step < o.steps) {
      const plan = planStep(o.levels, sampler, o.units, nWorkers, o.seed, state.step, shards);
      const replies = (await pool.all((i) => ({ type: 'grads', micro: plan[i]! }))) as Extract<
        WorkerReply,
        { type: 'grads' }
      >[];
      const grads = new Map<string, Float32Array>();
      for (const r of replies) {
        for (const [k, g] of Object.entries(r.grads)) {
          const acc = grads.get(k);
          if (!acc) grads.set(k, g);
          else for (let i = 0; i < g.length; i++) acc[i] = acc[i]! + g[i]!;
        }
      }
      const gradNorm = clipGlobalNorm(grads, o.clip);
      const lr = learningRate(state.step, {
        peak: o.lr,
        warmup: o.warmup,
        total: o.steps,
        minRatio: o.minLrRatio,
      });
      optimizer.update(grads, lr);
      await sendWeights();
      const loss: Record<string, number> = {};
      for (const lvl of o.levels) {
        // Mean over shards, weighted by shard share (scale · g).
        let s = 0;
        replies.forEach((r, w) =>
          r.losses.forEach(
            (l, j) => l.width === lvl && (s += l.loss * plan[w]![j]!.scale * o.levels.length),
          ),
        );
        loss[lvl] = +s.toFixed(5);
      }
      images += plan.flat().reduce((n, m) => n + m.indices.length, 0);
      state.step++;
      state.sampler = { ...sampler.state };
      const elapsed = (performance.now() - t0) / 1000;
      const row: HistoryRow = {
        step: state.step,
        lr,
        loss,
        gradNorm: +gradNorm.toFixed(4),
        imagesPerS: +(images / elapsed).toFixed(1),
      };
      // Decided before the check, so an early stop (time or step limit) is checked too.
      const stop = shouldStop();
      if (state.step % o.evalEvery === 0 || state.step === o.steps || stop) {
        row.eval =
          o.data.kind === 'general'
            ? await copyEval(pool, testSet, o.levels, o.evalImages)
            : await quickEval(pool, testSet, o.levels, o.evalImages);
        log(
          `\nstep ${state.step}: ${Object.entries(row.eval)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join(', ')}`,
        );
      }
      state.history.push(row);
      progress.update(
        state.step,
        images,
        'img',
        `loss ${Object.values(loss)
          .map((v) => v.toFixed(3))
          .join('/')} lr ${lr.toExponential(2)} epoch ${state.sampler.epoch}`,
      );
      if (
        stop ||
        (performance.now() - lastCkpt) / 60000 >= o.checkpointMinutes ||
        state.step === o.steps
      ) {
        state.cpuSeconds += ((performance.now() - lastCkpt) / 1000) * nWorkers;
        saveCheckpoint(o, params, optimizer, state);
        lastCkpt = performance.now();
      }
      if (stop && state.step < o.steps) {
        progress.done();
        log(`stopped at step ${state.step}/${o.steps}; checkpoint in ${join(o.runDir, CKPT)}`);
        return state.history;
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.done();
    const id = saveWeights(o.outDir, o.config, params, {
      name: o.name,
      trainedWidths: o.levels,
      extra: {
        steps: String(state.step),
        data: o.data.kind,
        levels: o.levels.join(','),
        cpuHours: (state.cpuSeconds / 3600).toFixed(2),
      },
    });
    log(`wrote ${o.outDir} (${id})`);
    return state.history;
  } finally {
    await pool.close();
  }
}

/**
 * Quick held-out check on the first `n` test images, split across workers: top-1 per level when
 * the labels are the head's classes; for instance data (emoji, groups = vendors) cross-vendor
 * recall@1: the nearest image drawn by another vendor is the same emoji.
 */
async function quickEval(
  pool: WorkerPool,
  testSet: ImageSet,
  levels: readonly string[],
  n: number,
) {
  const count = Math.min(n, testSet.labels.length);
  const idx = Array.from({ length: count }, (_, i) => i);
  const per = Math.ceil(count / pool.size);
  const replies = (await pool.all((i) => ({
    type: 'eval',
    indices: idx.slice(i * per, (i + 1) * per),
    widths: [...levels],
  }))) as Extract<WorkerReply, { type: 'eval' }>[];
  const labels = Int32Array.from(idx, (i) => testSet.labels[i]!);
  const out: Record<string, number> = {};
  for (const lvl of levels) {
    if (!testSet.groups) {
      const pred = concat(replies.map((r) => r.predictions[lvl]!));
      out[`top1@${lvl}`] = pred.reduce((c, p, k) => c + (p === labels[k] ? 1 : 0), 0) / count;
    } else {
      const feats = concat(replies.map((r) => r.features[lvl]!));
      const groups = Int32Array.from(idx, (i) => testSet.groups![i]!);
      out[`xvendor-recall@1@${lvl}`] = crossGroupRecallAt1(
        feats,
        feats.length / count,
        labels,
        groups,
      );
    }
  }
  return out;
}

/**
 * The general model's check on its validation split: each of the first `n` images, seeded and
 * augmented like training, must find its own centred view among all `n` centred views at full
 * width (recall@1), for a query at every level: the asymmetric search the product runs.
 */
async function copyEval(pool: WorkerPool, testSet: ImageSet, levels: readonly string[], n: number) {
  const count = Math.min(n, testSet.labels.length);
  const idx = Array.from({ length: count }, (_, i) => i);
  const per = Math.ceil(count / pool.size);
  const features = async (seed?: number) =>
    (await pool.all((i) => ({
      type: 'eval',
      indices: idx.slice(i * per, (i + 1) * per),
      widths: [...levels],
      ...(seed !== undefined ? { seed: seed + i * per } : {}),
    }))) as Extract<WorkerReply, { type: 'eval' }>[];
  const db = await features();
  const queries = await features(12_345);
  const full = concat(db.map((r) => r.features['1'] ?? r.features[levels[0]!]!));
  const own = Int32Array.from(idx);
  const out: Record<string, number> = {};
  for (const lvl of levels) {
    const q = concat(queries.map((r) => r.features[lvl]!));
    out[`copy-recall@1@${lvl}`] = selfRecallAt1(q, full, full.length / count, own);
  }
  return out;
}

/** Fraction of query rows whose nearest database row (cosine) is row `own[i]`. */
function selfRecallAt1(q: Float32Array, db: Float32Array, D: number, own: Int32Array): number {
  const n = own.length;
  const dbn = normalizeRows(db, D); // the query's own norm does not change its ranking
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let arg = -1;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += q[i * D + d]! * dbn[j * D + d]!;
      if (s > best) [best, arg] = [s, j];
    }
    if (arg === own[i]) hits++;
  }
  return hits / n;
}

/** The set with its pixels moved into a SharedArrayBuffer (posted to workers without a copy). */
function shared<S extends ImageSet>(set: S): S {
  const pixels = new Uint8Array(new SharedArrayBuffer(set.pixels.length));
  pixels.set(set.pixels);
  return { ...set, pixels };
}

function concat<T extends Float32Array | Int32Array>(parts: T[]): T {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new (parts[0]!.constructor as new (n: number) => T)(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** JSON of a flat object with its keys sorted (key order is not part of a config). */
function sortedJson(o: object): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))),
  );
}
