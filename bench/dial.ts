/**
 * The quality/cost dial: what each query width buys and costs, end to end over HTTP.
 *   npm run bench -- dial [--quick] [--model DIR] [--queries N] [--rounds 32] [--clients 1,2]
 *                         [--data-root DIR]
 *
 * Two models: the shipped default (or --model DIR), and the 35M preset at 224 px with seeded
 * random weights (cost only: its rankings mean nothing). For each, the standard widths 1, 1/2,
 * 1/4, 1/8 and two Mix'n'Match points (widthsForBudget halfway between the costs of 1/8 and 1/4,
 * and of 1/2 and 1, as bench/encoder.ts picks them).
 *
 * Cost: `matsearch serve` (its own process, --refine-share 0) on a library embedded at full
 * width; for each client count, that many clients of our own (node:http, keep-alive) upload
 * query images (POST /api/search, multipart, refine off) one after another. Every upload is a
 * different image, a sample with one pixel changed: the server keeps recent query vectors by
 * image content and width, so a repeated image would not be encoded at all. Widths take turns
 * in rounds, so a change in the machine's load falls on all of them. Reported per width and
 * client count: queries/s, server-side (timings_ms.total) and end-to-end p50/p95, the server's
 * encode time, and the server process's CPU time per query (/proc, all threads).
 *
 * Quality (the shipped model only): in-process through the library API, the way search runs
 * (one encode at the query width, the shortlist rescored against the stored full-width
 * vectors, refine off), on the `matsearch eval` emoji protocol: every image queries the images
 * of the other two vendors, relevant = the same emoji. Sets: the shipped samples/ (100 held-out
 * emoji x 3 vendors), and without --quick the whole held-out split of the emoji cache
 * (`npm run data`, under --data-root). Each query's encoder calls are counted.
 * Writes docs/bench/dial.{json,md,svg}.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeInput, DECODE_DEFAULTS } from '../ingest/decode.js';
import { imageAt, imageCount } from '../src/data/image-set.js';
import { loadEmoji, splitEmoji } from '../src/data/emoji.js';
import type { Embedder } from '../src/embed/embedder.js';
import { DEFAULT_MODEL_DIR, openEmbedder, resolveModelDir } from '../src/embed/open.js';
import { metricsFromRanks } from '../src/eval/retrieval.js';
import { ValidationError } from '../src/errors.js';
import { openLibrary, type Library } from '../src/library.js';
import { initBackend } from '../src/model/backend.js';
import { parseConfig, presetConfig, type MatMambaVisionConfig } from '../src/model/config.js';
import { modelCost } from '../src/model/cost.js';
import { STANDARD_WIDTHS } from '../src/model/nesting.js';
import { MatMambaVision } from '../src/model/vision.js';
import { CONFIG_FILE, saveModel } from '../src/model/weights.js';
import { widthsForBudget } from '../src/runtime/mix-n-match.js';
import {
  acceptance,
  plot,
  report,
  type DialResult,
  type EvalSetInfo,
  type LevelRow,
  type ModelResult,
  type Quality,
  type Stats,
  type WidthResult,
} from './dial-report.js';
import { machine, positiveInts, writeReport } from './util.js';
import { agent, multipart, percentile, send, startServe, type Server } from './http.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SAMPLES = join(ROOT, 'samples');
/** The 35M model with random weights, kept between runs (seeded: always the same weights). */
const RANDOM_35M_DIR = join(ROOT, '.cache/bench/dial-35m');

/** A path as the report shows it: relative to the repository when inside it. */
const shown = (p: string) => (relative(ROOT, p).startsWith('..') ? p : relative(ROOT, p));

// ---- the server and its clients ------------------------------------------------------------

export async function stopServe(srv: Server): Promise<void> {
  if (srv.proc.exitCode !== null) return;
  const exited = new Promise((r) => srv.proc.once('exit', r));
  srv.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, every thread) a process has used, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
}

/** The fields of a search response this bench reads. */
interface SearchReply {
  readonly widths: { readonly query: string; readonly rerank: string | null };
  readonly refined: boolean;
  readonly timings_ms: {
    readonly queue: number;
    readonly decode: number;
    readonly encode: number;
    readonly refine_encode: number;
    readonly total: number;
  };
}

// ---- query images: every upload a different one --------------------------------------------

interface Base {
  readonly raw: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * Query PNGs made from the sample images, flattened on white (each distinct picture once): the
 * i-th is picture i mod n with
 * pixel floor(i / n) (raster order) moved by 128 in every channel, so no two are the same image
 * and none is a library image, and the server's query cache never answers for the encoder.
 */
export class QueryImages {
  private next = 0;

  private constructor(private readonly bases: readonly Base[]) {}

  static async from(files: readonly string[]): Promise<QueryImages> {
    const bases: Base[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      const { data, info } = await sharp(f)
        .flatten({ background: '#ffffff' })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      // Two files that draw the same pixels would give the same query images.
      const key = `${info.width}x${info.height} ${createHash('sha256').update(data).digest('hex')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      bases.push({ raw: data, width: info.width, height: info.height });
    }
    return new QueryImages(bases);
  }

  async take(n: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let k = 0; k < n; k++, this.next++) {
      const b = this.bases[this.next % this.bases.length]!;
      const px = Buffer.from(b.raw);
      const pos = Math.floor(this.next / this.bases.length) % (b.width * b.height);
      for (let c = 0; c < 3; c++) px[pos * 3 + c] = (px[pos * 3 + c]! + 128) & 255;
      out.push(
        await sharp(px, { raw: { width: b.width, height: b.height, channels: 3 } })
          .png({ compressionLevel: 1 })
          .toBuffer(),
      );
    }
    return out;
  }
}

// ---- measuring one width at one client count -----------------------------------------------

interface Tally {
  e2e: number[];
  server: number[];
  encode: number[];
  decode: number[];
  seconds: number;
  /** Each round's queries over its wall time. */
  roundQps: number[];
  cpuMs: number;
  cacheHits: number;
  secondEncodes: number;
  wrongWidth: number;
  failed: Record<string, number>;
}

const newTally = (): Tally => ({
  e2e: [],
  server: [],
  encode: [],
  decode: [],
  seconds: 0,
  roundQps: [],
  cpuMs: 0,
  cacheHits: 0,
  secondEncodes: 0,
  wrongWidth: 0,
  failed: {},
});

/** `clients` clients uploading `images` at `width` until none is left; adds to `t`. */
async function drive(
  srv: Server,
  clients: number,
  images: readonly Buffer[],
  width: string,
  label: string,
  t: Tally,
): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < images.length) {
      const m = multipart(images[next++]!, { width, k: '10', refine: 'false' });
      const r = await send(srv.url, 'POST', '/api/search', { 'content-type': m.type }, m.body, {
        timeoutMs: 300_000,
      });
      if (r.status !== 200) {
        const key = r.status === 0 ? `network error ${r.error}` : `${r.status} ${r.body}`;
        t.failed[key] = (t.failed[key] ?? 0) + 1;
        continue;
      }
      const j = JSON.parse(r.body) as SearchReply;
      t.e2e.push(r.ms);
      t.server.push(j.timings_ms.total);
      t.encode.push(j.timings_ms.encode);
      t.decode.push(j.timings_ms.decode);
      if (j.timings_ms.encode === 0) t.cacheHits++;
      if (j.refined || j.timings_ms.refine_encode > 0 || j.widths.rerank !== j.widths.query)
        t.secondEncodes++;
      if (j.widths.query !== label) t.wrongWidth++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}

const r2 = (x: number) => +x.toFixed(2);
const stats = (xs: readonly number[]): Stats => ({
  n: xs.length,
  p50: r2(percentile(xs, 50)),
  p95: r2(percentile(xs, 95)),
});

function levelRow(clients: number, t: Tally): LevelRow {
  const n = t.e2e.length;
  return {
    clients,
    queries: n,
    seconds: r2(t.seconds),
    // The median round: a burst of the machine's other load spoils a round, not the width.
    qps: r2(median(t.roundQps)),
    pooledQps: r2(n / t.seconds),
    roundQps: t.roundQps.map(r2),
    server: stats(t.server),
    endToEnd: stats(t.e2e),
    encode: stats(t.encode),
    decode: stats(t.decode),
    cpuMsPerQuery: r2(t.cpuMs / Math.max(1, n)),
    cacheHits: t.cacheHits,
    secondEncodes: t.secondEncodes,
    wrongWidth: t.wrongWidth,
    failed: t.failed,
  };
}

/** The median round: with an even count of rounds (32), the mean of the middle two. */
const median = (xs: readonly number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** Splits n into `parts` near-equal whole numbers. */
const split = (n: number, parts: number) =>
  Array.from(
    { length: parts },
    (_, r) => Math.floor((n * (r + 1)) / parts) - Math.floor((n * r) / parts),
  );

interface CostPlan {
  readonly name: string;
  readonly modelDir: string;
  readonly library: string;
  readonly queryFiles: readonly string[];
  readonly widths: readonly string[];
  readonly queries: number;
  readonly clients: readonly number[];
  readonly rounds: number;
}

/** The server on `plan.library`: warm-up, then every width at every client count, in rounds. */
async function measureCost(plan: CostPlan) {
  const images = await QueryImages.from(plan.queryFiles);
  const srv = await startServe(plan.library, plan.modelDir, ['--refine-share', '0']);
  const pid = srv.proc.pid!;
  const tallies = new Map<string, Tally>();
  try {
    // Untimed: each width's ONNX export and one session on each encoder worker.
    for (const w of plan.widths) {
      const warm = newTally();
      for (let i = 0; i < 2; i++) await drive(srv, 2, await images.take(2), w, w, warm);
      if (Object.keys(warm.failed).length > 0)
        throw new Error(`warm-up at ${w} failed: ${JSON.stringify(warm.failed)}`);
    }
    for (const clients of plan.clients) {
      for (const w of plan.widths) tallies.set(`${clients} ${w}`, newTally());
      const perRound = split(plan.queries, plan.rounds);
      for (let r = 0; r < plan.rounds; r++) {
        // Widths in turn, the order rotated each round.
        const order = plan.widths.map((_, i) => plan.widths[(i + r) % plan.widths.length]!);
        for (const w of order) {
          // Untimed: at 35M an exported Mix'n'Match model is larger than the encoder's cache of
          // exported specs (16 MiB), so turning from one spec to the other exports it again.
          await drive(srv, 2, await images.take(2), w, w, newTally());
          const batch = await images.take(perRound[r]!);
          const t = tallies.get(`${clients} ${w}`)!;
          const c0 = cpuMs(pid);
          const t0 = performance.now();
          await drive(srv, clients, batch, w, w, t);
          const seconds = (performance.now() - t0) / 1000;
          t.seconds += seconds;
          t.roundQps.push(batch.length / seconds);
          t.cpuMs += cpuMs(pid) - c0;
        }
      }
      for (const w of plan.widths) {
        const row = levelRow(clients, tallies.get(`${clients} ${w}`)!);
        console.log(
          `  ${plan.name} ${w}, ${clients} client(s): ${row.qps} q/s, encode p50 ` +
            `${row.encode.p50} ms, server p50/p95 ${row.server.p50}/${row.server.p95} ms, ` +
            `end to end ${row.endToEnd.p50}/${row.endToEnd.p95} ms, CPU ${row.cpuMsPerQuery} ms/query`,
        );
      }
    }
  } finally {
    await stopServe(srv);
  }
  return (w: string) => plan.clients.map((c) => levelRow(c, tallies.get(`${c} ${w}`)!));
}

// ---- libraries and quality -----------------------------------------------------------------

/** The image files under `dir` (PNG and SVG), sorted. */
export function imageFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => ['.png', '.svg'].includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

/** A library of `root` embedded at full width; returns its image count. */
export async function buildLibrary(embedder: Embedder, dir: string, root: string): Promise<number> {
  const lib = openLibrary(dir, { embedder, log: () => {} });
  try {
    const s = await lib.ingest([root], { width: 1 });
    return s.added;
  } finally {
    lib.close();
  }
}

/** Every image of a library with its file, its label (file name) and vendor (folder). */
function libraryItems(lib: Library) {
  const items: { id: number; path: string; label: string; vendor: string }[] = [];
  for (let after = 0; ;) {
    const page = lib.store.listImages(after, 500);
    if (page.length === 0) break;
    for (const row of page) {
      const path = lib.store.pathsOf(row.id)[0];
      if (path === undefined) continue;
      const label = basename(path, extname(path));
      items.push({ id: row.id, path, label, vendor: basename(dirname(path)) });
    }
    after = page[page.length - 1]!.id;
  }
  return items;
}

/**
 * mAP@10, recall@1 and recall@10 of each width on one set: each image, decoded once, is
 * searched at the width (one encode, exact rerank against the stored full-width vectors, refine
 * off, no near-duplicate dropping) with its own vendor's images excluded; relevant = the same
 * emoji drawn by another vendor. Also counts the encoder calls the searches made.
 */
export async function quality(
  embedder: Embedder,
  dir: string,
  widths: readonly string[],
): Promise<Map<string, Quality>> {
  const lib = openLibrary(dir, { embedder, index: { thread: 'worker' }, log: () => {} });
  const out = new Map<string, Quality>();
  try {
    const items = libraryItems(lib);
    const opts = {
      maxPixels: DECODE_DEFAULTS.maxPixels,
      inputSize: embedder.inputSize,
      inputChannels: embedder.inputChannels,
    };
    const inputs = [];
    for (const it of items) inputs.push(await decodeInput(await readFile(it.path), opts));
    const byId = new Map(items.map((it) => [it.id, it]));
    const sameVendor = new Map<string, number[]>();
    for (const it of items)
      sameVendor.set(it.vendor, [...(sameVendor.get(it.vendor) ?? []), it.id]);
    const relevant = items.map(
      (q) => items.filter((j) => j.label === q.label && j.vendor !== q.vendor).length,
    );
    const isRelevant = (q: number, id: number) => {
      const j = byId.get(id);
      return j !== undefined && j.label === items[q]!.label && j.vendor !== items[q]!.vendor;
    };
    for (const w of widths) {
      const encodes0 = lib.searcher.encodes;
      let encodeMs = 0;
      const ranks: number[][] = [];
      for (const [q, it] of items.entries()) {
        const r = await lib.searcher.search(inputs[q]!, {
          width: w,
          k: 10,
          exclude: sameVendor.get(it.vendor)!,
          dedupe: false,
          refine: false,
        });
        encodeMs += r.timings.encode;
        ranks.push(r.results.map((h) => h.id));
      }
      const m = metricsFromRanks(ranks, isRelevant, (q) => relevant[q]!);
      const row: Quality = {
        queries: m.queries,
        mapAt10: +m.mapAt10.toFixed(4),
        recallAt1: +m.recallAt1.toFixed(4),
        recallAt10: +m.recallAt10.toFixed(4),
        encoderCalls: lib.searcher.encodes - encodes0,
        searches: items.length,
        inProcessEncodeMs: r2(encodeMs / items.length),
      };
      out.set(w, row);
      console.log(
        `  quality ${basename(dir)} at ${w}: mAP@10 ${(100 * row.mapAt10).toFixed(2)}%, ` +
          `recall@10 ${(100 * row.recallAt10).toFixed(2)}% (${row.queries} queries, ` +
          `${row.encoderCalls} encoder calls for ${row.searches} searches)`,
      );
    }
  } finally {
    lib.close();
  }
  return out;
}

/** The held-out emoji of the cache (the split `matsearch eval --data emoji` scores) as PNGs. */
async function writeHeldOut(root: string, out: string): Promise<number> {
  const test = splitEmoji(loadEmoji(root), 0.8, 0).test;
  const names = test.groupNames ?? [];
  for (let i = 0; i < imageCount(test); i++) {
    const vendor = names[test.groups![i]!] ?? String(test.groups![i]);
    mkdirSync(join(out, vendor), { recursive: true });
    await sharp(Buffer.from(imageAt(test, i)), {
      raw: { width: test.size, height: test.size, channels: 3 },
    })
      .png()
      .toFile(join(out, vendor, `${test.classes[test.labels[i]!]}.png`));
  }
  return imageCount(test);
}

// ---- models ----------------------------------------------------------------------------------

export function readConfig(dir: string): {
  name: string;
  modelId: string;
  cfg: MatMambaVisionConfig;
} {
  const json = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as {
    name?: string;
    modelId?: string;
  };
  return { name: json.name ?? basename(dir), modelId: json.modelId ?? '', cfg: parseConfig(json) };
}

/** The 35M preset (224 px, features only) with seeded random weights, written once. */
export async function random35M(): Promise<string> {
  if (existsSync(join(RANDOM_35M_DIR, CONFIG_FILE))) return RANDOM_35M_DIR;
  console.log(`writing the 35M preset with random weights to ${RANDOM_35M_DIR} ...`);
  await initBackend({ purpose: 'inference' });
  const model = MatMambaVision.create(presetConfig('35M', { nClasses: 0 }), 0);
  try {
    saveModel(model, RANDOM_35M_DIR, {
      name: 'random-35M',
      extra: { note: 'random initialisation: for cost measurements only' },
    });
  } finally {
    model.dispose();
  }
  return RANDOM_35M_DIR;
}

/** The standard widths, then the two Mix'n'Match points, as bench/encoder.ts picks them. */
function widthsOf(cfg: MatMambaVisionConfig): { width: string; mix: boolean }[] {
  const c = (w: string) => modelCost(cfg, w).macs;
  const mix = [
    widthsForBudget(cfg, Math.floor((c('1/8') + c('1/4')) / 2)).label,
    widthsForBudget(cfg, Math.floor((c('1/2') + c('1')) / 2)).label,
  ];
  return [
    ...STANDARD_WIDTHS.map((width) => ({ width, mix: false })),
    ...mix.map((width) => ({ width, mix: true })),
  ];
}

// ---- the bench -------------------------------------------------------------------------------

export async function benchDial(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      model: { type: 'string' },
      queries: { type: 'string' },
      rounds: { type: 'string' },
      clients: { type: 'string', default: '1,2' },
      'data-root': { type: 'string' },
    },
  });
  const quick = v.quick === true;
  const clients = v.clients!.split(',').map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1)
      throw new ValidationError('--clients must list positive integers, e.g. 1,2');
    return n;
  });
  const [given] = v.queries === undefined ? [undefined] : positiveInts(v, ['queries']);
  const [givenRounds] = v.rounds === undefined ? [undefined] : positiveInts(v, ['rounds']);
  // Rounds: the shipped model's widths differ by a few % of a query's CPU (its encode is a
  // fraction of the upload, decode and search around it), so they take turns often, in short
  // rounds of 30 queries: each width's rate is its median round, and neighbouring widths are
  // compared round by round (dial-report.ts acceptance); more rounds, narrower intervals.
  const rounds = { shipped: givenRounds ?? (quick ? 3 : 32), big: quick ? 3 : 3 };
  // Queries per width and client count: the 35M model costs ~100x the shipped one per image.
  const queries = {
    shipped: given ?? (quick ? 60 : 30 * rounds.shipped),
    big: given ?? (quick ? 20 : 60),
  };
  const dataRoot = v['data-root'] ?? join(ROOT, '.cache/data');
  const started = performance.now();
  const loadStart = +loadavg()[0]!.toFixed(2);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-dial-'));
  const samples = imageFiles(SAMPLES);
  try {
    const models: ModelResult[] = [];
    const evalSets: EvalSetInfo[] = [];

    // The shipped model: quality in-process first, then its cost over HTTP.
    const shippedDir = resolveModelDir(v.model ?? DEFAULT_MODEL_DIR);
    const shipped = readConfig(shippedDir);
    const shippedWidths = widthsOf(shipped.cfg);
    const qualityBySet = new Map<string, Map<string, Quality>>();
    const shippedLib = join(tmp, 'lib-shipped');
    console.log(`${shipped.name}: libraries and quality ...`);
    {
      const embedder = await openEmbedder(shippedDir);
      try {
        const sets = [
          {
            name: 'samples',
            root: SAMPLES,
            lib: shippedLib,
            description:
              'samples/: 100 held-out emoji x 3 vendors (shipped); each image queries the other two vendors',
          },
        ];
        if (!quick) {
          if (existsSync(join(dataRoot, 'emoji-64.bin'))) {
            const dir = join(tmp, 'held-out');
            await writeHeldOut(dataRoot, dir);
            sets.push({
              name: 'emoji held-out',
              root: dir,
              lib: join(tmp, 'lib-held-out'),
              description:
                `the held-out split of ${shown(join(dataRoot, 'emoji-64.bin'))} (64 px ` +
                'rasters, as matsearch eval --data emoji scores it); each image queries the ' +
                'other two vendors',
            });
          } else console.log(`  no emoji cache under ${dataRoot}: the samples set only`);
        }
        for (const s of sets) {
          const files = imageFiles(s.root).length;
          const images = await buildLibrary(embedder, s.lib, s.root);
          const q = await quality(
            embedder,
            s.lib,
            shippedWidths.map((w) => w.width),
          );
          qualityBySet.set(s.name, q);
          const first = [...q.values()][0]!;
          evalSets.push({
            name: s.name,
            description: s.description,
            files,
            images,
            queries: first.queries,
          });
        }
      } finally {
        await embedder.close();
      }
    }
    const shippedCost = await measureCost({
      name: shipped.name,
      modelDir: shippedDir,
      library: shippedLib,
      queryFiles: samples,
      widths: shippedWidths.map((w) => w.width),
      queries: queries.shipped,
      clients,
      rounds: rounds.shipped,
    });
    models.push({
      name: shipped.name,
      role: 'shipped',
      modelDir: shown(shippedDir),
      modelId: shipped.modelId,
      randomWeights: false,
      config: shipped.cfg,
      libraryImages: evalSets[0]!.images,
      queriesPerLevel: queries.shipped,
      widths: shippedWidths.map((w): WidthResult => ({
        width: w.width,
        mix: w.mix,
        macs: modelCost(shipped.cfg, w.width).macs,
        levels: shippedCost(w.width),
        quality: Object.fromEntries([...qualityBySet].map(([set, q]) => [set, q.get(w.width)!])),
      })),
    });

    // The 35M preset, random weights: cost only, on a library of sample images.
    const bigDir = await random35M();
    const big = readConfig(bigDir);
    const bigWidths = widthsOf(big.cfg);
    const bigFiles = quick ? samples.filter((_, i) => i % 10 === 0) : samples;
    const bigRoot = join(tmp, 'big-root');
    for (const [i, f] of bigFiles.entries()) {
      mkdirSync(bigRoot, { recursive: true });
      copyFileSync(f, join(bigRoot, `${String(i).padStart(3, '0')}${extname(f)}`));
    }
    const bigLib = join(tmp, 'lib-35m');
    console.log(`35M: a library of ${bigFiles.length} sample images at full width ...`);
    let bigImages: number;
    {
      const embedder = await openEmbedder(bigDir);
      try {
        bigImages = await buildLibrary(embedder, bigLib, bigRoot);
      } finally {
        await embedder.close();
      }
    }
    const bigCost = await measureCost({
      name: '35M',
      modelDir: bigDir,
      library: bigLib,
      queryFiles: samples,
      widths: bigWidths.map((w) => w.width),
      queries: queries.big,
      clients,
      rounds: rounds.big,
    });
    models.push({
      name: big.name,
      role: '35M',
      modelDir: shown(bigDir),
      modelId: big.modelId,
      randomWeights: true,
      config: big.cfg,
      libraryImages: bigImages,
      queriesPerLevel: queries.big,
      widths: bigWidths.map((w): WidthResult => ({
        width: w.width,
        mix: w.mix,
        macs: modelCost(big.cfg, w.width).macs,
        levels: bigCost(w.width),
        quality: null,
      })),
    });

    const minutes = (performance.now() - started) / 60000;
    const result: DialResult = {
      bench: 'dial',
      quick,
      machine: machine(),
      load: { start: loadStart, end: +loadavg()[0]!.toFixed(2) },
      minutes: +minutes.toFixed(1),
      clients,
      rounds,
      server: 'matsearch serve (default --concurrency 2, --max-queue 32), --refine-share 0',
      queryImages:
        'each upload a different PNG: a sample emoji flattened on white with one pixel moved by ' +
        '128 in every channel (the server caches query vectors by image content and width)',
      evalSets,
      models,
      acceptance: acceptance(models),
    };
    const out = join(ROOT, 'docs/bench');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'dial.svg'), plot(result));
    writeReport(join(out, 'dial.json'), result, join(out, 'dial.md'), report(result));
    console.log(`done in ${minutes.toFixed(1)} min; wrote docs/bench/dial.svg`);
  } finally {
    agent.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}
