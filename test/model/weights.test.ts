import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { loadModel, saveModel, WEIGHTS_FILE, CONFIG_FILE } from '../../src/model/weights.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { makeConfig } from '../../src/model/config.js';
import { setup, smallConfig, randomWeights } from '../helpers.js';

before(setup);

const cfg = smallConfig({ nLayer: 2 });
const tmp = () => mkdtempSync(join(tmpdir(), 'matsearch-w-'));

/** Writes a raw safetensors file from a header object and a body. */
function rawFile(path: string, header: unknown, body: Uint8Array) {
  const h = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([prefix, h, body]));
}

test('save then load round-trips every tensor bit-exactly and keeps a stable model id', () => {
  const dir = tmp();
  const weights = randomWeights(cfg, 31);
  const model = MatMambaVision.fromArrays(cfg, weights);
  const id = saveModel(model, dir, { name: 'unit', extra: { data: 'synthetic' } });
  const loaded = loadModel(dir);
  assert.equal(loaded.modelId, id);
  assert.match(id, /^unit@[0-9a-f]{12}$/);
  assert.equal(loaded.metadata['data'], 'synthetic');
  assert.deepEqual(loaded.model.config, cfg);
  for (const [name, a] of weights) {
    const b = loaded.model.params.get(name)!.dataSync() as Float32Array;
    assert.deepEqual(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      name,
    );
  }
  // Saving the loaded model again gives the same bytes, hence the same id.
  const dir2 = tmp();
  assert.equal(saveModel(loaded.model, dir2, { name: 'unit', extra: { data: 'synthetic' } }), id);
  model.dispose();
  loaded.model.dispose();
  rmSync(dir, { recursive: true });
  rmSync(dir2, { recursive: true });
});

test('an official snake_case config loads, and a headdim mismatch names the tensor', () => {
  const dir = tmp();
  // headDim left to the official rule (d_model / 32 = 2).
  const ocfg = makeConfig({
    dModel: 64,
    nLayer: 1,
    dState: 8,
    patchSize: 4,
    imageSize: 8,
    nClasses: 3,
  });
  const model = MatMambaVision.create(ocfg, 3);
  saveModel(model, dir, { name: 'official' });
  const official = {
    d_model: 64,
    n_layer: 1,
    d_intermediate: 0,
    n_classes: 3,
    patch_size: 4,
    image_size: 8,
    ssm_cfg: { d_state: 8, layer: 'MatMamba2' },
  };
  writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(official));
  const loaded = loadModel(dir);
  assert.deepEqual(loaded.model.config, ocfg);
  loaded.model.dispose();

  // A file written with another head size: the per-head rows of in_proj disagree.
  const other = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 32)); // headDim 4, d_model 32
  saveModel(other, dir, { name: 'official' });
  writeFileSync(
    join(dir, CONFIG_FILE),
    JSON.stringify({
      ...official,
      d_model: 32,
      n_layer: 2,
      n_classes: 5,
      image_size: 12,
      ssm_cfg: { d_state: 8 },
    }),
  );
  assert.throws(() => loadModel(dir), {
    code: 'E_SHAPE',
    message: /in_proj\.weight' has shape \[160,32\] but the config expects \[208,32\]/,
  });
  model.dispose();
  other.dispose();
  rmSync(dir, { recursive: true });
});

test('truncated, misshapen, incomplete and malformed files are refused with the tensor named', () => {
  const dir = tmp();
  const model = MatMambaVision.fromArrays(cfg, randomWeights(cfg, 33));
  saveModel(model, dir, { name: 'bad' });
  const wpath = join(dir, WEIGHTS_FILE);
  const good = readFileSync(wpath);

  truncateSync(wpath, statSync(wpath).size - 10);
  assert.throws(() => loadModel(dir), {
    code: 'E_WEIGHTS_FORMAT',
    message: /tensor '.+' ends at byte \d+ of the data but the file holds \d+ \(truncated file\)/,
  });

  truncateSync(wpath, 5);
  assert.throws(() => loadModel(dir), {
    code: 'E_WEIGHTS_FORMAT',
    message: /too short for a header/,
  });

  writeFileSync(
    wpath,
    Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.alloc(100)]),
  );
  assert.throws(() => loadModel(dir), {
    code: 'E_WEIGHTS_FORMAT',
    message: /header length 65535 does not fit/,
  });

  // Remove one tensor / add one / reshape one.
  writeFileSync(wpath, good);
  const tensors = readSafetensors(wpath).tensors;
  const asInput = new Map([...tensors].map(([k, t]) => [k, { shape: t.info.shape, data: t.data }]));
  const missing = new Map(asInput);
  missing.delete('layers.1.mixer.A_log');
  writeSafetensors(wpath, missing);
  assert.throws(() => loadModel(dir), {
    code: 'E_SHAPE',
    message: /missing tensor 'layers\.1\.mixer\.A_log' \(expected shape \[16\]\)/,
  });

  const extra = new Map(asInput);
  extra.set('layers.1.mixer.bogus', { shape: [2], data: new Float32Array(2) });
  writeSafetensors(wpath, extra);
  assert.throws(() => loadModel(dir), {
    code: 'E_SHAPE',
    message: /unexpected tensor\(s\) 'layers\.1\.mixer\.bogus'/,
  });

  const reshaped = new Map(asInput);
  const d = reshaped.get('layers.0.mixer.D')!;
  reshaped.set('layers.0.mixer.D', { shape: [4, 4], data: d.data });
  writeSafetensors(wpath, reshaped);
  assert.throws(() => loadModel(dir), {
    code: 'E_SHAPE',
    message: /tensor 'layers\.0\.mixer\.D' has shape \[4,4\] but the config expects \[16\]/,
  });

  rawFile(wpath, { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(12));
  assert.throws(() => readSafetensors(wpath), {
    message: /tensor 'a': shape \[3\] of F32 needs 12 bytes, offsets give 8/,
  });
  rawFile(wpath, { a: { dtype: 'I8', shape: [3], data_offsets: [0, 3] } }, new Uint8Array(3));
  assert.throws(() => readSafetensors(wpath), {
    message: /tensor 'a': dtype "I8" is not supported/,
  });
  rawFile(
    wpath,
    {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    },
    new Uint8Array(12),
  );
  assert.throws(() => readSafetensors(wpath), { message: /tensor 'b' overlaps/ });
  writeFileSync(wpath, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]));
  assert.throws(() => readSafetensors(wpath), {
    code: 'E_WEIGHTS_FORMAT',
    message: /header is not valid JSON/,
  });

  writeFileSync(wpath, good);
  writeFileSync(join(dir, CONFIG_FILE), '{"dModel": 32}');
  assert.throws(() => loadModel(dir), {
    code: 'E_VALIDATION',
    message: /config\.json: invalid model config: nLayer/,
  });
  rmSync(join(dir, CONFIG_FILE));
  assert.throws(() => loadModel(dir), { code: 'E_NOT_FOUND', message: /config\.json/ });
  model.dispose();
  rmSync(dir, { recursive: true });
});

test('F16, BF16 and F64 tensors are read as float32', () => {
  const dir = tmp();
  const p = join(dir, 'x.safetensors');
  const body = Buffer.alloc(2 + 2 + 8);
  body.writeUInt16LE(0x3c00, 0); // F16 1.0
  body.writeUInt16LE(0xc040, 2); // BF16 -3.0
  body.writeDoubleLE(0.5, 4);
  rawFile(
    p,
    {
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
    },
    body,
  );
  const t = readSafetensors(p).tensors;
  assert.equal(t.get('h')!.data[0], 1);
  assert.equal(t.get('b')!.data[0], -3);
  assert.equal(t.get('d')!.data[0], 0.5);
  rmSync(dir, { recursive: true });
});
