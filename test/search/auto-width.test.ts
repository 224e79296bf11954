/**
 * Width 'auto' under a synthetic queue: as the queue grows the chosen width steps down and never
 * up, its expected latency stays within the budget while any width fits, and each choice says
 * why. Then the same through a Searcher whose encoder has known latencies per width.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseWidth } from '../../src/search/auto-width.js';
import { Searcher } from '../../src/search/searcher.js';
import { Store } from '../../src/store/store.js';
import type { Embedder } from '../../src/embed/embedder.js';
import type { WidthSpec } from '../../src/model/nesting.js';
import { LibraryIndex } from '../../index/library-index.js';
import { normalized } from '../../index/vector-index.js';
import { randomVectors } from '../index/fixtures.js';

const ORDER = ['1', '1/2', '1/4', '1/8'];
const LATENCY = new Map([
  ['1', 8],
  ['1/2', 4.5],
  ['1/4', 2.5],
  ['1/8', 1.5],
]);

test('the chosen width steps down as the queue grows and fits the budget while it can', () => {
  const budget = 20;
  let prev = 0;
  for (let waiting = 0; waiting <= 40; waiting++) {
    const c = chooseWidth(budget, LATENCY, { waiting, concurrency: 2 });
    const rank = ORDER.indexOf(c.width);
    assert.ok(rank >= prev, `waiting ${waiting}: ${c.width} is wider than before`);
    prev = rank;
    const expected = LATENCY.get(c.width)! * (1 + waiting / 2);
    assert.ok(Math.abs(c.expectedMs - expected) < 1e-9);
    // The widest that fits: the next wider width would not have.
    if (rank > 0 && c.expectedMs <= budget)
      assert.ok(LATENCY.get(ORDER[rank - 1]!)! * (1 + waiting / 2) > budget);
    if (c.expectedMs <= budget)
      assert.match(c.reason, /is the widest width expected within 20\.0 ms/);
    else assert.match(c.reason, /no width fits 20\.0 ms.*1\/8 is the narrowest/);
    if (waiting > 0) assert.match(c.reason, new RegExp(`${waiting} waiting for 2 slots`));
  }
  // Idle: full width fits; a long queue: the narrowest.
  assert.equal(chooseWidth(budget, LATENCY).width, '1');
  assert.equal(chooseWidth(budget, LATENCY, { waiting: 100, concurrency: 2 }).width, '1/8');
  // The steps seen on the way: 1 (0-3 waiting), 1/2 (4-6), 1/4 (7-14), 1/8 (15+).
  const steps = [0, 3, 4, 6, 7, 14, 15].map(
    (waiting) => chooseWidth(budget, LATENCY, { waiting, concurrency: 2 }).width,
  );
  assert.deepEqual(steps, ['1', '1', '1/2', '1/2', '1/4', '1/4', '1/8']);
  assert.throws(() => chooseWidth(0.5, new Map([['1', 1]])), /no measured latency for width 1\/2/);
});

/** An encoder that takes a fixed time per width (busy-waits, so the measurement is real). */
class TimedEmbedder implements Embedder {
  readonly inputSize = 1;
  readonly inputChannels = 1;
  readonly modelId = 'm@1';
  readonly dim = 8;
  readonly calls: string[] = [];
  /** Extra ms the first call of each width takes (a cold session: export, start-up). */
  constructor(private readonly coldMs = 0) {}
  widthLabel(w: WidthSpec): string {
    return String(w);
  }
  widthRank(w: WidthSpec): number {
    return String(w) === '1' ? 1 : 0.5;
  }
  async embed(inputs: readonly Float32Array[], w: WidthSpec): Promise<Float32Array[]> {
    const cold = this.calls.includes(String(w)) ? 0 : this.coldMs;
    this.calls.push(String(w));
    const until = performance.now() + LATENCY.get(String(w))! + cold;
    while (performance.now() < until);
    return inputs.map((x) => normalized(x));
  }
  async close() {}
}

test("a Searcher's auto width follows the load it is given, with its reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'auto-width-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  for (const [i, v] of randomVectors(50, 8, 3).entries()) {
    const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
    store.putEmbedding(id, 'm@1', '1', 1, normalized(v));
  }
  const index = LibraryIndex.open(store, join(dir, 'index'), 'm@1', 8, { log: () => {} });
  const enc = new TimedEmbedder();
  const searcher = new Searcher(store, index, enc);
  const queries = randomVectors(30, 8, 4);
  const widths: string[] = [];
  for (const [i, waiting] of [0, 2, 5, 9, 20, 40].entries()) {
    const r = await searcher.search(queries[i]!, {
      width: 'auto',
      budgetMs: 20,
      load: { waiting, concurrency: 2 },
    });
    widths.push(r.widths.query);
    assert.match(r.widthReason, /^auto: /);
  }
  // Measured latencies carry scheduling noise; the order of the steps does not.
  for (let i = 1; i < widths.length; i++)
    assert.ok(ORDER.indexOf(widths[i]!) >= ORDER.indexOf(widths[i - 1]!), widths.join(' '));
  assert.equal(widths[0], '1');
  assert.equal(widths[widths.length - 1], '1/8');
  // A requested width says so.
  const plain = await searcher.search(queries[20]!, { width: '1/2' });
  assert.equal(plain.widthReason, 'requested');
  index.close();
  store.close();
  rmSync(dir, { recursive: true });
});

test('a cold first encode does not stay in the measured latency auto chooses by', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'auto-width-cold-'));
  const store = Store.open(join(dir, 'matsearch.db'));
  for (const [i, v] of randomVectors(20, 8, 5).entries()) {
    const id = store.insertImage({ hash: `h${i}`, size: 1, status: 'ready' });
    store.putEmbedding(id, 'm@1', '1', 1, normalized(v));
  }
  const index = LibraryIndex.open(store, join(dir, 'index'), 'm@1', 8, { log: () => {} });
  // The first call of each width takes 200 ms more, as a fresh ONNX session's does.
  const searcher = new Searcher(store, index, new TimedEmbedder(200));
  const [q] = randomVectors(1, 8, 6);
  const r = await searcher.search(q!, { width: 'auto', budgetMs: 20 });
  // Warm, width 1 takes 8 ms: it fits 20 ms and is chosen, and the table says what it costs.
  assert.equal(r.widths.query, '1', r.widthReason);
  for (const [w, ms] of searcher.latencies())
    assert.ok(ms < LATENCY.get(w)! + 40, `width ${w}: measured ${ms.toFixed(1)} ms`);
  index.close();
  store.close();
  rmSync(dir, { recursive: true });
});
