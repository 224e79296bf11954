/**
 * POST /api/classify over real HTTP on loopback, served by the ONNX encoder over the imported
 * PyTorch fixture: the response matches its schema and the float64 reference's classes and
 * probabilities; bad requests name their field; a model without a head answers 409 E_NO_HEAD.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryDecodeOptions } from '../../src/embed/input-options.js';
import { Library } from '../../src/library.js';
import { importCheckpoint } from '../../src/model/import-checkpoint.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { OrtEmbedder } from '../../src/runtime/ort-embedder.js';
import { decodeInput } from '../../ingest/decode.js';
import { ClassifyResponse } from '../../web/schemas.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { fixtureWeights, FIXTURE_REF, HUB_FIXTURE, refTopClasses } from '../classify/fixture.js';
import { saveTestModel } from '../ingest/fixtures.js';
import { setup } from '../helpers.js';

const PHOTO = fileURLToPath(
  new URL('../../../samples/photos/animals-giraffe.jpg', import.meta.url),
);

let root: string;
const open: { lib: Library; srv: RunningServer }[] = [];

async function serve(modelDir: string, name: string) {
  const embedder = await OrtEmbedder.load(modelDir, { exportCache: join(root, 'cache') });
  const lib = Library.open(join(root, name), { embedder, log: () => {} });
  const srv = await startServer(lib, { port: 0, log: () => {} });
  open.push({ lib, srv });
  return srv;
}

async function classify(srv: RunningServer, fields: Record<string, string>, image = true) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  if (image) f.append('image', new Blob([new Uint8Array(readFileSync(PHOTO))]), 'giraffe.jpg');
  const res = await fetch(`${srv.url}/api/classify`, { method: 'POST', body: f });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

let srv: RunningServer;

before(async () => {
  await setup();
  root = mkdtempSync(join(tmpdir(), 'classify-api-'));
  const { outDir } = await importCheckpoint({
    src: HUB_FIXTURE,
    out: join(root, 'model'),
    name: 'fixture',
  });
  srv = await serve(outDir, 'lib');
});

after(async () => {
  for (const { lib, srv } of open) {
    await srv.close();
    await lib.embedder.close();
    lib.close();
  }
  rmSync(root, { recursive: true, force: true });
});

test("the response has the reference's top classes and probabilities", async () => {
  const r = await classify(srv, { width: '1/2', top: '4' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const body = ClassifyResponse.parse(r.body);
  assert.equal(body.width, '1/2');
  assert.match(body.model_id, /^fixture@/);
  const input = await decodeInput(
    readFileSync(PHOTO),
    // Decoded the way the imported model asks (its config.json records the official crop).
    queryDecodeOptions({
      inputSize: FIXTURE_REF.imageSize,
      inputChannels: FIXTURE_REF.inChans,
      preprocess: readModelDir(join(root, 'model')).preprocess,
    }),
  );
  const want = refTopClasses(fixtureWeights(), input, 0.5, 4);
  assert.deepEqual(
    body.classes.map((c) => c.index),
    want.map((c) => c.index),
  );
  for (const [i, c] of body.classes.entries()) {
    assert.ok(Math.abs(c.probability - want[i]!.probability) <= 1e-4, `class ${i}`);
    assert.equal(c.label, null);
  }
  assert.ok(body.timings_ms.total >= 0 && body.timings_ms.queue >= 0);
  // The defaults: width 1, five classes.
  const d = ClassifyResponse.parse((await classify(srv, {})).body);
  assert.equal(d.width, '1');
  assert.equal(d.classes.length, 5);
});

test('bad requests are 400s that name their field', async () => {
  for (const [fields, image, field] of [
    [{}, false, 'image'],
    [{ top: '0' }, true, 'top'],
    [{ top: 'x' }, true, 'top'],
    [{ width: 'auto' }, true, 'width'],
    [{ width: '2/3x7' }, true, 'width'],
    [{ k: '3' }, true, 'k'],
  ] as const) {
    const r = await classify(srv, fields, image);
    const e = (r.body as { error: { field?: string; message: string } }).error;
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(e.field, field, e.message);
  }
});

test('a model without a head answers 409 E_NO_HEAD with what to do', async () => {
  const headless = await serve(saveTestModel(join(root, 'headless-model')), 'headless-lib');
  const r = await classify(headless, {});
  assert.equal(r.status, 409, JSON.stringify(r.body));
  const e = (r.body as { error: { code: string; message: string } }).error;
  assert.equal(e.code, 'E_NO_HEAD');
  assert.match(e.message, /no classification head.*classify needs a model with one/);
});
