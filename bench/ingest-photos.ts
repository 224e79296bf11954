/**
 * Ingest of 12 MP photos as a user runs it, against the decode-only bound, side by side in one run.
 *   npm run bench -- ingest --only photos [--photos 200] [--reps 3] [--model DIR] [--baseline DIR]
 *
 * The photos are real photographs upscaled to 4000x3000 JPEG (photos-12mp.ts; kept in
 * .cache/bench-photos). Each rep, in rotating order, with a new process each time (start-up
 * included):
 *   - decode only: every file decoded to 64 px with shrink-on-load, 4 in parallel (decode-only.ts);
 *   - `matsearch ingest DIR` into a fresh library at the default width (the export cache filled
 *     by an untimed warm-up), with the process's peak RSS;
 *   - with --baseline DIR (another checkout's root, built): the same ingest by its CLI.
 * Medians over reps. Also the memory each file in flight holds: its bytes, its scaled decode and
 * the work image (decode.ts). Writes docs/bench/ingest-photos.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { resolveModelDir } from '../src/embed/open.js';
import { readModelDir } from '../src/model/model-dir.js';
import { decodedBytes, DECODE_DEFAULTS, loadShrink, workBox } from '../ingest/decode.js';
import { profileStages, type StageCost } from './ingest-profile.js';
import { photos12mp } from './photos-12mp.js';
import { machine, mdTable, median, writeReport } from './util.js';

const DIST = fileURLToPath(new URL('../', import.meta.url));
const MAX_RSS = join(DIST, 'bench', 'max-rss.js');

interface Run {
  readonly ms: number;
  readonly maxRssMb: number;
  /** CPU time of the process, all threads. */
  readonly cpuMs: number;
}

/** Wall time and peak RSS of one process. */
function timed(args: string[], env: NodeJS.ProcessEnv): Run & { stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', MAX_RSS, ...args], { encoding: 'utf8', env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  const kb = Number(/max-rss-kb (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const cpuMs = Number(/cpu-ms (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { ms, maxRssMb: +(kb / 1024).toFixed(0), cpuMs, stdout: r.stdout };
}

export interface PhotoOptions {
  readonly photos: number;
  readonly reps: number;
  readonly model?: string;
  readonly baseline?: string;
}

export async function benchIngestPhotos(o: PhotoOptions): Promise<void> {
  const { files, source } = await photos12mp(resolve('.cache/bench-photos'), o.photos);
  const folder = resolve('.cache/bench-photos');
  const model = resolveModelDir(o.model);
  const info = readModelDir(model);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-photos-'));
  const env = { ...process.env, MATSEARCH_CACHE_DIR: join(tmp, 'cache') };
  const load = [loadavg()[0]!];
  let libs = 0;
  const ingest = (root: string, dir = folder, n = files.length) => {
    const cli = join(root, 'dist', 'src', 'cli', 'main.js');
    const lib = join(tmp, `lib-${libs++}`);
    const r = timed([cli, 'ingest', dir, '--library', lib, '--model', model, '--json'], env);
    const s = JSON.parse(r.stdout) as { added: number; failed: number };
    if (s.added !== n) throw new Error(`${root} added ${s.added} of ${n}`);
    rmSync(lib, { recursive: true, force: true });
    return r;
  };
  const roots: Record<string, string> = { ingest: resolve(DIST, '..') };
  if (o.baseline) roots['baseline'] = resolve(o.baseline);
  try {
    for (const root of Object.values(roots)) ingest(root); // warm-up: page cache, export cache
    const runs = new Map<string, Run[]>([
      ['decode', []],
      ...Object.keys(roots).map((k) => [k, []] as [string, Run[]]),
    ]);
    const keys = [...runs.keys()];
    for (let r = 0; r < o.reps; r++) {
      for (const key of keys.map((_, i) => keys[(i + r) % keys.length]!)) {
        const run =
          key === 'decode'
            ? timed([join(DIST, 'bench', 'decode-only.js'), ...files], env)
            : ingest(roots[key]!);
        runs.get(key)!.push(run);
        console.log(
          `rep ${r + 1}/${o.reps} ${key}: ${((files.length * 1000) / run.ms).toFixed(1)} images/s`,
        );
      }
    }
    load.push(loadavg()[0]!);
    const rate = (key: string) => {
      const rs = runs.get(key)!;
      const ips = rs.map((x) => (files.length * 1000) / x.ms);
      return {
        imagesPerS: +median(ips).toFixed(1),
        min: +Math.min(...ips).toFixed(1),
        max: +Math.max(...ips).toFixed(1),
        maxRssMb: median(rs.map((x) => x.maxRssMb)),
        cpuMsPerFile: +(median(rs.map((x) => x.cpuMs)) / files.length).toFixed(1),
      };
    };
    // The profile: each stage alone, then what a process costs before its first file (one file
    // ingested, less one file decoded), spread over the run's files.
    const stages = await profileStages(files, model);
    const one = join(tmp, 'one');
    mkdirSync(one);
    copyFileSync(files[0]!, join(one, basename(files[0]!)));
    const startCpu = (run: () => Run) => median(Array.from({ length: 3 }, () => run().cpuMs));
    const startup = {
      ingestCpuMs: startCpu(() => ingest(roots['ingest']!, one, 1)),
      decodeCpuMs: startCpu(() => timed([join(DIST, 'bench', 'decode-only.js'), files[0]!], env)),
    };
    // What one file in flight holds, by the decoder's own accounting of its first file.
    const meta = await sharp(readFileSync(files[0]!)).metadata();
    const box = workBox(meta, { ...DECODE_DEFAULTS, inputSize: info.config.imageSize });
    const shrink = loadShrink(meta, box);
    const fileMb = files.reduce((t, f) => t + statSync(f).size, 0) / files.length / 2 ** 20;
    const perFile = {
      fileMb: +fileMb.toFixed(2),
      decodeMb: +(decodedBytes(meta) / shrink ** 2 / 2 ** 20).toFixed(2),
      fullFrameMb: +(decodedBytes(meta) / 2 ** 20).toFixed(2),
      workMb: +((box.width * box.height * 3) / 2 ** 20).toFixed(2),
      shrink,
      work: box,
    };
    const result = {
      bench: 'ingest-photos',
      machine: machine(),
      load,
      source,
      files: files.length,
      model: info.modelId,
      reps: o.reps,
      decodeOnly: rate('decode'),
      rates: Object.fromEntries(Object.keys(roots).map((k) => [k, rate(k)])),
      baseline: o.baseline ? relative(process.cwd(), resolve(o.baseline)) || '.' : null,
      perFile,
      stages,
      startup,
    };
    writeReport(
      'docs/bench/ingest-photos.json',
      result,
      'docs/bench/ingest-photos.md',
      report(result),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

type Rate = {
  imagesPerS: number;
  min: number;
  max: number;
  maxRssMb: number;
  cpuMsPerFile: number;
};

function report(r: {
  machine: ReturnType<typeof machine>;
  load: number[];
  source: string;
  files: number;
  model: string;
  reps: number;
  decodeOnly: Rate;
  rates: Record<string, Rate>;
  baseline: string | null;
  perFile: {
    fileMb: number;
    decodeMb: number;
    fullFrameMb: number;
    workMb: number;
    shrink: number;
    work: { width: number; height: number };
  };
  stages: StageCost[];
  startup: { ingestCpuMs: number; decodeCpuMs: number };
}): string {
  const row = (what: string, x: Rate) => [
    what,
    `${x.imagesPerS} (${x.min}-${x.max})`,
    (x.imagesPerS / r.decodeOnly.imagesPerS).toFixed(2),
    x.cpuMsPerFile,
    x.maxRssMb,
  ];
  const p = r.perFile;
  return (
    `# Ingest of 12 MP photos\n\n` +
    `\`npm run bench -- ingest --only photos\` on ${r.machine.cpu} (${r.machine.cores} cores), node ` +
    `${r.machine.node}, ${r.machine.date}; load average ${r.load.map((l) => l.toFixed(2)).join(' -> ')} ` +
    `(every rate falls with it). ${r.source}; model ${r.model} at its default width. A new ` +
    `process per run, start-up included; medians of ${r.reps} reps, min-max in brackets.\n\n` +
    mdTable(
      ['run', 'images/s', 'of decode-only', 'CPU ms / file', 'peak RSS MB'],
      [
        row('decode only (64 px, shrink-on-load, 4 in parallel)', r.decodeOnly),
        row('`matsearch ingest` (this build)', r.rates['ingest']!),
        ...(r.rates['baseline']
          ? [row(`\`matsearch ingest\` (baseline: ${r.baseline})`, r.rates['baseline'])]
          : []),
      ],
    ) +
    `\nEach file in flight holds its bytes (${p.fileMb} MB on average), its decode at 1/${p.shrink} ` +
    `scale (${p.decodeMb} MB; the full frame would be ${p.fullFrameMb} MB) and the ` +
    `${p.work.width}x${p.work.height} work image the thumbnail and model input come from ` +
    `(${p.workMb} MB): about ${(p.fileMb + p.decodeMb + p.workMb).toFixed(1)} MB, 4 files in flight.\n` +
    profile(r)
  );
}

/** The CPU profile: the stages beside the whole runs' CPU. */
function profile(r: Parameters<typeof report>[0]): string {
  const ingest = r.rates['ingest']!;
  const [bound, ...stages] = r.stages;
  const startup = (r.startup.ingestCpuMs - r.startup.decodeCpuMs) / r.files;
  // Ingest's own decode (to the work image) stands in for the bound's.
  const extra = stages.reduce((t, s) => t + s.cpuMs, 0) - bound!.cpuMs + startup;
  const gap = ingest.cpuMsPerFile - r.decodeOnly.cpuMsPerFile;
  return (
    `\n## Where the CPU goes\n\n` +
    `Both runs keep the 2 cores busy, so their rates follow their CPU per file: ingest spends ` +
    `${ingest.cpuMsPerFile} CPU ms per file, the decode-only bound ${r.decodeOnly.cpuMsPerFile} ` +
    `(process CPU, all threads, medians of the runs above). Each stage below is the product's ` +
    `own code run alone on the first 40 photos, one file at a time (CPU ms per file, medians of ` +
    `3 passes); start-up is the CPU of ingesting one photo less that of decoding one, spread ` +
    `over ${r.files} files.\n\n` +
    mdTable(
      ['stage', 'CPU ms / file'],
      [
        ...r.stages.map((s) => [s.stage, s.cpuMs]),
        [
          `process start-up beyond the bound's (${r.startup.ingestCpuMs} vs ${r.startup.decodeCpuMs} ms, once)`,
          startup.toFixed(2),
        ],
      ],
    ) +
    `\nBeyond the bound's decode (its own decode to the work image standing in for it), ` +
    `ingest's stages and start-up add ${extra.toFixed(1)} CPU ms per file; the whole runs ` +
    `differ by ${gap.toFixed(1)} ms, which leaves ${(gap - extra).toFixed(1)} ms for the writes ` +
    `(SQLite, thumbnail files), the queue between stages and the garbage collector (the stages ` +
    `alone and the runs are separate measurements: a small or negative rest is noise).\n`
  );
}
