/** The worker's batcher and the job encoding: no Redis needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from '../../queue/batcher.js';
import { decodeVector, encodeVector, jobIdFor, toEmbedded } from '../../queue/jobs.js';

test('the batcher gathers concurrent images into batches per width, in order', async () => {
  const calls: { n: number; width: string }[] = [];
  const b = new Batcher(async (inputs, width) => {
    calls.push({ n: inputs.length, width });
    await new Promise((r) => setTimeout(r, 5));
    return inputs.map((x) => Float32Array.of(x[0]! * 2));
  }, 4);
  const out = await Promise.all([
    ...[1, 2, 3, 4, 5, 6].map((i) => b.add(Float32Array.of(i), '1')),
    b.add(Float32Array.of(10), '1/4'),
  ]);
  assert.deepEqual(
    out.map((v) => v[0]),
    [2, 4, 6, 8, 10, 12, 20],
  );
  assert.deepEqual(
    calls.map((c) => c.n).reduce((a, n) => a + n, 0),
    7,
  );
  assert.ok(calls.every((c) => c.n <= 4));
  assert.deepEqual(new Set(calls.map((c) => c.width)), new Set(['1', '1/4']));
  assert.equal(b.batches, calls.length);
  assert.ok(calls.length <= 3, `${calls.length} encoder calls for 7 images`);
});

test('a failing encoder call fails exactly the jobs of that batch', async () => {
  let n = 0;
  const b = new Batcher(async (inputs) => {
    if (n++ === 0) throw new Error('encoder down');
    return inputs.map(() => Float32Array.of(1));
  }, 2);
  const first = [b.add(Float32Array.of(1), '1'), b.add(Float32Array.of(2), '1')];
  await Promise.all(first.map((p) => assert.rejects(p, /encoder down/)));
  assert.deepEqual(await b.add(Float32Array.of(3), '1'), Float32Array.of(1));
});

test('job ids follow content, model and width; vectors travel bit-exact', () => {
  const h = 'ab'.repeat(32);
  assert.equal(jobIdFor(h, 'm@1', '1'), jobIdFor(h, 'm@1', '1'));
  assert.notEqual(jobIdFor(h, 'm@1', '1'), jobIdFor(h, 'm@1', '1/4'));
  assert.notEqual(jobIdFor(h, 'm@1', '1'), jobIdFor(h, 'm@2', '1'));
  assert.ok(jobIdFor(h, 'm@1', '1').startsWith(h) && !jobIdFor(h, 'm@1', '1').includes(':'));
  const v = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) / 3);
  assert.deepEqual(decodeVector(encodeVector(v), 32), v);
  assert.throws(() => decodeVector(encodeVector(v), 16), /128 bytes, expected 16/);

  const result = {
    hash: h,
    size: 10,
    width: 4,
    height: 3,
    format: 'png',
    thumbnail: Buffer.from('webp').toString('base64'),
    vector: encodeVector(v),
    dim: 32,
    modelId: 'm@1',
    widthLabel: '1',
    worker: 'w',
  };
  const files = [{ path: '/a.png', root: '/', size: 10, mtimeMs: 1 }];
  const want = { hash: h, modelId: 'm@1', widthLabel: '1', dim: 32 };
  const e = toEmbedded(result, files, want);
  assert.deepEqual([e.hash, e.thumbnail.toString(), e.files], [h, 'webp', files]);
  assert.throws(() => toEmbedded({ ...result, modelId: 'm@2' }, files, want), /modelId is m@2/);
});
