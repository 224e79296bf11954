/**
 * The ingest's lanes (pipeline.ts runLanes): each lane takes the next file as soon as its last
 * one is done, so a slow file holds up only its own lane; `after` never overlaps itself; a
 * failure stops new work and is thrown only once the files in flight have finished.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLanes } from '../../ingest/pipeline.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { Library } from '../../src/library.js';
import { loadModel } from '../../src/model/weights.js';
import { setup } from '../helpers.js';
import { saveTestModel, writeImages } from './fixtures.js';

before(setup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a slow item holds up only its own lane; after runs one at a time', async () => {
  // Item 0 finishes only once the six others have (or after 5 s): with lanes they all pass it
  // in the other lane; with a barrier per pair, item 2 would wait for item 0 (no timing race).
  let othersDone!: () => void;
  const others = new Promise<void>((r) => (othersDone = r));
  const finished: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let inAfter = 0;
  let afters = 0;
  await runLanes(
    [0, 1, 2, 3, 4, 5, 6],
    2,
    async (i) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (i === 0) await Promise.race([others, sleep(5000)]);
      else await sleep(1);
      inFlight--;
      finished.push(i);
      if (finished.length === 6 && !finished.includes(0)) othersDone();
    },
    {
      stop: () => false,
      after: async () => {
        assert.equal(inAfter++, 0, 'after overlapped itself');
        await sleep(1);
        inAfter--;
        afters++;
      },
    },
  );
  assert.equal(maxInFlight, 2);
  assert.equal(afters, 7);
  assert.deepEqual(
    [...finished].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
  assert.equal(finished.at(-1), 0, `the slow item stalled the other lane: ${finished}`);
});

test('a failure stops new work and is thrown after the items in flight finish', async () => {
  const started: number[] = [];
  let done = 0;
  await assert.rejects(
    runLanes(
      [0, 1, 2, 3, 4, 5, 6, 7],
      2,
      async (i) => {
        started.push(i);
        if (i === 2) throw new Error('disk full');
        await sleep(i === 1 ? 50 : 5);
        done++;
      },
      { stop: () => false, after: async () => {} },
    ),
    /disk full/,
  );
  assert.ok(!started.includes(7), `kept taking files after the failure: ${started}`);
  assert.ok(started.includes(1) && done >= 2, 'returned before the file in flight finished');
});

test('batches handed on while other lanes decode lose no image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lanes-'));
  try {
    const { model, modelId } = loadModel(saveTestModel(join(dir, 'model')));
    const lib = Library.open(join(dir, 'lib'), {
      embedder: await TfjsEmbedder.create(model, modelId),
      log: () => {},
    });
    try {
      await writeImages(join(dir, 'photos'), 23, 5);
      // Batches of 3 fill while three other lanes are still decoding: each image must land in
      // exactly one batch, with its own vector.
      const s = await lib.ingest([join(dir, 'photos')], { batch: 3, concurrency: 4 });
      assert.equal(s.failed, 0, JSON.stringify(s.errors));
      assert.equal(s.added, 23);
      assert.equal(s.embedded, 23);
      assert.deepEqual(
        lib.stats().vectors.map((v) => v.count),
        [23],
      );
    } finally {
      lib.close();
      model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
