/**
 * SIGKILL of an ingest process at 20 seeded random points, each run then resumed: every run
 * must end with the library of an uninterrupted run (same paths, contents, failures and vectors),
 * and the library must already be consistent right after the kill. Half the kills land at a
 * random write step (the child kills itself just before its Nth transaction or file write), half
 * at a random time into the run; half the runs keep an HNSW index, half an exact one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/embed/embedder.js';
import { Library } from '../../src/library.js';
import { Rng } from '../../src/util/rng.js';
import { setup } from '../helpers.js';
import { assertSameLibrary, checkLibrary } from './check.js';
import { Child, reportFigures, script, testEmbedder, writeCorpus } from './helpers.js';
import type { ChildOptions } from './ingest-child.js';

const RUNS = 20;
const DELAY_MS = 40; // per embedding batch of 4: spreads a run over a few hundred ms
const child = script('ingest-child.js');

let dir: string;
let modelDir: string;
let embedder: Embedder;
let photos: string;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'kill-ingest-'));
  ({ modelDir, embedder } = await testEmbedder(join(dir, 'model')));
  photos = await writeCorpus(join(dir, 'photos'), 24, 11);
});

after(async () => {
  await Child.killAll();
  await embedder.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`${RUNS} ingests killed with SIGKILL at random points, then resumed, lose nothing`, async () => {
  const opts = (lib: string, over: Partial<ChildOptions> = {}): ChildOptions => ({
    lib,
    model: modelDir,
    roots: [photos],
    embedDelayMs: DELAY_MS,
    ...over,
  });
  // The clean run: how many write steps and how long a run takes.
  const cleanLib = join(dir, 'clean');
  const c = Child.start(child, opts(cleanLib, { countOps: true }));
  await c.wait('open');
  const t0 = performance.now();
  const done = await c.wait('done');
  const runMs = performance.now() - t0;
  assert.equal((await c.exited).code, 0, c.stderr);
  const steps = done['ops'] as number;
  const clean = checkLibrary(cleanLib, embedder);
  assert.ok(clean.images >= 24 && clean.failures === 4, JSON.stringify([clean.images]));

  const one = async (i: number) => {
    const rng = new Rng(1000 + i);
    const byStep = i % 2 === 0;
    const hnsw = (i >> 1) % 2 === 1;
    const lib = join(dir, `run-${i}`);
    const point = byStep ? 1 + rng.int(steps) : Math.round(rng.uniform() * runMs);
    const p = Child.start(
      child,
      opts(lib, { ...(hnsw ? { exactBelow: 4 } : {}), ...(byStep ? { killAtOp: point } : {}) }),
    );
    if (!byStep) {
      await p.wait('open');
      await sleep(point);
      p.proc.kill('SIGKILL');
    }
    const exit = await p.exited;
    const killed = exit.signal === 'SIGKILL';
    assert.ok(killed || exit.code === 0, `run ${i}: ${exit.code} ${p.stderr}`);
    // Consistent right after the kill: whatever committed is whole.
    const atKill = checkLibrary(lib, embedder);
    // Resume, as a user would: the same ingest again.
    const log: string[] = [];
    const l = Library.open(lib, {
      embedder,
      index: hnsw ? { exactBelow: 4 } : {},
      log: (m) => log.push(m),
    });
    await l.ingest([photos], { batch: 4, concurrency: 2 });
    l.close();
    const end = checkLibrary(lib, embedder);
    assertSameLibrary(end, clean, `run ${i} (${byStep ? 'step' : 'ms'} ${point})`);
    assert.deepEqual(end.tmpFiles, [], `run ${i}: temp files left`);
    assert.equal(end.orphanThumbnails, 0, `run ${i}: orphan thumbnails`);
    return {
      run: i,
      kill: byStep
        ? `before write step ${point}/${steps}`
        : `${point} ms into ${runMs.toFixed(0)} ms`,
      index: hnsw ? 'hnsw' : 'exact',
      killed,
      imagesAtKill: atKill.images,
      repairs: [...atKill.log, ...log].filter((m) => /index for/.test(m)).length,
      lost: clean.images - end.images,
    };
  };
  const results: Awaited<ReturnType<typeof one>>[] = [];
  for (let i = 0; i < RUNS; i += 2) results.push(...(await Promise.all([one(i), one(i + 1)])));

  const killed = results.filter((r) => r.killed);
  const midRun = killed.filter((r) => r.imagesAtKill > 0 && r.imagesAtKill < clean.images);
  reportFigures('kill-ingest', {
    runs: RUNS,
    killed: killed.length,
    killedMidRun: midRun.length,
    writeSteps: steps,
    runMs: Math.round(runMs),
    images: clean.images,
    failures: clean.failures,
    imagesAtKill: results.map((r) => r.imagesAtKill),
    indexRepairsLogged: results.reduce((s, r) => s + r.repairs, 0),
    lost: results.reduce((s, r) => s + r.lost, 0),
    details: results,
  });
  // The kills must really interrupt runs, most of them with some batches committed.
  assert.ok(killed.length >= RUNS - 2, `only ${killed.length} of ${RUNS} runs were killed`);
  assert.ok(midRun.length >= RUNS / 4, `only ${midRun.length} kills landed mid-run`);
});
