/**
 * The scale-out ingest against a real redis-server (Debian's `redis-server`; without it these
 * tests fail with the command that installs it): two worker processes and a writer make the
 * library a local ingest makes; a worker killed mid-job loses nothing, nor does a writer killed
 * mid-run; files that fail on every try land in the dead-letter list with their errors; a
 * stopping worker hands back its jobs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Embedder } from '../../src/embed/embedder.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { loadModel } from '../../src/model/weights.js';
import type { IngestOptions } from '../../ingest/pipeline.js';
import { startLocalRedis, type LocalRedis } from '../../queue/local-redis.js';
import { queuedStage } from '../../queue/producer.js';
import { QueueWorker } from '../../queue/worker.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeBadImages, writeImages } from '../ingest/fixtures.js';
import { assertSameLibrary, snapshot, until, WorkerProcess } from './helpers.js';

const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let redis: LocalRedis;
let dir: string;
let modelDir: string;
const workers: WorkerProcess[] = [];
const queues: Queue[] = [];

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'queue-'));
  redis = await startLocalRedis(dir); // fails with the install hint when redis-server is missing
  modelDir = saveTestModel(join(dir, 'model'));
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await Promise.all(queues.map((q) => q.close()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openLib(name: string) {
  const { model, modelId } = loadModel(modelDir);
  return Library.open(join(dir, name), {
    embedder: await TfjsEmbedder.create(model, modelId),
    log: () => {},
  });
}

/** A worker process on queue `name` (short locks, so a dead worker's jobs come back soon). */
function startWorker(name: string, id: string, concurrency = 3): WorkerProcess {
  const w = new WorkerProcess([
    ...['--queue', redis.url, '--queue-name', name, '--model', modelDir, '--id', id],
    ...['--concurrency', String(concurrency), '--lock-ms', '3000', '--grace-ms', '5000'],
  ]);
  workers.push(w);
  return w;
}

function observe(name: string): Queue {
  const q = new Queue(name, { connection: { url: redis.url } });
  queues.push(q);
  return q;
}

function queued(name: string): IngestOptions {
  return {
    stage: queuedStage({ url: redis.url, name, attempts: 3, backoffMs: 100, pollMs: 200 }),
    batch: 8,
  };
}

// onnxruntime in the workers, tfjs in the local reference: equal up to float rounding.
const TOL = 1e-4;

test('two workers and a writer make the library a local ingest makes; dead letters carry their errors', async () => {
  const photos = join(dir, 'photos');
  const files = await writeImages(photos, 24, 11);
  copyFileSync(files[3]!, join(photos, 'copy-of-3.png')); // same content: one job, two paths
  const bad = await writeBadImages(join(photos, 'bad'));
  const vanishing = join(photos, 'vanishing.png');
  copyFileSync((await writeImages(join(dir, 'extra'), 1, 99))[0]!, vanishing);

  const lib = await openLib('lib-queued');
  const q = observe('q1');
  const run = lib.ingest([photos], queued('q1'));
  // 24 images + the one that will vanish + 4 bad files the producer can read (empty.png is
  // refused before queueing); the copy shares its original's job.
  await until(async () => (await q.getWaitingCount()) === 29, 'the jobs to be queued');
  rmSync(vanishing); // gone before any worker reads it: retried, then dead-lettered

  const a = startWorker('q1', 'worker-a');
  const b = startWorker('q1', 'worker-b');
  await Promise.all([a.ready, b.ready]);
  const summary = await run;

  assert.equal(summary.added, 24);
  assert.equal(summary.duplicates, 1);
  assert.equal(summary.embedded, 24);
  assert.equal(summary.deadLettered, 5);
  assert.equal(summary.failed, 6); // the dead letters and empty.png
  const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  assert.deepEqual(Object.values(counts), [0, 0, 0, 0, 0], 'the writer took every result');

  // The dead-letter list, in the library stats: each file with the error of its last try.
  const dead = new Map(lib.stats().deadLetters.recent.map((d) => [d.path, d]));
  assert.equal(lib.stats().deadLetters.count, 5);
  assert.match(dead.get(vanishing)!.error, /could not read: ENOENT/);
  assert.equal(dead.get(vanishing)!.attempts, 3); // retried with back-off, then given up
  assert.match(dead.get(bad['text.jpg']!)!.error, /not a readable image/);
  assert.equal(dead.get(bad['text.jpg']!)!.attempts, 1); // not an image: no point retrying
  assert.match(dead.get(bad['huge.png']!)!.error, /over the 100 MP limit/);

  // Graceful stop: both workers exit 0 on SIGTERM.
  a.kill('SIGTERM');
  b.kill('SIGTERM');
  assert.deepEqual(await a.exited, { code: 0, signal: null }, a.stderr);
  assert.deepEqual(await b.exited, { code: 0, signal: null }, b.stderr);

  // The same folder ingested in-process gives the same library.
  const local = await openLib('lib-local');
  const ls = await local.ingest([photos]);
  assert.deepEqual([ls.added, ls.duplicates, ls.failed], [24, 1, 5]);
  assertSameLibrary(snapshot(lib, [photos]), snapshot(local, [photos]), TOL);
  local.close();

  // Again: unchanged files and known bad files are skipped exactly as locally; nothing is queued.
  const again = await lib.ingest([photos], { ...queued('q1'), prune: true });
  assert.deepEqual(
    [again.added, again.embedded, again.unchanged, again.failed, again.deadLettered],
    [0, 0, 25, 5, 0],
  );
  assert.equal(lib.stats().deadLetters.count, 4); // --prune dropped the vanished file's entry
  // A worker's refusal by a limit is recorded as such (retried once the cap is raised).
  assert.deepEqual(lib.store.findFailure(bad['huge.png']!)!.limit, {
    kind: 'pixels',
    value: 100_000_000,
  });
  assert.equal(lib.store.findFailure(bad['text.jpg']!)!.limit, null);
  lib.close();

  // `matsearch stats` shows the dead letters, and the queue with no worker left.
  const st = spawnSync(
    process.execPath,
    [cliPath, 'stats', '--library', join(dir, 'lib-queued'), '--model', modelDir],
    { encoding: 'utf8', env: { ...process.env, MATSEARCH_RUNTIME: 'tfjs' } },
  );
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /dead letters: 4 queued file\(s\) failed on every try/);
  assert.match(st.stdout, /text\.jpg\s+1\s+not a readable image/);
});

test('a worker killed mid-job loses nothing: its jobs are retried by another', async () => {
  const photos = join(dir, 'photos-2');
  await writeImages(photos, 40, 12);
  const lib = await openLib('lib-kill');
  const q = observe('q2');
  const run = lib.ingest([photos], queued('q2'));
  await until(async () => (await q.getWaitingCount()) === 40, 'the jobs to be queued');

  const a = startWorker('q2', 'doomed', 2);
  await a.ready;
  await until(async () => (await q.getActiveCount()) > 0, 'the first worker to take jobs');
  a.kill('SIGKILL');
  await a.exited;
  // Jobs the dead worker held stay active (locked) until their lock expires.
  const held = (await q.getActive()).map((j) => j.data as { hash: string });
  assert.ok(held.length > 0, 'the kill must land while jobs are running');

  const b = startWorker('q2', 'survivor');
  const summary = await run;
  assert.equal(summary.added, 40);
  assert.equal(summary.deadLettered, 0);
  for (const h of held) assert.ok(lib.store.findImageByHash(h.hash), `job of ${h.hash} was lost`);
  b.kill('SIGTERM');
  assert.equal((await b.exited).code, 0, b.stderr);

  const local = await openLib('lib-kill-local');
  await local.ingest([photos]);
  assertSameLibrary(snapshot(lib, [photos]), snapshot(local, [photos]), TOL);
  local.close();
  lib.close();
});

/** Images in a library's database, read without opening it for writing (0 before it exists). */
function imagesIn(libDir: string): number {
  const file = join(libDir, 'matsearch.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
  } catch {
    return 0; // the schema is still being created
  } finally {
    db.close();
  }
}

test('a writer killed mid-run loses nothing: the next run writes what the workers finished', async () => {
  const photos = join(dir, 'photos-4');
  await writeImages(photos, 48, 14);
  const libDir = join(dir, 'lib-writer-kill');
  const q = observe('q4');
  const w = startWorker('q4', 'steady', 2);
  await w.ready;
  const writer = spawn(
    process.execPath,
    [cliPath, 'ingest', photos, '--library', libDir, '--model', modelDir].concat([
      '--queue',
      redis.url,
      '--queue-name',
      'q4',
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  writer.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const writerExit = new Promise((r) => writer.once('exit', r));
  // Killed once it has written some images while finished results still wait in Redis.
  await until(
    async () => imagesIn(libDir) > 0 && (await q.getCompletedCount()) > 0,
    `the writer to store some results (${stderr})`,
  );
  writer.kill('SIGKILL');
  await writerExit;
  const written = imagesIn(libDir);
  const stranded = await q.getCompletedCount();
  assert.ok(written > 0 && written < 48, `${written} images written before the kill`);

  // The next run (here in-process) resumes: nothing lost, nothing doubled, Redis left empty.
  const lib = await openLib('lib-writer-kill');
  const summary = await lib.ingest([photos], queued('q4'));
  assert.equal(lib.store.imageCount(), 48);
  assert.equal(summary.added + written, 48, JSON.stringify(summary));
  const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  assert.deepEqual(Object.values(counts), [0, 0, 0, 0, 0], 'every result taken, none stranded');
  w.kill('SIGTERM');
  assert.equal((await w.exited).code, 0, w.stderr);

  const local = await openLib('lib-writer-kill-local');
  await local.ingest([photos]);
  assertSameLibrary(snapshot(lib, [photos]), snapshot(local, [photos]), TOL);
  local.close();
  lib.close();
  console.log(`writer kill: ${written} images written, ${stranded} results in Redis at the kill`);
});

test('a stopping worker puts its running jobs back on the queue, untried', async () => {
  const photos = join(dir, 'photos-3');
  await writeImages(photos, 3, 13);
  const lib = await openLib('lib-release');
  const q = observe('q3');
  const run = lib.ingest([photos], queued('q3'));
  await until(async () => (await q.getWaitingCount()) === 3, 'the jobs to be queued');

  const address = { url: redis.url, name: 'q3' };
  // A worker with other weights hands the job back untried and stops, saying why.
  const other: Embedder = Object.create(lib.embedder, { modelId: { value: 'other@model' } });
  const w0 = await QueueWorker.start(other, { ...address, log: () => {} });
  await w0.closed;
  assert.match(String(w0.fatal), /needs model test-encoder@\w+, this worker runs other@model/);
  assert.ok(w0.stats.released >= 1 && w0.stats.done === 0);
  await until(async () => (await q.getWaitingCount()) === 3, 'the job to come back');

  // An encoder that never answers: the jobs stay running until the worker lets them go.
  const stuck: Embedder = Object.create(lib.embedder, {
    embed: { value: () => new Promise<never>(() => {}) },
  });
  const w1 = await QueueWorker.start(stuck, { ...address, graceMs: 300, log: () => {} });
  await until(() => w1.active === 3, 'the worker to take the jobs');
  await w1.stop(); // finishes nothing within 300 ms: all three go back, untried
  assert.equal(w1.stats.released, 3);
  const jobs = await q.getWaiting();
  assert.equal(jobs.length, 3);
  assert.ok(jobs.every((j) => j.attemptsMade === 0));

  const w2 = await QueueWorker.start(lib.embedder, { ...address, log: () => {} });
  const summary = await run;
  assert.deepEqual([summary.added, summary.deadLettered], [3, 0]);
  await w2.stop();
  assert.equal(w2.stats.done, 3);
  lib.close();
});
