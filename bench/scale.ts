/**
 * Scale-out ingest throughput: images/s with 1 and 2 `matsearch worker` processes on this
 * machine, beside the in-process ingest of the same images.
 *   npm run bench -- scale [--files 600] [--folder DIR] [--model DIR] [--reps 3]
 *                          [--concurrency 8] [--batch 32] [--note TEXT]
 *
 * A throwaway redis-server (queue/local-redis.ts; Debian's redis-server package) carries the
 * jobs. The first `--files` images of the folder in walk order (by default the Twitter 64 px PNG
 * emoji from `npm run data`, else the sample emoji in samples/) are copied to a temporary folder.
 * Each rep, in rotating order: the local ingest into a fresh library, then for 1 and 2 workers
 * the workers are started and warmed up (untimed), and a queued ingest (walk, hash, queue, and
 * write the workers' results) runs into a fresh library, timed from its start to its last write.
 * Medians over reps, min-max in brackets. Writes docs/bench/scale.{json,md}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Embedder } from '../src/embed/embedder.js';
import { openEmbedder } from '../src/embed/open.js';
import { TfjsEmbedder } from '../src/embed/tfjs-embedder.js';
import { openLibrary } from '../src/library.js';
import { loadModel } from '../src/model/weights.js';
import type { IngestOptions } from '../ingest/pipeline.js';
import { loadBullmq } from '../queue/connection.js';
import { startLocalRedis, type LocalRedis } from '../queue/local-redis.js';
import { queuedStage } from '../queue/producer.js';
import { pickFiles, pickModel } from './ingest.js';
import { machine, mdTable, positiveInts, writeReport } from './util.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TWITTER_64 = fileURLToPath(
  new URL('../../.cache/data/emoji/twitter/img/twitter/64', import.meta.url),
);
const SAMPLES = fileURLToPath(new URL('../../samples', import.meta.url));

interface Rate {
  readonly imagesPerS: number;
  readonly seconds: number;
  readonly min: number;
  readonly max: number;
}

interface Setup {
  readonly name: string;
  /** Worker processes (0: the in-process ingest). */
  readonly workers: number;
}

const SETUPS: readonly Setup[] = [
  { name: 'local (in-process)', workers: 0 },
  { name: '1 worker process', workers: 1 },
  { name: '2 worker processes', workers: 2 },
];

function rate(samples: readonly { images: number; seconds: number }[]): Rate {
  const sorted = [...samples].sort((a, b) => a.images / a.seconds - b.images / b.seconds);
  const mid = sorted[sorted.length >> 1]!;
  const f = (x: number) => +x.toFixed(1);
  return {
    imagesPerS: f(mid.images / mid.seconds),
    seconds: +mid.seconds.toFixed(2),
    min: f(sorted[0]!.images / sorted[0]!.seconds),
    max: f(sorted.at(-1)!.images / sorted.at(-1)!.seconds),
  };
}

/** Starts `n` worker processes and waits until each has warmed up and takes jobs. */
async function startWorkers(
  n: number,
  redis: LocalRedis,
  queue: string,
  modelDir: string,
  concurrency: number,
  batch: number,
): Promise<ChildProcess[]> {
  const procs = Array.from({ length: n }, (_, i) =>
    spawn(
      process.execPath,
      [CLI, 'worker', '--queue', redis.url, '--queue-name', queue, '--model', modelDir]
        .concat(['--concurrency', String(concurrency), '--batch', String(batch)])
        .concat(['--id', `bench-${i}`]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          let err = '';
          p.stderr!.on('data', (b: Buffer) => {
            err += b.toString();
            if (/ ready: queue /.test(err)) resolve();
          });
          p.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${err}`)));
        }),
    ),
  );
  return procs;
}

async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      return exited;
    }),
  );
}

export async function benchScale(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      files: { type: 'string', default: '600' },
      folder: { type: 'string' },
      model: { type: 'string' },
      reps: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '8' },
      batch: { type: 'string', default: '32' },
      note: { type: 'string' },
    },
  });
  const [n, reps, concurrency, batch] = positiveInts(values, [
    'files',
    'reps',
    'concurrency',
    'batch',
  ]) as [number, number, number, number];
  const tmp = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  let redis: LocalRedis | undefined;
  try {
    const from = values.folder ?? (existsSync(TWITTER_64) ? TWITTER_64 : SAMPLES);
    const { files, source } = pickFiles(from, n);
    const folder = join(tmp, 'images');
    mkdirSync(folder);
    files.forEach((f, i) =>
      copyFileSync(f, join(folder, `${String(i).padStart(6, '0')}-${basename(f)}`)),
    );
    const model = await pickModel(values.model, tmp);
    redis = await startLocalRedis(tmp);
    const local = await openEmbedder(model.dir);
    const { model: twin, modelId } = loadModel(model.dir);
    const light = await TfjsEmbedder.create(twin, modelId); // the writer never embeds
    console.log(`${files.length} files from ${source}; model ${modelId}; redis at ${redis.url}`);

    let libs = 0;
    const ingestOnce = async (embedder: Embedder, o: IngestOptions) => {
      const lib = openLibrary(join(tmp, `lib-${libs++}`), { embedder, log: () => {} });
      try {
        return await lib.ingest([folder], { batch, ...o });
      } finally {
        lib.close();
      }
    };
    await ingestOnce(local, {}); // warm-up: page cache, sharp, the encoder's sessions
    await loadBullmq(); // the first queued ingest would pay for loading it

    const loadStart = +loadavg()[0]!.toFixed(2);
    const started = performance.now();
    const samples = new Map(
      SETUPS.map((s) => [s.name, [] as { images: number; seconds: number }[]]),
    );
    let embedded = 0;
    const startup: number[] = []; // seconds from spawning the workers to all of them ready
    for (let r = 0; r < reps; r++) {
      for (const s of SETUPS.map((_, i) => SETUPS[(i + r) % SETUPS.length]!)) {
        let summary;
        if (s.workers === 0) summary = await ingestOnce(local, {});
        else {
          const queue = `bench-${r}-${s.workers}`;
          const t0 = performance.now();
          const procs = await startWorkers(s.workers, redis, queue, model.dir, concurrency, batch);
          startup.push((performance.now() - t0) / 1000);
          try {
            summary = await ingestOnce(light, {
              stage: queuedStage({ url: redis.url, name: queue, pollMs: 200 }),
            });
          } finally {
            await stopWorkers(procs);
          }
        }
        // Files ingested per second: a local run embeds a copy found in the same batch again,
        // a queued one does not (one job per content), so `embedded` differs by a few.
        embedded = summary.embedded;
        samples.get(s.name)!.push({ images: summary.files, seconds: summary.seconds });
        console.log(
          `rep ${r + 1}/${reps}, ${s.name}: ${(summary.files / summary.seconds).toFixed(1)} ` +
            `images/s (${summary.files} files, ${summary.embedded} embedded, in ` +
            `${summary.seconds.toFixed(1)} s)`,
        );
      }
    }
    await local.close();
    await light.close();
    const rates = SETUPS.map((s) => ({ ...s, rate: rate(samples.get(s.name)!) }));
    const result = {
      bench: 'scale',
      machine: machine(),
      minutes: +((performance.now() - started) / 60000).toFixed(1),
      load: { start: loadStart, end: +loadavg()[0]!.toFixed(2) },
      source,
      files: files.length,
      embedded,
      model: { id: modelId, random: model.random },
      reps,
      concurrency,
      batch,
      setups: rates,
      workerStartupSeconds: +[...startup].sort((a, b) => a - b)[startup.length >> 1]!.toFixed(1),
      note: values.note ?? null,
    };
    writeReport('docs/bench/scale.json', result, 'docs/bench/scale.md', report(result));
  } finally {
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function report(r: {
  machine: ReturnType<typeof machine>;
  minutes: number;
  load: { start: number; end: number };
  source: string;
  files: number;
  embedded: number;
  model: { id: string; random: boolean };
  reps: number;
  concurrency: number;
  batch: number;
  setups: (Setup & { rate: Rate })[];
  workerStartupSeconds: number;
  note: string | null;
}): string {
  const m = r.machine;
  const base = r.setups[0]!.rate.imagesPerS;
  const rows = r.setups.map((s) => [
    s.name,
    `${s.rate.imagesPerS} (${s.rate.min}-${s.rate.max})`,
    s.rate.seconds,
    `${(s.rate.imagesPerS / base).toFixed(2)}x`,
  ]);
  const one = r.setups.find((s) => s.workers === 1)!.rate.imagesPerS;
  const two = r.setups.find((s) => s.workers === 2)!.rate.imagesPerS;
  return `# Scale-out ingest: images/s with 1 and 2 worker processes

${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; whole run ${r.minutes} min, load average (1 min) ${r.load.start} at the start and ${r.load.end} at the end. ${r.files} files (${r.source}), ${r.embedded} embedded per ingest. Model ${r.model.id}${r.model.random ? ' (random weights: throughput does not depend on them)' : ''}.

Each rep, in rotating order, ingests the folder into a fresh library: **local** is the in-process ingest (\`matsearch ingest\`); the others queue every file on a local redis-server (\`matsearch ingest --queue\`) for 1 or 2 \`matsearch worker\` processes (concurrency ${r.concurrency}, encoder batches up to ${r.batch}), started and warmed up before the clock starts (median ${r.workerStartupSeconds} s from spawn to ready: Node, the model, the ONNX export and the encoder's sessions), while the ingest process walks, hashes, queues and writes the results. Time runs from the start of the ingest to its last write; images/s counts files ingested (${r.embedded} distinct images among them). Median of ${r.reps} rep(s), slowest and fastest in brackets.

${mdTable(['setup', 'images/s', 'seconds', 'vs local'], rows)}
${r.note ? `${r.note}\n\n` : ''}On this machine (${m.cores} cores, shared with whatever else runs: see the load average) the worker processes compete for the same cores as each other and as the writer: a second worker process gives ${(two / one).toFixed(2)}x the images/s of one (${one} -> ${two}). The queue pays off when the workers run on other machines, each with its own cores (docs/SCALING.md); this run measures its overhead and that the work spreads over processes, not a multi-machine speed-up.
`;
}
