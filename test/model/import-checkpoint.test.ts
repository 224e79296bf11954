/**
 * Importing checkpoints written by real PyTorch (test/fixtures/torch/make_fixtures.py, torch
 * 1.13). The oracles are Python's own: the raw float32 bytes numpy wrote for each tensor
 * (expected-*.raw, in the order of expected-index.json), and the float64 reference forward.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { importCheckpoint } from '../../src/model/import-checkpoint.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { loadModel } from '../../src/model/weights.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { OFFICIAL_EVAL_PREPROCESS } from '../../src/model/preprocess-spec.js';
import { refForward, sliceForWidths } from '../reference/matmamba-ref.js';
import { fixtureTensors } from '../classify/fixture.js';
import { imagesTensor, randomImages, relErr, setup } from '../helpers.js';

before(setup);

const FIX = fileURLToPath(new URL('../../../test/fixtures/torch/', import.meta.url));
const CONFIG = join(FIX, 'hub/config.json');
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MARKER = '/tmp/matsearch-hostile-pickle-ran'; // what hostile.bin's os.system would create
const tmp = () => mkdtempSync(join(tmpdir(), 'matsearch-import-'));

/** Python's tensors: name -> float32 values, from a raw file in expected-index.json's order. */
const expected = fixtureTensors;

async function importTo(src: string, config?: string) {
  const out = join(tmp(), 'model');
  const r = await importCheckpoint({ src: join(FIX, src), out, ...(config ? { config } : {}) });
  return { out, ...r };
}

function assertBitIdentical(dir: string, want: Map<string, Float32Array>) {
  const got = readSafetensors(join(dir, 'model.safetensors')).tensors;
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, w] of want) {
    const g = got.get(name)!;
    assert.equal(g.info.dtype, 'F32');
    assert.ok(
      Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(
        Buffer.from(w.buffer, w.byteOffset, w.byteLength),
      ),
      `${name} differs`,
    );
  }
}

for (const [src, oracle] of [
  ['hub', 'expected-f32.raw'],
  ['legacy.bin', 'expected-f32.raw'],
  ['module-prefix.bin', 'expected-f32.raw'],
  ['views.bin', 'expected-f32.raw'],
  ['bf16.bin', 'expected-bf16.raw'],
  ['f16.bin', 'expected-f16.raw'],
] as const) {
  test(`${src} imports to the tensors PyTorch holds, bit for bit`, async () => {
    const { out, modelId } = await importTo(src, src === 'hub' ? undefined : CONFIG);
    assertBitIdentical(out, expected(oracle));
    const info = readModelDir(out);
    assert.equal(info.modelId, modelId, 'the id is the streamed hash of what was written');
    assert.equal(info.config.headDim, 1, 'headdim is d_model // 32, as the official code forces');
  });
}

test('the imported model records the official evaluation preprocessing', async () => {
  const { out } = await importTo('hub');
  const json = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(json['preprocess'], { ...OFFICIAL_EVAL_PREPROCESS });
  assert.deepEqual(json['source'], {
    checkpoint: 'pytorch_model.bin',
    format: 'zip',
    sha256: readModelDir(out).weightsSha256,
  });
});

test("the imported model's features equal the float64 reference forward to 1e-4", async () => {
  const { out } = await importTo('hub');
  const { model } = loadModel(out);
  const cfg = model.config;
  const weights = expected('expected-f32.raw');
  const images = randomImages(cfg, 2, 5);
  const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
  for (const width of [1, 0.5]) {
    const layerDims = Array.from({ length: cfg.nLayer }, () => cfg.dModel * width);
    const w = width === 1 ? weights : sliceForWidths(cfg, weights, layerDims);
    const x = imagesTensor(cfg, images);
    const { features, logits } = model.forward(x, width);
    const got = features.arraySync();
    const gotLogits = logits!.arraySync();
    tf.dispose([x, features, logits!]);
    for (let b = 0; b < 2; b++) {
      const r = refForward(cfg, w, images.subarray(b * per, (b + 1) * per));
      assert.ok(relErr(got[b]!, r.features) < 1e-4, `features, width ${width}, image ${b}`);
      assert.ok(relErr(gotLogits[b]!, r.logits!) < 1e-4, `logits, width ${width}, image ${b}`);
    }
  }
  model.dispose();
});

for (const src of ['hostile.bin', 'hostile.pkl']) {
  test(`${src} (a pickle that calls os.system) is refused and nothing runs`, async () => {
    rmSync(MARKER, { force: true });
    const dir = tmp();
    await assert.rejects(
      importCheckpoint({ src: join(FIX, src), config: CONFIG, out: join(dir, 'm') }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'E_WEIGHTS_FORMAT');
        assert.match(err.message, /refusing the pickle global '(posix|os|nt)\.system'/);
        assert.match(err.message, /nothing was executed/);
        return true;
      },
    );
    assert.equal(existsSync(MARKER), false, 'os.system never ran');
    assert.equal(existsSync(join(dir, 'm', 'model.safetensors')), false);
  });
}

for (const src of ['truncated.bin', 'truncated-legacy.bin']) {
  test(`${src} is refused as truncated`, async () => {
    await assert.rejects(importTo(src, CONFIG), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_WEIGHTS_FORMAT');
      assert.match(err.message, /truncated/);
      assert.ok(err.message.includes(src), 'names the file');
      return true;
    });
  });
}

test('a shape mismatch lists every missing, misshapen and unexpected tensor at once', async () => {
  await assert.rejects(importTo('shape-mismatch.bin', CONFIG), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'E_SHAPE');
    assert.match(err.message, /missing 1: layers\.1\.mixer\.D \[64\]/);
    assert.match(err.message, /pos_embed: \[1,5,32\] where the config expects \[1,17,32\]/);
    assert.match(err.message, /unexpected 1: layers\.1\.mlp\.fc1\.weight/);
    return true;
  });
});

test('a bare checkpoint needs --config; a folder without a checkpoint says what it lacks', async () => {
  await assert.rejects(importTo('legacy.bin'), { code: 'E_VALIDATION', message: /--config/ });
  await assert.rejects(importCheckpoint({ src: tmp(), out: join(tmp(), 'm') }), {
    code: 'E_NOT_FOUND',
    message: /pytorch_model\.bin/,
  });
});

test('CLI: model import writes a model that model info reads; bad input exits 2', () => {
  const out = join(tmp(), 'official-tiny');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const ok = run('model', 'import', join(FIX, 'hub'), '--out', out);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /as official-tiny@[0-9a-f]{12}/);
  const info = run('model', 'info', '--model', out, '--json');
  assert.equal(info.status, 0, info.stderr);
  assert.equal((JSON.parse(info.stdout) as { config: { d_model: number } }).config.d_model, 32);
  // The official recipe trains the four nested widths jointly; model info says so, and how
  // images are prepared for the model.
  const text = run('model', 'info', '--model', out);
  assert.match(text.stdout, /trained widths: 1, 1\/2, 1\/4, 1\/8/);
  assert.match(
    text.stdout,
    /preprocess: centre crop 0\.875 of the short side, area resize to 32 px/,
  );
  const bare = run('model', 'import', join(FIX, 'legacy.bin'), '--out', join(tmp(), 'x'));
  assert.equal(bare.status, 2);
  assert.match(bare.stderr, /pass its config\.json with --config/);
  const hostile = run(
    'model',
    'import',
    join(FIX, 'hostile.bin'),
    '--config',
    CONFIG,
    '--name',
    'h',
  );
  assert.equal(hostile.status, 2);
  assert.match(hostile.stderr, /refusing the pickle global/);
  const noOut = run('model', 'import', join(FIX, 'hub'));
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out DIR or --name N/);
});
