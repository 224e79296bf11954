/**
 * End-to-end ingest throughput at each width, side by side in one run.
 *   npm run bench -- ingest [--files 2000] [--folder DIR] [--model DIR] [--reps 3]
 *                           [--batch 32] [--concurrency 4] [--only emoji|photos]
 *                           [--photos 200] [--baseline DIR]
 *
 * First the 12 MP photo ingest against the decode-only bound (ingest-photos.ts, its own report),
 * then the following (`--only` runs one of the two).
 *
 * A fixed, sorted subset of real images (by default half Twitter PNG emoji at 64 px, half
 * OpenMoji SVGs, from `npm run data`) is copied into a temporary folder. Each rep then ingests
 * it through the library API (`openLibrary(...).ingest`), into a fresh library every time:
 *   - once with no encoder (a stand-in that returns a fixed vector at once): decode, thumbnails
 *     and database writes alone, the rate ingest would reach with a free encoder;
 *   - at each width 1, 1/2, 1/4, 1/8: the encoder alone (the images that stand-in received,
 *     embedded in batches one after another, as ingest flushes them), then the whole ingest,
 *     with the time spent inside `embed` (the encoder's busy time) measured around the encoder.
 * Widths rotate between reps. Medians over reps, min-max in brackets.
 * Writes docs/bench/ingest.{json,md,svg}.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Embedder } from '../src/embed/embedder.js';
import { openEmbedder, resolveModelDir } from '../src/embed/open.js';
import { NotFoundError, ValidationError } from '../src/errors.js';
import { openLibrary } from '../src/library.js';
import { initBackend } from '../src/model/backend.js';
import { parseConfig, presetConfig } from '../src/model/config.js';
import { modelCost } from '../src/model/cost.js';
import { STANDARD_WIDTHS, type WidthSpec } from '../src/model/nesting.js';
import { MatMambaVision } from '../src/model/vision.js';
import { CONFIG_FILE, saveModel } from '../src/model/weights.js';
import { walk } from '../ingest/walk.js';
import { benchIngestPhotos } from './ingest-photos.js';
import { report, plot, type IngestResult, type Rate } from './ingest-report.js';
import { machine, median, positiveInts, writeReport } from './util.js';

const EMOJI = fileURLToPath(new URL('../../.cache/data/emoji/', import.meta.url));
const PNG_DIR = join(EMOJI, 'twitter/img/twitter/64');
const SVG_DIR = join(EMOJI, 'openmoji/color/svg');

/**
 * The encoder it wraps, timed (`busyMs`: time inside `embed`; ingest embeds one batch at a time,
 * so this is the encoder's busy time); or, with `encode` false, a stand-in that returns a fixed
 * unit vector at once and keeps the inputs it was given.
 */
class ProbeEmbedder implements Embedder {
  busyMs = 0;
  readonly inputs: Float32Array[] = [];

  constructor(
    private readonly base: Embedder,
    private readonly encode: boolean,
  ) {}

  get modelId() {
    return this.encode ? this.base.modelId : 'no-encoder@bench';
  }
  get dim() {
    return this.base.dim;
  }
  get inputSize() {
    return this.base.inputSize;
  }
  get inputChannels() {
    return this.base.inputChannels;
  }
  widthLabel(w: WidthSpec) {
    return this.base.widthLabel(w);
  }
  widthRank(w: WidthSpec) {
    return this.base.widthRank(w);
  }

  async embed(inputs: readonly Float32Array[], width: WidthSpec): Promise<Float32Array[]> {
    if (!this.encode) {
      this.inputs.push(...inputs);
      const v = new Float32Array(this.dim);
      v[0] = 1;
      return inputs.map(() => v);
    }
    const t0 = performance.now();
    try {
      return await this.base.embed(inputs, width);
    } finally {
      this.busyMs += performance.now() - t0;
    }
  }

  async close() {}
}

/** The benchmark's images: the first `n` of `folder` in walk order, or the default emoji mix. */
export function pickFiles(
  folder: string | undefined,
  n: number,
): { files: string[]; source: string } {
  if (folder) {
    const found = [...walk([folder], {}, () => {})].map((f) => f.path);
    if (found.length === 0) throw new NotFoundError(`no image files under ${folder}`);
    return { files: found.slice(0, n), source: folder };
  }
  const list = (dir: string, ext: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => extname(f).toLowerCase() === ext)
          .sort()
          .map((f) => join(dir, f))
      : [];
  const png = list(PNG_DIR, '.png');
  const svg = list(SVG_DIR, '.svg');
  if (png.length + svg.length === 0)
    throw new NotFoundError(`no emoji under ${EMOJI}; run 'npm run data' or pass --folder DIR`);
  const nSvg = Math.min(svg.length, Math.max(Math.floor(n / 2), n - png.length));
  const files = [...png.slice(0, n - nSvg), ...svg.slice(0, nSvg)];
  return {
    files,
    source: `${files.length - nSvg} Twitter PNG emoji (64 px) + ${nSvg} OpenMoji SVGs, the first of each by name`,
  };
}

/** The model to embed with; a randomly initialised emoji-shaped `tiny` when there is none. */
export async function pickModel(given: string | undefined, tmp: string) {
  try {
    return { dir: resolveModelDir(given), random: false };
  } catch (err) {
    if (given || !(err instanceof NotFoundError)) throw err;
  }
  // The emoji training config (src/train/data.ts configFor): 32 px RGB on `tiny`'s 4 px patches.
  // No classifier head: ingest uses the features only, and speed does not depend on the weights.
  await initBackend({ purpose: 'inference' });
  const model = MatMambaVision.create(
    presetConfig('tiny', { imageSize: 32, inChans: 3, nClasses: 0 }),
    0,
  );
  const dir = join(tmp, 'model');
  saveModel(model, dir, { name: 'random-emoji-tiny' });
  model.dispose();
  return { dir, random: true };
}

interface Sample {
  images: number;
  seconds: number;
}

/** Median images/s over the reps (and the median run's seconds), with the slowest and fastest. */
function rate(samples: readonly Sample[]): Rate {
  const r = samples.map((s) => s.images / s.seconds).sort((a, b) => a - b);
  const mid = r[r.length >> 1]!;
  const at = samples.find((s) => s.images / s.seconds === mid)!;
  const f = (x: number) => +x.toFixed(1);
  return { seconds: +at.seconds.toFixed(2), imagesPerS: f(mid), min: f(r[0]!), max: f(r.at(-1)!) };
}

interface Plan {
  readonly tmp: string;
  /** The copied images, and the first 64 of them for the warm-up. */
  readonly folder: string;
  readonly warm: string;
  readonly reps: number;
  readonly batch: number;
  readonly concurrency: number;
}

/** The warm-up, then `reps` rotating rounds of: no encoder, and per width alone + end to end. */
async function measure(embedder: Embedder, p: Plan) {
  let libs = 0;
  const ingestOnce = async (e: ProbeEmbedder, width: WidthSpec, root = p.folder) => {
    const lib = openLibrary(join(p.tmp, `lib-${libs++}`), { embedder: e, log: () => {} });
    try {
      return await lib.ingest([root], { width, batch: p.batch, concurrency: p.concurrency });
    } finally {
      lib.close();
    }
  };
  // Warm-up, untimed: sharp, SQLite and the JIT on every file (keeping the decoded inputs for
  // the encoder-alone runs), and every width's ONNX export and sessions.
  const stand = new ProbeEmbedder(embedder, false);
  const first = await ingestOnce(stand, 1);
  for (const w of STANDARD_WIDTHS) await ingestOnce(new ProbeEmbedder(embedder, true), w, p.warm);
  const runs = new Map<string, { e2e: Sample[]; alone: Sample[]; busy: number[] }>(
    ['none', ...STANDARD_WIDTHS].map((k) => [k, { e2e: [], alone: [], busy: [] }]),
  );
  const keys = [...runs.keys()];
  for (let r = 0; r < p.reps; r++) {
    for (const key of keys.map((_, i) => keys[(i + r) % keys.length]!)) {
      const m = runs.get(key)!;
      const rep = `rep ${r + 1}/${p.reps}`;
      if (key === 'none') {
        const s = await ingestOnce(new ProbeEmbedder(embedder, false), 1);
        m.e2e.push({ images: s.embedded, seconds: s.seconds });
        console.log(`${rep}, no encoder: ${s.imagesPerSecond.toFixed(1)} images/s`);
        continue;
      }
      const t0 = performance.now();
      for (let i = 0; i < stand.inputs.length; i += p.batch)
        await embedder.embed(stand.inputs.slice(i, i + p.batch), key);
      m.alone.push({ images: stand.inputs.length, seconds: (performance.now() - t0) / 1000 });
      const probe = new ProbeEmbedder(embedder, true);
      const s = await ingestOnce(probe, key);
      m.e2e.push({ images: s.embedded, seconds: s.seconds });
      m.busy.push(probe.busyMs / 1000 / s.seconds);
      console.log(
        `${rep}, width ${key}: ${s.imagesPerSecond.toFixed(1)} images/s end to end, encoder ` +
          `alone ${rate(m.alone.slice(-1)).imagesPerS}, encoder busy ` +
          `${(100 * m.busy.at(-1)!).toFixed(0)}%`,
      );
    }
  }
  return { files: first.files, embedded: first.embedded, failed: first.failed, runs };
}

export async function benchIngest(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      files: { type: 'string', default: '2000' },
      folder: { type: 'string' },
      model: { type: 'string' },
      reps: { type: 'string', default: '3' },
      batch: { type: 'string', default: '32' },
      concurrency: { type: 'string', default: '4' },
      only: { type: 'string' },
      photos: { type: 'string', default: '200' },
      baseline: { type: 'string' },
    },
  });
  if (values.only !== undefined && values.only !== 'emoji' && values.only !== 'photos')
    throw new ValidationError(`--only must be emoji or photos, got '${values.only}'`);
  if (values.only !== 'emoji') {
    const [photos, photoReps] = positiveInts(values, ['photos', 'reps']) as [number, number];
    await benchIngestPhotos({
      photos,
      reps: photoReps,
      ...(values.model ? { model: values.model } : {}),
      ...(values.baseline ? { baseline: values.baseline } : {}),
    });
    if (values.only === 'photos') return;
  }
  const [n, reps, batch, concurrency] = positiveInts(values, [
    'files',
    'reps',
    'batch',
    'concurrency',
  ]) as [number, number, number, number];
  const tmp = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  try {
    const { files, source } = pickFiles(values.folder, n);
    // Copies, so every ingest reads the same files (from the page cache after the first).
    const folder = join(tmp, 'images');
    const warm = join(tmp, 'warm-up');
    for (const d of [folder, warm]) mkdirSync(d);
    files.forEach((f, i) => {
      const name = `${String(i).padStart(6, '0')}-${basename(f)}`;
      copyFileSync(f, join(folder, name));
      if (i < 64) copyFileSync(f, join(warm, name));
    });
    const model = await pickModel(values.model, tmp);
    const config = parseConfig(JSON.parse(readFileSync(join(model.dir, CONFIG_FILE), 'utf8')));
    const embedder = await openEmbedder(model.dir);
    const modelId = embedder.modelId;
    console.log(
      `${files.length} files (${source}); model ${modelId}${model.random ? ' (random weights)' : ''}`,
    );
    const loadStart = +loadavg()[0]!.toFixed(2);
    const started = performance.now();
    let m: Awaited<ReturnType<typeof measure>>;
    try {
      m = await measure(embedder, { tmp, folder, warm, reps, batch, concurrency });
    } finally {
      await embedder.close();
    }
    const result: IngestResult = {
      bench: 'ingest',
      machine: machine(),
      minutes: +((performance.now() - started) / 60000).toFixed(1),
      load: { start: loadStart, end: +loadavg()[0]!.toFixed(2) },
      source,
      files: m.files,
      embedded: m.embedded,
      failed: m.failed,
      model: { id: modelId, random: model.random, dir: model.random ? null : model.dir },
      reps,
      batch,
      concurrency,
      noEncoder: rate(m.runs.get('none')!.e2e),
      widths: STANDARD_WIDTHS.map((w) => {
        const run = m.runs.get(w)!;
        return {
          width: w,
          macs: modelCost(config, w).macs,
          endToEnd: rate(run.e2e),
          encoderAlone: rate(run.alone),
          encoderBusy: +median(run.busy).toFixed(3),
        };
      }),
    };
    writeFileSync('docs/bench/ingest.svg', plot(result));
    writeReport('docs/bench/ingest.json', result, 'docs/bench/ingest.md', report(result));
    console.log(`done in ${result.minutes} min; wrote docs/bench/ingest.svg`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
