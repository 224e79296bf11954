/**
 * The on-disk ONNX export cache: a second process start reuses the file instead of exporting,
 * new weights export again, and a damaged file is rebuilt. The oracle for every embedding is the
 * same model exported fresh in this process (never through the cache).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatMambaVision } from '../../src/model/vision.js';
import { saveModel } from '../../src/model/weights.js';
import { WEIGHTS_FILE } from '../../src/model/model-dir.js';
import { hashRecordPath } from '../../src/model/weights-hash.js';
import { ExportCache, exportKey } from '../../src/runtime/export-cache.js';
import { exportMatMamba } from '../../src/runtime/export-matmamba.js';
import { Encoder } from '../../src/runtime/encoder.js';
import { createSession, runImages } from '../../src/runtime/onnx.js';
import { maxAbsDiff, randomImages, randomWeights, setup, smallConfig } from '../helpers.js';

before(setup);

const cfg = smallConfig();

/** Embeddings of `images` from a fresh, uncached export of `m` at `width`. */
async function oracle(m: MatMambaVision, images: Float32Array, width: string) {
  const ex = exportMatMamba(m, { widths: width });
  const s = await createSession(ex.bytes, 'cpu');
  try {
    const batch = images.length / (cfg.imageSize * cfg.imageSize * cfg.inChans);
    return (await runImages(s, images, batch, ex, 4)).embeddings;
  } finally {
    await s.release();
  }
}

/** Encodes through `Encoder.load` (as a fresh CLI process would); returns the embeddings and log. */
async function encodeFromDir(dir: string, cache: string, images: Float32Array, width: string) {
  const log: string[] = [];
  const enc = await Encoder.load(dir, { exportCache: cache, log: (m) => log.push(m) });
  try {
    return { embeddings: (await enc.encode(images, width)).embeddings, log };
  } finally {
    await enc.close();
  }
}

/** A temporary folder with a model folder and a cache folder named in it. */
function folders() {
  const root = mkdtempSync(join(tmpdir(), 'export-cache-'));
  return { root, dir: join(root, 'model'), cache: join(root, 'cache') };
}

function cacheFiles(cache: string): string[] {
  return readdirSync(join(cache, 'onnx')).map((f) => join(cache, 'onnx', f));
}

test('the export is written once, reused, and redone for new weights', async () => {
  const { root, dir, cache } = folders();
  const images = randomImages(cfg, 3, 2);
  const a = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 11));
  const b = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 12));
  try {
    saveModel(a, dir, { name: 'cache-test' });
    const first = await encodeFromDir(dir, cache, images, '1/2');
    assert.equal(first.log.length, 1, first.log.join('\n'));
    assert.match(
      first.log[0]!,
      /^exported cache-test at width 1\/2 to ONNX in \d+ ms \(once; cached in /,
    );
    assert.equal(cacheFiles(cache).length, 1);
    const want = await oracle(a, images, '1/2');
    assert.ok(maxAbsDiff(first.embeddings, want) < 1e-5);

    // A second start finds the file: nothing exported, the same numbers.
    const second = await encodeFromDir(dir, cache, images, '1/2');
    assert.deepEqual(second.log, []);
    assert.ok(maxAbsDiff(second.embeddings, want) < 1e-5);

    // Another width is another file.
    const other = await encodeFromDir(dir, cache, images, '1');
    assert.equal(other.log.length, 1);
    assert.equal(cacheFiles(cache).length, 2);

    // New weights in the same folder: a new key, exported again, and the new model's numbers.
    saveModel(b, dir, { name: 'cache-test' });
    const fresh = await encodeFromDir(dir, cache, images, '1/2');
    assert.equal(fresh.log.length, 1, 'new weights reused the old export');
    const wantB = await oracle(b, images, '1/2');
    assert.ok(maxAbsDiff(fresh.embeddings, wantB) < 1e-5);
    assert.ok(maxAbsDiff(fresh.embeddings, want) > 1e-3, 'weights A and B embed alike');
  } finally {
    a.dispose();
    b.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test('weights rewritten in place (same size, old mtime) are hashed again, not trusted', async () => {
  const { root, dir, cache } = folders();
  const images = randomImages(cfg, 2, 4);
  const a = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 15));
  const b = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 16));
  try {
    saveModel(a, dir, { name: 'cache-test' });
    saveModel(b, join(root, 'model-b'), { name: 'cache-test' });
    await encodeFromDir(dir, cache, images, '1');
    // The start recorded the weights' hash; make the record as old as a trusted one can be.
    const weights = join(dir, WEIGHTS_FILE);
    const record = hashRecordPath(cache, weights);
    const rec = JSON.parse(readFileSync(record, 'utf8')) as { recordedAtMs: number };
    writeFileSync(record, JSON.stringify({ ...rec, recordedAtMs: rec.recordedAtMs + 60_000 }));
    const trusted = await encodeFromDir(dir, cache, images, '1');
    assert.deepEqual(trusted.log, [], 'an unchanged model exported again');

    const st = statSync(weights);
    writeFileSync(weights, readFileSync(join(root, 'model-b', WEIGHTS_FILE))); // same inode
    assert.equal(statSync(weights).size, st.size);
    utimesSync(weights, st.atime, st.mtime);
    const r = await encodeFromDir(dir, cache, images, '1');
    assert.equal(r.log.length, 1, 'the old export was served for new weights');
    assert.ok(maxAbsDiff(r.embeddings, await oracle(b, images, '1')) < 1e-5);
  } finally {
    a.dispose();
    b.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a corrupt or truncated cache file is rebuilt, never served', async () => {
  const { root, dir, cache } = folders();
  const images = randomImages(cfg, 2, 3);
  const m = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 13));
  try {
    saveModel(m, dir, { name: 'cache-test' });
    await encodeFromDir(dir, cache, images, '1');
    const [file] = cacheFiles(cache);
    const good = readFileSync(file!);
    const want = await oracle(m, images, '1');
    const damaged = [
      Buffer.concat([good.subarray(0, good.length - 100), Buffer.alloc(100, 7)]), // graph bytes
      good.subarray(0, Math.floor(good.length / 2)), // truncated
      Buffer.from('not a cache file'),
    ];
    for (const bad of damaged) {
      writeFileSync(file!, bad);
      const r = await encodeFromDir(dir, cache, images, '1');
      assert.match(r.log[0] ?? '', /is unusable; exporting again/);
      assert.match(r.log[1] ?? '', /^exported cache-test at width 1 to ONNX/);
      assert.ok(maxAbsDiff(r.embeddings, want) < 1e-5);
      assert.ok(readFileSync(file!).equals(good), 'the file was not rewritten whole');
    }
  } finally {
    m.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test('ExportCache checks the key and prunes the least recently used files', () => {
  const root = mkdtempSync(join(tmpdir(), 'export-cache-'));
  try {
    const m = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 14));
    const ex = exportMatMamba(m, { widths: '1/4' });
    m.dispose();
    const parts = {
      widthLabel: '1/4',
      chunkSize: 'auto',
      imageSize: 12,
      precision: 'fp32',
    } as const;
    const k1 = exportKey({ ...parts, weightsSha256: 'a'.repeat(64) });
    const k2 = exportKey({ ...parts, weightsSha256: 'b'.repeat(64) });
    const cache = new ExportCache(root, ex.bytes.length * 1.5);
    assert.equal(cache.read(k1), 'absent');
    cache.put(k1, ex);
    const hit = cache.get(k1);
    assert.ok(hit && Buffer.from(hit.bytes).equals(Buffer.from(ex.bytes)));
    // A file whose header names another key is refused even under the right name.
    writeFileSync(cache.pathOf(k2), readFileSync(cache.pathOf(k1)));
    assert.equal(cache.read(k2), 'corrupt');
    // Past the cap, the older file goes.
    cache.put(k2, ex);
    assert.equal(cache.read(k1), 'absent');
    assert.notEqual(cache.get(k2), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
